"""The predictor as an MLflow ``pyfunc`` model.

This file is the model code of the MLflow model ("models from code"): MLflow copies it into
the model folder and runs it when the model is loaded, so nothing is pickled. It needs the
``predictor`` package installed (``--env-manager local`` serves from the current environment).

Input: a DataFrame with a ``formula`` column (or a list of formulas, or ``{"formula": [...]}``),
at most :data:`MAX_RECORDS` formulas per request; a larger request is refused before any
prediction starts (split it). Parameter (MLflow ``params``): ``temperature_C`` (°C, default 25),
the temperature of the conductivity columns; a temperature that is not a number, not finite or
at or below -273.15 °C is refused with a message naming it; ``model_family`` ("default", or one
of :data:`predictor.model_layout.MODEL_FAMILIES`, e.g. "graph-network"), the model family of
both properties (default: the folder's default per property).
Output: the columns of :meth:`predictor.Predictor.predict`, one row per input formula, as valid
JSON: a number that was not predicted is ``null`` (never ``NaN``), a row that could not be
predicted says why in ``error``. A malformed request gets an error message without server
internals (the details go to the server log).

On loading, the model folder is verified before the predictor is used: the shipped folder
against its ``manifest.json`` (every file, ``serving.py`` included), a folder without one (a
model logged to the registry) by its ``serving.py`` being the installed package's. Code added to
``serving.py`` runs when MLflow imports it, before this check: verify a folder you did not
write with :func:`predictor.artifacts.check_pyfunc_folder` before loading it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, INVALID_PARAMETER_VALUE

from predictor.artifacts import check_pyfunc_folder
from predictor.errors import ModelLoadError
from predictor.model_layout import MODEL_FAMILIES
from predictor.predictor import Predictor, formula_inputs

log = logging.getLogger(__name__)

#: The ``model_family`` parameter value that keeps the folder's default family per property.
DEFAULT_FAMILY = "default"
#: Most formulas one request may hold (about 10 s of prediction); larger requests are refused.
MAX_RECORDS = 10_000
TEXT_COLUMNS = ("formula", "carrier", "reduced_formula", "anion_family", "conductivity_model",
                "window_reference", "window_model", "measured_refs", "domain_notes", "error", "temperature_note")


def formulas_from_input(model_input) -> list:
    """The list of formulas in whatever shape MLflow hands over.

    Raises
    ------
    TypeError, ValueError
        For an input without formulas (a table without a ``formula`` column, a dict without a
        ``formula`` key, bytes, a 2-D array).
    """
    if isinstance(model_input, dict):
        if "formula" not in model_input:
            raise ValueError(f"the input has no 'formula' key (keys: {', '.join(map(str, list(model_input)[:20]))})")
        model_input = model_input["formula"]
    return list(formula_inputs(model_input))


def table_for_serving(table: pd.DataFrame) -> pd.DataFrame:
    """Predictions with JSON-safe values: text never None, missing or non-finite numbers None (JSON null)."""
    table = table.copy()
    for column in table.columns:
        if column in TEXT_COLUMNS:
            table[column] = table[column].map(lambda v: "" if v is None else str(v))
        elif pd.api.types.is_float_dtype(table[column]):
            values = table[column].to_numpy(dtype=float)
            table[column] = pd.Series([float(v) if np.isfinite(v) else None for v in values], index=table.index,
                                      dtype=object)
    return table


class PredictorModel(mlflow.pyfunc.PythonModel):
    """Conductivity and electrochemical window with uncertainties, for MLflow."""

    def load_context(self, context):
        folder = (context.artifacts or {}).get("models")
        if folder is not None:
            check_pyfunc_folder(Path(folder).parents[1])
        self.folder = folder
        self.predictors = {DEFAULT_FAMILY: Predictor.load(folder)}

    def predictor_for(self, model_family) -> Predictor:
        """The predictor of a ``model_family`` parameter, loaded on first use.

        Raises
        ------
        ValueError
            For an unknown family; ModelLoadError when the folder has no models of it.
        """
        if model_family not in (DEFAULT_FAMILY, *MODEL_FAMILIES):
            raise ValueError(f"model_family={model_family!r} is not one of {', '.join((DEFAULT_FAMILY, *MODEL_FAMILIES))}")
        if model_family not in self.predictors:
            self.predictors[model_family] = Predictor.load(self.folder, model_family=model_family)
        return self.predictors[model_family]

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        try:
            formulas = formulas_from_input(model_input)
        except (TypeError, ValueError) as exc:
            raise MlflowException(f"malformed request: {exc}", error_code=INVALID_PARAMETER_VALUE) from None
        temperature_C = (params or {}).get("temperature_C", 25.0)
        try:
            predictor = self.predictor_for((params or {}).get("model_family", DEFAULT_FAMILY))
            temperature_C = predictor.check_temperature(temperature_C)
        except (TypeError, ValueError, ModelLoadError) as exc:
            raise MlflowException(f"bad parameter: {exc}", error_code=INVALID_PARAMETER_VALUE) from None
        if len(formulas) > MAX_RECORDS:
            raise MlflowException(f"{len(formulas)} records in one request, at most {MAX_RECORDS} are accepted: "
                                  "split the request", error_code=INVALID_PARAMETER_VALUE)
        try:
            table = predictor.predict(formulas, temperature_C=temperature_C)
        except Exception:  # noqa: BLE001 - logged in full here, reported without internals to the client
            log.exception("prediction failed")
            raise MlflowException("internal error while predicting (details in the server log)",
                                  error_code=INTERNAL_ERROR) from None
        return table_for_serving(table)


mlflow.models.set_model(PredictorModel())
