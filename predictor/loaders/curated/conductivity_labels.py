"""Room-temperature conductivity labels from the curated reports: which count, and how they merge.

:func:`room_temperature_labels` states the rule; :func:`room_temperature_conductivity` applies
it to the curated file. Room temperature is the package's one range,
:data:`predictor.loaders.ROOM_TEMPERATURE_RANGE_C` (20-30 °C, with its reason there).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter

import numpy as np
import pandas as pd

from predictor.composition import composition_groups, mobile_ion, parse_formula
from predictor.loaders import LABEL_TEMPERATURE_C, ROOM_TEMPERATURE_RANGE_C
from predictor.loaders.curated.schema import checked_conductivity_table
from predictor.loaders.curated.tables import cell_text, is_missing
from predictor.prediction.temperature import convert_log10_sigma

logger = logging.getLogger(__name__)


LABEL_MEASURED = "measured 20-30 C"
LABEL_ARRHENIUS = "Arrhenius estimate at 25 C"
LABEL_UNSTATED = "temperature not stated (assumed RT)"
LABEL_COMPUTED = "computed (AIMD/MLIP) 20-30 C"
#: Label rules in order of preference for one composition.
LABEL_PRIORITY = (LABEL_MEASURED, LABEL_ARRHENIUS, LABEL_UNSTATED)

ROOM_TEMPERATURE_COLUMNS = ["formula", "log10_sigma", "T_C", "carrier", "doi", "source", "label_rule",
                            "n_reports", "log10_sigma_spread"]

_ROOM_TEMPERATURE_WORDS = re.compile(r"\bRT\b|room[\s-]*temperature|roomtemperature", re.IGNORECASE)


def room_temperature_conductivity(include_computed: bool = False, include_non_halide: bool = False) -> pd.DataFrame:
    """One room-temperature conductivity label per composition, from the curated file.

    See :func:`room_temperature_labels` for the rule. The file is refused unless it passes the
    schema rules (:func:`predictor.loaders.curated.checked_conductivity_table`).

    Parameters
    ----------
    include_computed : bool, default=False
        Also label compositions that have only computed (AIMD/MLIP) values.
    include_non_halide : bool, default=False
        Also label the non-halide reference electrolytes kept in the file.

    Returns
    -------
    pandas.DataFrame
        Columns ``formula, log10_sigma, T_C, carrier, doi, source, label_rule, n_reports,
        log10_sigma_spread``; ``log10_sigma`` in log10(S/cm), ``T_C`` in degrees C.

    Raises
    ------
    predictor.errors.TableError
        When the file breaks the schema rules (every bad row named).
    """
    return room_temperature_labels(checked_conductivity_table(), include_computed, include_non_halide)


def room_temperature_labels(table: pd.DataFrame, include_computed: bool = False,
                            include_non_halide: bool = False) -> pd.DataFrame:
    """Aggregate conductivity reports into one room-temperature label per composition.

    Notes
    -----
    The rule, also given in ``datasets/README.md``:

    1. Reports used: single-value conductivities (``bound`` empty) of single phases
       (``composite`` false), experimental ones (computed ones only with ``include_computed``),
       halide families only unless ``include_non_halide``.
    2. Each report is classed by temperature: ``T_C`` in 20..30 C (room temperature,
       :data:`predictor.loaders.ROOM_TEMPERATURE_RANGE_C`), or ``T_C`` empty while the
       quote says "RT"/"room temperature" (read as 25 C), is *measured 20-30 C*; another ``T_C``
       with an activation energy on the same row gives an *Arrhenius estimate at 25 C* from
       sigma*T = A*exp(-Ea/(k*T)); an empty ``T_C`` without RT in the quote is *temperature not
       stated (assumed RT)*; another ``T_C`` without ``Ea_eV`` is not used.
    3. Reports are grouped by composition (:func:`predictor.composition.same_composition`: the
       same elements, atomic fractions equal within 1 % of their value, so Li3YCl6 and
       Li6Y2Cl12 are one composition). A composition takes the first class it has in the order
       measured, Arrhenius, not stated; computed values label only compositions without any
       experimental label.
    4. The label is the median of log10(sigma) over the reports of that class, with their count
       and spread (max - min of log10 sigma, 0 for one report).

    Parameters
    ----------
    table : pandas.DataFrame
        Conductivity table with the columns of :func:`read_conductivity_table` that passes
        :func:`predictor.loaders.curated.validate_conductivity` (conductivities within the
        physical range, so that their log10 exists).
    include_computed : bool, default=False
        Label compositions that have only computed values, as ``computed (AIMD/MLIP) 20-30 C``.
    include_non_halide : bool, default=False
        Keep rows whose ``anion_family`` is ``non-halide``.

    Returns
    -------
    pandas.DataFrame
        Columns ``formula`` (the most frequent reported formula), ``log10_sigma`` (log10 S/cm),
        ``T_C`` (degrees C of the label: median of the measurement temperatures, 25 for
        Arrhenius and assumed-RT labels), ``carrier``, ``doi`` (semicolon-joined),
        ``source`` ("curated"), ``label_rule``, ``n_reports`` (int), ``log10_sigma_spread``
        (float), sorted by formula.
    """
    reports = classify_reports(label_candidates(table, include_computed, include_non_halide))
    if reports.empty:
        return pd.DataFrame({c: pd.Series(dtype=_label_dtype(c)) for c in ROOM_TEMPERATURE_COLUMNS})
    reports["group"] = composition_groups(parse_formula(f) for f in reports["formula"])
    labels = []
    for _, group in reports.groupby("group", sort=False):
        chosen = _preferred_reports(group)
        if chosen is not None:
            labels.append(_aggregate_reports(chosen))
    result = pd.DataFrame(labels, columns=ROOM_TEMPERATURE_COLUMNS).sort_values("formula", kind="stable")
    result = result.reset_index(drop=True).astype({"n_reports": int, "log10_sigma": float, "T_C": float,
                                                   "log10_sigma_spread": float})
    logger.info("room-temperature labels: %d compositions (%s)", len(result),
                ", ".join(f"{k}: {v}" for k, v in result["label_rule"].value_counts().items()))
    return result


def _label_dtype(column: str) -> str:
    return {"log10_sigma": "float", "T_C": "float", "n_reports": "int", "log10_sigma_spread": "float"}.get(
        column, "object")


def label_candidates(table: pd.DataFrame, include_computed: bool, include_non_halide: bool) -> pd.DataFrame:
    """The reports that may become labels (rule 1 of :func:`room_temperature_labels`)."""
    kinds = ("experimental", "computed") if include_computed else ("experimental",)
    keep = (table["sigma_S_cm"].notna() & (table["bound"].fillna("") == "") & ~table["composite"].astype(bool)
            & table["value_kind"].isin(kinds))
    if not include_non_halide:
        keep &= table["anion_family"] != "non-halide"
    return table[keep].copy()


def classify_reports(reports: pd.DataFrame) -> pd.DataFrame:
    """Add ``rule``, ``log10_sigma_25`` (log10 S/cm) and ``T_label_C`` to each report; drop unusable ones."""
    rules, values, temperatures = [], [], []
    for _, row in reports.iterrows():
        log10_sigma = math.log10(row["sigma_S_cm"])
        t_c = row["T_C"]
        if is_missing(t_c) and _ROOM_TEMPERATURE_WORDS.search(cell_text(row["quote"])):
            t_c = LABEL_TEMPERATURE_C
        if row["value_kind"] == "computed":
            in_range = not is_missing(t_c) and ROOM_TEMPERATURE_RANGE_C[0] <= t_c <= ROOM_TEMPERATURE_RANGE_C[1]
            rule, value, t_label = (LABEL_COMPUTED, log10_sigma, t_c) if in_range else (None, None, None)
        elif is_missing(t_c):
            rule, value, t_label = LABEL_UNSTATED, log10_sigma, LABEL_TEMPERATURE_C
        elif ROOM_TEMPERATURE_RANGE_C[0] <= t_c <= ROOM_TEMPERATURE_RANGE_C[1]:
            rule, value, t_label = LABEL_MEASURED, log10_sigma, t_c
        elif not is_missing(row["Ea_eV"]):
            value = float(convert_log10_sigma(log10_sigma, row["Ea_eV"], LABEL_TEMPERATURE_C, reference_C=t_c))
            rule, t_label = LABEL_ARRHENIUS, LABEL_TEMPERATURE_C
        else:
            rule, value, t_label = None, None, None
        rules.append(rule)
        values.append(value)
        temperatures.append(t_label)
    reports = reports.assign(rule=rules, log10_sigma_25=values, T_label_C=temperatures)
    return reports[reports["rule"].notna()]


def _preferred_reports(group: pd.DataFrame) -> pd.DataFrame | None:
    for rule in (*LABEL_PRIORITY, LABEL_COMPUTED):
        chosen = group[group["rule"] == rule]
        if not chosen.empty:
            return chosen
    return None


def _aggregate_reports(reports: pd.DataFrame) -> dict:
    values = reports["log10_sigma_25"].astype(float)
    dois = []
    for text in reports["doi"].fillna(""):
        for doi in filter(None, (part.strip() for part in str(text).split(";"))):
            if doi not in dois:
                dois.append(doi)
    formula = Counter(reports["formula"]).most_common(1)[0][0]
    return {
        "formula": formula,
        "log10_sigma": float(np.median(values)),
        "T_C": float(np.median(reports["T_label_C"].astype(float))),
        "carrier": mobile_ion(parse_formula(formula)),
        "doi": "; ".join(dois),
        "source": "curated",
        "label_rule": reports["rule"].iloc[0],
        "n_reports": len(reports),
        "log10_sigma_spread": float(values.max() - values.min()),
    }
