"""The user-facing predictor: formulas in, a table of predictions with uncertainty out."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.composition import describe, parse_formula
from predictor.errors import CompositionError, ModelLoadError
from predictor.estimators import ConductivityRegressor, WindowRegressor
from predictor.featurizers import CompositionFeaturizer
from predictor.paths import models_dir
from predictor.training import CONDUCTIVITY_DIR, WINDOWS_DIR

log = logging.getLogger(__name__)

COLUMNS = [
    "formula", "reduced_formula", "carrier", "anion_family",
    "log10_sigma", "log10_sigma_std", "log10_sigma_lo90", "log10_sigma_hi90", "sigma_S_cm",
    "reduction_limit_V", "reduction_limit_V_std", "oxidation_limit_V", "oxidation_limit_V_std", "window_reference",
    "in_domain", "domain_notes", "error",
]
WINDOW_REFERENCES = {"Li": "Li+/Li", "Na": "Na+/Na"}


class Predictor:
    """Predicts room-temperature ionic conductivity and the electrochemical window from formulas.

    Every number comes with a calibrated uncertainty.

    Parameters
    ----------
    conductivity_model : ConductivityRegressor
        A fitted conductivity model.
    window_model : WindowRegressor
        A fitted window model using the same descriptors.

    Examples
    --------
    >>> from predictor import Predictor
    >>> table = Predictor.load().predict(["Li3YCl6", "Na3YCl6", "Li2ZrCl6"])
    """

    def __init__(self, conductivity_model: ConductivityRegressor, window_model: WindowRegressor):
        if tuple(conductivity_model.feature_sets) != window_model.feature_sets:
            raise ModelLoadError("the conductivity and window models were trained on different descriptor sets")
        self.conductivity_model = conductivity_model
        self.window_model = window_model

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Predictor":
        """Load the shipped models (``models/``, or ``$PREDICTOR_MODELS_DIR``, or ``path``).

        Raises
        ------
        ModelLoadError
            When the files are missing, corrupted, or were written by an incompatible version.
        """
        folder = Path(path) if path is not None else models_dir()
        if not folder.is_dir():
            raise ModelLoadError(f"model folder {folder} does not exist; run `predictor train` or pass the path")
        return cls(ConductivityRegressor.load(folder / CONDUCTIVITY_DIR), WindowRegressor.load(folder / WINDOWS_DIR))

    def predict(self, formulas: Iterable[str] | str) -> pd.DataFrame:
        """Predict every formula; one row per input, in input order.

        Parameters
        ----------
        formulas : iterable of str (or a single str)

        Returns
        -------
        pandas.DataFrame
            Columns: ``formula`` (as given), ``reduced_formula``, ``carrier`` ("Li", "Na" or
            None), ``anion_family``, ``log10_sigma`` (log10 S/cm), ``log10_sigma_std``,
            ``log10_sigma_lo90`` and ``log10_sigma_hi90`` (calibrated 90 % interval),
            ``sigma_S_cm`` (S/cm), ``reduction_limit_V`` and ``oxidation_limit_V`` (V vs
            ``window_reference``, "Li+/Li" or "Na+/Na") with their calibrated ``_std``,
            ``in_domain`` (bool), ``domain_notes`` (why a row is out of domain), ``error``
            (empty, or why the row could not be predicted; its numbers are then NaN). A bad
            formula never spoils the other rows.
        """
        if isinstance(formulas, str):
            formulas = [formulas]
        formulas = list(formulas)
        rows, compositions, good = [], [], []
        for i, formula in enumerate(formulas):
            row = dict.fromkeys(COLUMNS, np.nan)
            row.update(formula=formula, carrier=None, reduced_formula="", anion_family="", window_reference="",
                       in_domain=False, domain_notes="", error="")
            try:
                composition = parse_formula(formula)
            except CompositionError as exc:
                row["error"] = str(exc)
            else:
                info = describe(composition)
                row.update(reduced_formula=info.reduced_formula, carrier=info.carrier, anion_family=info.anion_family,
                           window_reference=WINDOW_REFERENCES.get(info.carrier, ""))
                row["domain_notes"] = "; ".join(info.chemical_domain_notes)
                compositions.append(composition)
                good.append(i)
            rows.append(row)

        if compositions:
            model = self.conductivity_model
            features = CompositionFeaturizer(tuple(model.feature_sets)).transform(compositions)
            result = model.predict_from_features(features)
            windows = self.window_model.predict_from_features(features)
            notes = model.domain_.notes(features, [{e.symbol for e in c.elements} for c in compositions])
            for k, i in enumerate(good):
                row = rows[i]
                row.update(
                    log10_sigma=result["mean"][k], log10_sigma_std=result["std"][k],
                    log10_sigma_lo90=result["lo"][k], log10_sigma_hi90=result["hi"][k],
                    sigma_S_cm=10.0 ** result["mean"][k],
                )
                if row["window_reference"]:
                    for limit, prediction in windows.items():
                        row[limit], row[f"{limit}_std"] = prediction["mean"][k], prediction["std"][k]
                all_notes = [n for n in (row["domain_notes"], *notes[k]) if n]
                row["domain_notes"] = "; ".join(all_notes)
                row["in_domain"] = not all_notes

        table = pd.DataFrame(rows, columns=COLUMNS)
        table["in_domain"] = table["in_domain"].astype(bool)
        return table
