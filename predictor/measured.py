"""Measured conductivities beside predictions: the labels the shipped model was trained on.

A user asking about Li3InCl6 should see the literature value at once, not only the model's
estimate. :class:`MeasuredValues` keeps, per training composition, the room-temperature label
(log10 S/cm), how many reports were merged into it and their DOIs (or references), and looks
compositions up by their atomic fractions (equal within ``tolerance``, 1e-3 by default, so
Li3YCl6 and Li6Y2Cl12 are the same composition).

Saved as ``measured.csv`` with a manifest in its own model folder (``models/measured/``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.core import Composition

from predictor.artifacts import read_manifest, write_manifest
from predictor.composition import parse_formula
from predictor.errors import ModelLoadError

ARTIFACT_KIND = "measured-values"
FILE = "measured.csv"
#: Largest difference of any atomic fraction between two formulas of the same composition.
TOLERANCE = 1e-3
COLUMNS = ["formula", "measured_log10_sigma", "measured_n", "measured_refs"]


class MeasuredValues:
    """Look-up table of measured room-temperature conductivities by composition.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``formula``, ``measured_log10_sigma`` (log10 S/cm), ``measured_n`` (reports
        merged into the label) and ``measured_refs`` (DOIs or references, "; "-joined).
    tolerance : float, default=1e-3
        Largest atomic-fraction difference between matching compositions.
    """

    def __init__(self, table: pd.DataFrame, tolerance: float = TOLERANCE):
        self.table = table[COLUMNS].reset_index(drop=True)
        self.tolerance = tolerance
        self._by_elements: dict[tuple[str, ...], list[tuple[np.ndarray, int]]] = {}
        for row, formula in enumerate(self.table["formula"]):
            elements, fractions = _fractions(parse_formula(formula))
            self._by_elements.setdefault(elements, []).append((fractions, row))

    @classmethod
    def from_training_table(cls, table: pd.DataFrame, labels: np.ndarray) -> "MeasuredValues":
        """From the training table of :func:`predictor.loaders.combined.load_conductivity_data`.

        ``labels``: the training targets (log10 S/cm, censored entries at their convention).
        Censored entries say so in their references.
        """
        def column(name, default):
            return table[name] if name in table else pd.Series(default, index=table.index)

        refs = []
        for doi, source, censored in zip(column("doi", "").fillna(""), column("source", "unknown"),
                                         column("censored", False)):
            text = str(doi).strip() or f"{source} dataset, no DOI"
            refs.append(text + ("; below detection, label by convention" if censored else ""))
        n = table["n_reports"] if "n_reports" in table else pd.Series(1, index=table.index)
        return cls(pd.DataFrame({"formula": table["formula"].astype(str).to_numpy(),
                                 "measured_log10_sigma": np.asarray(labels, float),
                                 "measured_n": n.fillna(1).astype(int).to_numpy(), "measured_refs": refs}))

    def lookup(self, compositions: Sequence[Composition]) -> pd.DataFrame:
        """One row per composition: its measured label, or NaN, 0 and "" when not measured."""
        values = np.full(len(compositions), np.nan)
        counts = np.zeros(len(compositions), dtype=int)
        refs = [""] * len(compositions)
        for k, composition in enumerate(compositions):
            elements, fractions = _fractions(composition)
            for candidate, row in self._by_elements.get(elements, ()):
                if np.max(np.abs(candidate - fractions)) <= self.tolerance:
                    values[k] = self.table.at[row, "measured_log10_sigma"]
                    counts[k] = self.table.at[row, "measured_n"]
                    refs[k] = self.table.at[row, "measured_refs"]
                    break
        return pd.DataFrame({"measured_log10_sigma": values, "measured_n": counts, "measured_refs": refs})

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.table.to_csv(folder / FILE, index=False, float_format="%.6g")
        write_manifest(folder, ARTIFACT_KIND, [FILE], tolerance=self.tolerance)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "MeasuredValues":
        """Load a table written by :meth:`save`, verifying its manifest."""
        folder = Path(folder)
        manifest = read_manifest(folder, ARTIFACT_KIND)
        try:
            table = pd.read_csv(folder / FILE, dtype={"formula": str, "measured_refs": str}, keep_default_na=False)
            table["measured_log10_sigma"] = table["measured_log10_sigma"].astype(float)
            table["measured_n"] = table["measured_n"].astype(int)
            return cls(table, float(manifest.get("tolerance", TOLERANCE)))
        except (KeyError, ValueError, pd.errors.ParserError) as exc:
            raise ModelLoadError(f"{folder / FILE} is not a table of measured values: {exc}") from None


def _fractions(composition: Composition) -> tuple[tuple[str, ...], np.ndarray]:
    amounts = composition.get_el_amt_dict()
    elements = tuple(sorted(amounts))
    total = sum(amounts.values())
    return elements, np.array([amounts[e] / total for e in elements])
