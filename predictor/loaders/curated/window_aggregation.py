"""Window labels from the curated reports: one window per composition, value kind and method family."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from predictor.composition import composition_groups, parse_formula
from predictor.loaders.curated.schema import WINDOW_METHOD_FAMILIES, checked_window_table

WINDOW_LABEL_COLUMNS = ["formula", "carrier", "reduction_limit_V", "oxidation_limit_V", "reference",
                        "value_kind", "method", "doi"]


def room_temperature_windows(table: pd.DataFrame | None = None, include_non_halide: bool = True) -> pd.DataFrame:
    """One electrochemical window per composition, value kind and method family.

    Rows used: those with at least one converted limit (vs Li+/Li or Na+/Na) and no ``bound``.
    Rows are grouped by composition (:func:`predictor.composition.same_composition`), ``value_kind`` and method
    family (CV and LSV together as "CV/LSV"; each DFT scheme apart), so computed and measured
    windows never mix. Each limit is the median over the group's rows that give it.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        Window table with the columns of :func:`read_window_table`; default the curated file,
        refused unless it passes the schema rules (:func:`checked_window_table`).
    include_non_halide : bool, default=True
        Keep the reference electrolytes (oxides, sulfides, ...) reported beside the halides.

    Returns
    -------
    pandas.DataFrame
        Columns ``formula, carrier, reduction_limit_V, oxidation_limit_V`` (V), ``reference``
        ('Li+/Li' or 'Na+/Na'), ``value_kind``, ``method`` (the method family), ``doi``
        (semicolon-joined), sorted by formula, value kind and method.
    """
    table = checked_window_table() if table is None else table
    usable = table[(table["reference"] != "") & (table["bound"].fillna("") == "")
                   & (table["reduction_limit_V"].notna() | table["oxidation_limit_V"].notna())].copy()
    if not include_non_halide:
        usable = usable[usable["anion_family"] != "non-halide"]
    if usable.empty:
        return pd.DataFrame(columns=WINDOW_LABEL_COLUMNS)
    usable["group"] = composition_groups(parse_formula(f) for f in usable["formula"])
    usable["method_family"] = usable["method"].map(WINDOW_METHOD_FAMILIES)
    rows = []
    for _, group in usable.groupby(["group", "value_kind", "method_family"], sort=False):
        dois = []
        for text in group["doi"].fillna(""):
            dois += [d.strip() for d in str(text).split(";") if d.strip() and d.strip() not in dois]
        rows.append({
            "formula": Counter(group["formula"]).most_common(1)[0][0],
            "carrier": group["carrier"].iloc[0],
            "reduction_limit_V": _median_or_nan(group["reduction_limit_V"]),
            "oxidation_limit_V": _median_or_nan(group["oxidation_limit_V"]),
            "reference": group["reference"].iloc[0],
            "value_kind": group["value_kind"].iloc[0],
            "method": group["method_family"].iloc[0],
            "doi": "; ".join(dois),
        })
    result = pd.DataFrame(rows, columns=WINDOW_LABEL_COLUMNS)
    return result.sort_values(["formula", "value_kind", "method"], kind="stable").reset_index(drop=True)


def _median_or_nan(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.median()) if len(values) else float("nan")
