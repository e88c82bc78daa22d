"""The predictor as an MLflow ``pyfunc`` model.

This file is the model code of the MLflow model ("models from code"): MLflow copies it into
the model folder and runs it when the model is loaded, so nothing is pickled. It needs the
``predictor`` package installed (``--env-manager local`` serves from the current environment).

Input: a DataFrame with a ``formula`` column (or a list of formulas, or ``{"formula": [...]}``).
Output: the columns of :meth:`predictor.Predictor.predict`, one row per input formula.
"""

from __future__ import annotations

import mlflow
import pandas as pd

from predictor.predictor import Predictor


def formulas_from_input(model_input) -> list:
    """The list of formulas in whatever shape MLflow hands over."""
    if isinstance(model_input, pd.DataFrame):
        column = "formula" if "formula" in model_input.columns else model_input.columns[0]
        return model_input[column].tolist()
    if isinstance(model_input, dict):
        return list(model_input.get("formula", []))
    return list(model_input)


def table_for_serving(table: pd.DataFrame) -> pd.DataFrame:
    """Predictions with JSON-friendly types: text columns never None."""
    table = table.copy()
    text_columns = ("formula", "carrier", "reduced_formula", "anion_family", "conductivity_model",
                    "window_reference", "window_model", "domain_notes", "error")
    for column in text_columns:
        table[column] = table[column].map(lambda v: "" if v is None else str(v))
    return table


class PredictorModel(mlflow.pyfunc.PythonModel):
    """Conductivity and electrochemical window with uncertainties, for MLflow."""

    def load_context(self, context):
        folder = (context.artifacts or {}).get("models")
        self.predictor = Predictor.load(folder)

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        return table_for_serving(self.predictor.predict(formulas_from_input(model_input)))


mlflow.models.set_model(PredictorModel())
