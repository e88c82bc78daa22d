"""Measured conductivities beside predictions: the labels the shipped model was trained on.

A user asking about Li3InCl6 should see the literature value at once, not only the model's
estimate. :class:`MeasuredValues` keeps, per training composition, the room-temperature label
(log10 S/cm), how many reports were merged into it and their DOIs (or references), and looks
compositions up by the package's rule of composition identity
(:func:`predictor.composition.same_composition`: same elements, atomic fractions within 1 % of
their value, so Li3YCl6 and Li6Y2Cl12 are the same composition).

Saved as ``measured.csv`` with a manifest in its own model folder (``models/measured/``), with
``residual_kernel.json``: how the conductivity model's errors at two compositions go together
(:class:`predictor.prediction.anchoring.ResidualKernel`), which lets a lab's own measurements correct the
predictions of their neighbours (:meth:`predictor.Predictor.with_measurements`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.core import Composition

from predictor.artifacts import finite_array, read_json, read_manifest, write_manifest
from predictor.composition import atomic_fractions, fractions_match, parse_formula
from predictor.errors import CompositionError, ModelLoadError
from predictor.model_layout import MEASURED_TARGET, part_holds

ARTIFACT_KIND = "measured-values"
FILE = "measured.csv"
KERNEL_FILE = "residual_kernel.json"
COLUMNS = ["formula", "measured_log10_sigma", "measured_n", "measured_refs"]
#: Element symbols as written in a formula: enough to find the rows worth parsing.
_SYMBOL = re.compile(r"[A-Z][a-z]?")


class MeasuredValues:
    """Look-up table of measured room-temperature conductivities by composition.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``formula``, ``measured_log10_sigma`` (log10 S/cm), ``measured_n`` (reports
        merged into the label) and ``measured_refs`` (DOIs or references, "; "-joined).
    kernel : predictor.prediction.anchoring.ResidualKernel, optional
        The correlation of the conductivity model's held-out errors (None for older folders).

    Notes
    -----
    A formula of the table is parsed only when a looked-up composition has its elements, so
    that loading a predictor does not parse a thousand formulas it may never need.
    """

    def __init__(self, table: pd.DataFrame, kernel=None):
        self.table = table[COLUMNS].reset_index(drop=True)
        self.kernel = kernel
        self._rows_by_symbols: dict[frozenset[str], list[int]] = {}
        for row, formula in enumerate(self.table["formula"]):
            self._rows_by_symbols.setdefault(frozenset(_SYMBOL.findall(formula)), []).append(row)
        self._parsed: dict[int, tuple[tuple[str, ...], np.ndarray]] = {}

    def _row_fractions(self, row: int) -> tuple[tuple[str, ...], np.ndarray]:
        if row not in self._parsed:
            try:
                self._parsed[row] = atomic_fractions(parse_formula(self.table.at[row, "formula"]))
            except CompositionError:  # a hand-edited table: that row matches nothing
                self._parsed[row] = ((), np.empty(0))
        return self._parsed[row]

    @classmethod
    def from_training_table(cls, table: pd.DataFrame, labels: np.ndarray, kernel=None) -> "MeasuredValues":
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
                                 "measured_n": n.fillna(1).astype(int).to_numpy(), "measured_refs": refs}), kernel)

    def lookup(self, compositions: Sequence[Composition]) -> pd.DataFrame:
        """One row per composition: its measured label, or NaN, 0 and "" when not measured."""
        values = np.full(len(compositions), np.nan)
        counts = np.zeros(len(compositions), dtype=int)
        refs = [""] * len(compositions)
        for k, composition in enumerate(compositions):
            elements, fractions = atomic_fractions(composition)
            for row in self._rows_by_symbols.get(frozenset(elements), ()):
                candidate_elements, candidate = self._row_fractions(row)
                if candidate_elements == elements and fractions_match(candidate, fractions):
                    values[k] = self.table.at[row, "measured_log10_sigma"]
                    counts[k] = self.table.at[row, "measured_n"]
                    refs[k] = self.table.at[row, "measured_refs"]
                    break
        return pd.DataFrame({"measured_log10_sigma": values, "measured_n": counts, "measured_refs": refs})

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.table.to_csv(folder / FILE, index=False, float_format="%.6g")
        files = [FILE]
        if self.kernel is not None:
            (folder / KERNEL_FILE).write_text(json.dumps(self.kernel.to_dict()) + "\n")
            files.append(KERNEL_FILE)
        write_manifest(folder, ARTIFACT_KIND, files, holds=part_holds(MEASURED_TARGET))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "MeasuredValues":
        """Load a table written by :meth:`save`, verifying its manifest.

        The ``tolerance`` that earlier manifests carry (an absolute 1e-3 on atomic fractions)
        is not used: compositions are matched by the package's one rule.

        Raises
        ------
        ModelLoadError
            When the manifest refuses the folder (or names another property or target), or the
            table or the kernel is malformed, with numbers that are not finite.
        """
        from predictor.prediction.anchoring import ResidualKernel

        folder = Path(folder)
        manifest = read_manifest(folder, ARTIFACT_KIND, expected=part_holds(MEASURED_TARGET))
        try:
            table = pd.read_csv(folder / FILE, dtype={"formula": str, "measured_refs": str}, keep_default_na=False)
            table["measured_log10_sigma"] = table["measured_log10_sigma"].astype(float)
            table["measured_n"] = table["measured_n"].astype(int)
        except (KeyError, ValueError, pd.errors.ParserError) as exc:
            raise ModelLoadError(f"{folder / FILE} is not a table of measured values: {exc}") from None
        finite_array(table["measured_log10_sigma"], folder / FILE, "measured_log10_sigma")
        kernel = None
        if KERNEL_FILE in manifest["files"]:
            values = read_json(folder / KERNEL_FILE, what="a residual kernel")
            try:
                kernel = ResidualKernel.from_dict(values)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise ModelLoadError(f"{folder / KERNEL_FILE} is not a residual kernel: {exc}") from None
            length, correlation = finite_array([kernel.length, kernel.correlation], folder / KERNEL_FILE,
                                               "length and correlation", (2,))
            if not (length > 0 and 0 <= correlation < 1):
                raise ModelLoadError(f"{folder / KERNEL_FILE}: length {length} must be positive and correlation "
                                     f"{correlation} within [0, 1)")
        return cls(table, kernel)

