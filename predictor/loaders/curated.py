"""The project's curated literature datasets: halide conductivities and electrochemical windows.

Two CSV files live in ``datasets/`` (see ``datasets/README.md`` for the datasheet):

``halide_conductivity.csv``
    One row per reported ionic-conductivity measurement (or activation energy), with the
    verbatim quote, the DOI or full reference, and every cleaning decision in ``notes``.
``electrochemical_windows.csv``
    One row per reported reduction/oxidation limit, converted to V vs Li+/Li or Na+/Na when the
    source states the reference electrode (or the value is computed against the metal).

This module reads them with fixed dtypes, checks them against the schema rules
(:func:`validate_conductivity`, :func:`validate_windows`) and derives the training labels:
one room-temperature conductivity per composition (:func:`room_temperature_conductivity`) and
one window per composition and method (:func:`room_temperature_windows`).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.core import Composition

from predictor.composition import anion_family, mobile_ion, parse_formula
from predictor.errors import CompositionError
from predictor.paths import datasets_dir

logger = logging.getLogger(__name__)

CONDUCTIVITY_FILE = "halide_conductivity.csv"
WINDOWS_FILE = "electrochemical_windows.csv"

#: Column name -> dtype kind ("str", "float" or "bool") of the conductivity table.
CONDUCTIVITY_COLUMNS = {
    "id": "str", "formula": "str", "reduced_formula": "str", "carrier": "str", "anion_family": "str",
    "structure": "str", "structure_type": "str", "sigma_S_cm": "float", "T_C": "float", "Ea_eV": "float",
    "synthesis": "str", "value_kind": "str", "bound": "str", "composite": "bool", "doi": "str",
    "reference": "str", "source": "str", "notes": "str", "quote": "str",
}
#: Column name -> dtype kind of the electrochemical-window table.
WINDOW_COLUMNS = {
    "id": "str", "formula": "str", "reduced_formula": "str", "carrier": "str", "anion_family": "str",
    "reduction_limit_V": "float", "oxidation_limit_V": "float", "reference": "str", "bound": "str",
    "method": "str", "value_kind": "str", "reported_reduction_V": "float", "reported_oxidation_V": "float",
    "reported_reference": "str", "doi": "str", "citation": "str", "source": "str", "notes": "str",
    "quote": "str",
}

CARRIERS = ("Li", "Na")
ANION_FAMILIES = ("chloride", "bromide", "iodide", "fluoride", "mixed-halide", "oxyhalide",
                  "nitride-halide", "sulfide-halide", "non-halide")
STRUCTURE_TYPES = ("monoclinic", "trigonal (hcp)", "orthorhombic (Pnma)", "spinel", "UCl3-type", "Suzuki phase",
                   "olivine", "antiperovskite", "argyrodite", "LGPS-type", "garnet", "NASICON",
                   "cubic (rock salt/antifluorite)", "amorphous/glass", "glass-ceramic", "poorly crystalline",
                   "multiphase/composite", "other", "not stated")
CONDUCTIVITY_VALUE_KINDS = ("experimental", "computed")
#: Windows whose source does not say whether they were computed or measured are "unspecified".
WINDOW_VALUE_KINDS = ("experimental", "computed", "unspecified")
BOUNDS = ("", "lower", "upper", "range")
ELECTRODE_REFERENCES = {"Li": "Li+/Li", "Na": "Na+/Na"}
#: Window method -> method family used to group windows.
WINDOW_METHOD_FAMILIES = {
    "DFT grand potential": "DFT grand potential",
    "DFT intrinsic (topotactic)": "DFT intrinsic (topotactic)",
    "DFT kinetic limit": "DFT kinetic limit",
    "DFT (scheme not stated)": "DFT (scheme not stated)",
    "CV": "CV/LSV",
    "LSV": "CV/LSV",
    "linear polarization": "linear polarization",
    "experimental (method not stated)": "experimental (method not stated)",
    "not stated": "not stated",
}

SIGMA_RANGE_S_CM = (1e-14, 1.0)
T_RANGE_C = (-100.0, 600.0)
EA_RANGE_EV = (0.05, 2.0)
WINDOW_RANGE_V = (0.0, 7.0)
ROOM_TEMPERATURE_RANGE_C = (20.0, 30.0)
LABEL_TEMPERATURE_C = 25.0
BOLTZMANN_EV_PER_K = 8.617333262e-5
ZERO_CELSIUS_K = 273.15
#: Two formulas are the same composition when every atomic fraction agrees within this.
COMPOSITION_FRACTION_TOLERANCE = 1e-3
#: A row whose notes contain this phrase may carry an anion family other than the rule's.
ANION_FAMILY_OVERRIDE = "anion_family override"

LABEL_MEASURED = "measured 20-30 C"
LABEL_ARRHENIUS = "Arrhenius estimate at 25 C"
LABEL_UNSTATED = "temperature not stated (assumed RT)"
LABEL_COMPUTED = "computed (AIMD/MLIP) 20-30 C"
#: Label rules in order of preference for one composition.
LABEL_PRIORITY = (LABEL_MEASURED, LABEL_ARRHENIUS, LABEL_UNSTATED)

ROOM_TEMPERATURE_COLUMNS = ["formula", "log10_sigma", "T_C", "carrier", "doi", "source", "label_rule",
                            "n_reports", "log10_sigma_spread"]
WINDOW_LABEL_COLUMNS = ["formula", "carrier", "reduction_limit_V", "oxidation_limit_V", "reference",
                        "value_kind", "method", "doi"]

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_ROOM_TEMPERATURE_WORDS = re.compile(r"\bRT\b|room[\s-]*temperature|roomtemperature", re.IGNORECASE)


# ----------------------------------------------------------------------------------------------
# Reading


def read_conductivity_table(path: str | Path | None = None) -> pd.DataFrame:
    """Read ``halide_conductivity.csv`` with fixed dtypes.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The CSV file; default ``datasets/halide_conductivity.csv`` of the repository.

    Returns
    -------
    pandas.DataFrame
        One row per reported measurement. Text columns are ``str`` (empty string when missing),
        ``sigma_S_cm`` (S/cm), ``T_C`` (degrees C) and ``Ea_eV`` (eV) are float (NaN when
        missing), ``composite`` is bool.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When a column is missing or a cell cannot be read as its dtype.
    """
    return _read_table(Path(path) if path else datasets_dir() / CONDUCTIVITY_FILE, CONDUCTIVITY_COLUMNS)


def read_window_table(path: str | Path | None = None) -> pd.DataFrame:
    """Read ``electrochemical_windows.csv`` with fixed dtypes.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The CSV file; default ``datasets/electrochemical_windows.csv`` of the repository.

    Returns
    -------
    pandas.DataFrame
        One row per reported window. Limits (``reduction_limit_V``, ``oxidation_limit_V``,
        ``reported_reduction_V``, ``reported_oxidation_V``, all in V) are float, NaN when missing;
        text columns are ``str``.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When a column is missing or a cell cannot be read as its dtype.
    """
    return _read_table(Path(path) if path else datasets_dir() / WINDOWS_FILE, WINDOW_COLUMNS)


def _read_table(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"curated dataset {path} not found")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")
    table = raw[list(columns)].copy()
    for column, kind in columns.items():
        if kind == "float":
            table[column] = _to_float(table[column], path.name, column, table["id"])
        elif kind == "bool":
            table[column] = _to_bool(table[column], path.name, column, table["id"])
        else:
            table[column] = table[column].str.strip()
    logger.debug("read %d rows from %s", len(table), path)
    return table


def _to_float(values: pd.Series, file: str, column: str, ids: pd.Series) -> pd.Series:
    converted = pd.to_numeric(values.str.strip().replace("", np.nan), errors="coerce")
    bad = converted.isna() & values.str.strip().ne("")
    if bad.any():
        where = ", ".join(f"{ids[i]}={values[i]!r}" for i in values.index[bad][:5])
        raise ValueError(f"{file}: column {column} holds non-numeric value(s): {where}")
    return converted.astype(float)


def _to_bool(values: pd.Series, file: str, column: str, ids: pd.Series) -> pd.Series:
    mapping = {"true": True, "false": False}
    lowered = values.str.strip().str.lower()
    bad = ~lowered.isin(list(mapping))
    if bad.any():
        where = ", ".join(f"{ids[i]}={values[i]!r}" for i in values.index[bad][:5])
        raise ValueError(f"{file}: column {column} must be true or false, got {where}")
    return lowered.map(mapping).astype(bool)


# ----------------------------------------------------------------------------------------------
# Validation


def validate_conductivity(table: pd.DataFrame) -> list[str]:
    """Check the conductivity table against the schema rules.

    Rules: every formula parses with :func:`predictor.composition.parse_formula`; ``reduced_formula``,
    ``carrier`` and ``anion_family`` agree with the composition (an anion family may differ only
    when the notes say ``anion_family override`` and why); each row has a conductivity or an
    activation energy; ``sigma_S_cm`` within 1e-14..1 S/cm, ``T_C`` within -100..600 degrees C,
    ``Ea_eV`` within 0.05..2 eV; allowed values of ``value_kind``, ``bound``,
    ``structure_type``; a DOI or a reference on every row, DOIs well formed; unique ids and no
    exact duplicate rows.

    Parameters
    ----------
    table : pandas.DataFrame
        As returned by :func:`read_conductivity_table` (or a hand-made frame with its columns).

    Returns
    -------
    list of str
        One human-readable problem per broken rule and row; empty when the table is valid.
    """
    problems = _missing_columns(table, CONDUCTIVITY_COLUMNS)
    if problems:
        return problems
    problems += _common_row_checks(table, "reference")
    for label, row in _labelled_rows(table):
        sigma, t_c, ea = row["sigma_S_cm"], row["T_C"], row["Ea_eV"]
        if _missing(sigma) and _missing(ea):
            problems.append(f"{label}: neither sigma_S_cm nor Ea_eV is given")
        if not _missing(sigma) and not SIGMA_RANGE_S_CM[0] <= sigma <= SIGMA_RANGE_S_CM[1]:
            problems.append(f"{label}: sigma_S_cm={sigma:g} outside the physical range "
                            f"{SIGMA_RANGE_S_CM[0]:g}..{SIGMA_RANGE_S_CM[1]:g} S/cm")
        if not _missing(t_c) and not T_RANGE_C[0] <= t_c <= T_RANGE_C[1]:
            problems.append(f"{label}: T_C={t_c:g} outside {T_RANGE_C[0]:g}..{T_RANGE_C[1]:g} C")
        if not _missing(ea) and not EA_RANGE_EV[0] <= ea <= EA_RANGE_EV[1]:
            problems.append(f"{label}: Ea_eV={ea:g} outside {EA_RANGE_EV[0]:g}..{EA_RANGE_EV[1]:g} eV")
        if row["value_kind"] not in CONDUCTIVITY_VALUE_KINDS:
            problems.append(f"{label}: value_kind {row['value_kind']!r} is not one of {CONDUCTIVITY_VALUE_KINDS}")
        if row["structure_type"] not in STRUCTURE_TYPES:
            problems.append(f"{label}: structure_type {row['structure_type']!r} is not in the vocabulary")
        if not isinstance(row["composite"], (bool, np.bool_)):
            problems.append(f"{label}: composite must be true or false, got {row['composite']!r}")
    return problems


def validate_windows(table: pd.DataFrame) -> list[str]:
    """Check the electrochemical-window table against the schema rules.

    Rules: the composition rules of :func:`validate_conductivity`; at least one reported limit;
    every limit (reported or converted) within 0..7 V and the reduction limit below the
    oxidation limit; converted limits only with a ``reference`` of 'Li+/Li' or 'Na+/Na' that
    matches the carrier, and a reference only with a converted limit; allowed values of
    ``value_kind``, ``method``, ``bound``; a DOI or a citation on every row; unique ids and no
    exact duplicate rows.

    Parameters
    ----------
    table : pandas.DataFrame
        As returned by :func:`read_window_table` (or a hand-made frame with its columns).

    Returns
    -------
    list of str
        One human-readable problem per broken rule and row; empty when the table is valid.
    """
    problems = _missing_columns(table, WINDOW_COLUMNS)
    if problems:
        return problems
    problems += _common_row_checks(table, "citation")
    for label, row in _labelled_rows(table):
        problems += _check_limits(label, row["reported_reduction_V"], row["reported_oxidation_V"], "reported")
        problems += _check_limits(label, row["reduction_limit_V"], row["oxidation_limit_V"], "converted")
        if _missing(row["reported_reduction_V"]) and _missing(row["reported_oxidation_V"]):
            problems.append(f"{label}: no reported reduction or oxidation limit")
        has_converted = not (_missing(row["reduction_limit_V"]) and _missing(row["oxidation_limit_V"]))
        expected = ELECTRODE_REFERENCES.get(row["carrier"])
        if has_converted and row["reference"] != expected:
            problems.append(f"{label}: converted limits need reference {expected!r} for carrier "
                            f"{row['carrier']!r}, got {row['reference']!r}")
        if not has_converted and row["reference"]:
            problems.append(f"{label}: reference {row['reference']!r} given without converted limits")
        if row["value_kind"] not in WINDOW_VALUE_KINDS:
            problems.append(f"{label}: value_kind {row['value_kind']!r} is not one of {WINDOW_VALUE_KINDS}")
        if row["method"] not in WINDOW_METHOD_FAMILIES:
            problems.append(f"{label}: method {row['method']!r} is not one of {tuple(WINDOW_METHOD_FAMILIES)}")
    return problems


def _missing_columns(table: pd.DataFrame, columns: dict[str, str]) -> list[str]:
    return [f"missing column {c!r}" for c in columns if c not in table.columns]


def _labelled_rows(table: pd.DataFrame):
    for position, (_, row) in enumerate(table.iterrows()):
        ident = row.get("id", "")
        label = f"row {ident}" if isinstance(ident, str) and ident else f"row #{position}"
        yield f"{label} ({row.get('formula', '')!s})", row


def _common_row_checks(table: pd.DataFrame, citation_column: str) -> list[str]:
    """Checks shared by both tables: composition, citation, bound, ids, exact duplicates."""
    problems = []
    for label, row in _labelled_rows(table):
        problems += _check_composition(label, row)
        doi, citation = _text(row["doi"]), _text(row[citation_column])
        if not doi and not citation:
            problems.append(f"{label}: neither a DOI nor a {citation_column} is given")
        for part in filter(None, (p.strip() for p in doi.split(";"))):
            if not _DOI.match(part):
                problems.append(f"{label}: {part!r} is not a DOI (expected '10.xxxx/...')")
        if _text(row["bound"]) not in BOUNDS:
            problems.append(f"{label}: bound {row['bound']!r} is not one of {BOUNDS}")
    ids = table["id"].astype(str)
    for ident in sorted(set(ids[ids.duplicated()])):
        problems.append(f"id {ident!r} is used more than once")
    duplicated = table.drop(columns="id").astype(str).duplicated(keep="first")
    for position in np.flatnonzero(duplicated.to_numpy()):
        problems.append(f"row {ids.iloc[position]} ({table['formula'].iloc[position]}) duplicates an earlier row exactly")
    return problems


def _check_composition(label: str, row: pd.Series) -> list[str]:
    try:
        composition = parse_formula(row["formula"])
    except CompositionError as error:
        return [f"{label}: formula does not parse: {error.reason}"]
    problems = []
    if row["reduced_formula"] != composition.reduced_formula:
        problems.append(f"{label}: reduced_formula {row['reduced_formula']!r} should be "
                        f"{composition.reduced_formula!r}")
    carrier = mobile_ion(composition)
    if row["carrier"] != carrier:
        problems.append(f"{label}: carrier {row['carrier']!r} does not match the composition ({carrier!r})")
    family = anion_family(composition)
    if row["anion_family"] != family:
        if row["anion_family"] not in ANION_FAMILIES:
            problems.append(f"{label}: anion_family {row['anion_family']!r} is not one of {ANION_FAMILIES}")
        elif ANION_FAMILY_OVERRIDE not in _text(row["notes"]):
            problems.append(f"{label}: anion_family {row['anion_family']!r} does not match the composition "
                            f"({family!r}) and the notes give no '{ANION_FAMILY_OVERRIDE}' reason")
    return problems


def _check_limits(label: str, low: float, high: float, kind: str) -> list[str]:
    problems = []
    for name, value in (("reduction", low), ("oxidation", high)):
        if not _missing(value) and not WINDOW_RANGE_V[0] <= value <= WINDOW_RANGE_V[1]:
            problems.append(f"{label}: {kind} {name} limit {value:g} V outside "
                            f"{WINDOW_RANGE_V[0]:g}..{WINDOW_RANGE_V[1]:g} V")
    if not _missing(low) and not _missing(high) and low >= high:
        problems.append(f"{label}: {kind} reduction limit {low:g} V is not below the oxidation limit {high:g} V")
    return problems


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _text(value: object) -> str:
    return "" if _missing(value) else str(value).strip()


# ----------------------------------------------------------------------------------------------
# Room-temperature conductivity labels


def room_temperature_conductivity(include_computed: bool = False, include_non_halide: bool = False) -> pd.DataFrame:
    """One room-temperature conductivity label per composition, from the curated file.

    See :func:`room_temperature_labels` for the rule.

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
    """
    return room_temperature_labels(read_conductivity_table(), include_computed, include_non_halide)


def room_temperature_labels(table: pd.DataFrame, include_computed: bool = False,
                            include_non_halide: bool = False) -> pd.DataFrame:
    """Aggregate conductivity reports into one room-temperature label per composition.

    Notes
    -----
    The rule, also given in ``datasets/README.md``:

    1. Reports used: single-value conductivities (``bound`` empty) of single phases
       (``composite`` false), experimental ones (computed ones only with ``include_computed``),
       halide families only unless ``include_non_halide``.
    2. Each report is classed by temperature: ``T_C`` in 20..30 C, or ``T_C`` empty while the
       quote says "RT"/"room temperature" (read as 25 C), is *measured 20-30 C*; another ``T_C``
       with an activation energy on the same row gives an *Arrhenius estimate at 25 C* from
       sigma*T = A*exp(-Ea/(k*T)); an empty ``T_C`` without RT in the quote is *temperature not
       stated (assumed RT)*; another ``T_C`` without ``Ea_eV`` is not used.
    3. Reports are grouped by composition: atomic fractions equal within 0.001 (so Li3YCl6 and
       Li6Y2Cl12 are one composition). A composition takes the first class it has in the order
       measured, Arrhenius, not stated; computed values label only compositions without any
       experimental label.
    4. The label is the median of log10(sigma) over the reports of that class, with their count
       and spread (max - min of log10 sigma, 0 for one report).

    Parameters
    ----------
    table : pandas.DataFrame
        Conductivity table with the columns of :func:`read_conductivity_table`.
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
    reports = _classify_reports(_label_candidates(table, include_computed, include_non_halide))
    if reports.empty:
        return pd.DataFrame({c: pd.Series(dtype=_label_dtype(c)) for c in ROOM_TEMPERATURE_COLUMNS})
    reports["group"] = _composition_groups(reports["formula"])
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


def _label_candidates(table: pd.DataFrame, include_computed: bool, include_non_halide: bool) -> pd.DataFrame:
    kinds = ("experimental", "computed") if include_computed else ("experimental",)
    keep = (table["sigma_S_cm"].notna() & (table["bound"].fillna("") == "") & ~table["composite"].astype(bool)
            & table["value_kind"].isin(kinds))
    if not include_non_halide:
        keep &= table["anion_family"] != "non-halide"
    return table[keep].copy()


def _classify_reports(reports: pd.DataFrame) -> pd.DataFrame:
    """Add ``rule``, ``log10_sigma_25`` (log10 S/cm) and ``T_label_C`` to each report; drop unusable ones."""
    rules, values, temperatures = [], [], []
    for _, row in reports.iterrows():
        log10_sigma = math.log10(row["sigma_S_cm"])
        t_c = row["T_C"]
        if _missing(t_c) and _ROOM_TEMPERATURE_WORDS.search(_text(row["quote"])):
            t_c = LABEL_TEMPERATURE_C
        if row["value_kind"] == "computed":
            in_range = not _missing(t_c) and ROOM_TEMPERATURE_RANGE_C[0] <= t_c <= ROOM_TEMPERATURE_RANGE_C[1]
            rule, value, t_label = (LABEL_COMPUTED, log10_sigma, t_c) if in_range else (None, None, None)
        elif _missing(t_c):
            rule, value, t_label = LABEL_UNSTATED, log10_sigma, LABEL_TEMPERATURE_C
        elif ROOM_TEMPERATURE_RANGE_C[0] <= t_c <= ROOM_TEMPERATURE_RANGE_C[1]:
            rule, value, t_label = LABEL_MEASURED, log10_sigma, t_c
        elif not _missing(row["Ea_eV"]):
            value = arrhenius_log10_sigma(log10_sigma, t_c, row["Ea_eV"], LABEL_TEMPERATURE_C)
            rule, t_label = LABEL_ARRHENIUS, LABEL_TEMPERATURE_C
        else:
            rule, value, t_label = None, None, None
        rules.append(rule)
        values.append(value)
        temperatures.append(t_label)
    reports = reports.assign(rule=rules, log10_sigma_25=values, T_label_C=temperatures)
    return reports[reports["rule"].notna()]


def arrhenius_log10_sigma(log10_sigma: float, T_C: float, Ea_eV: float, target_T_C: float) -> float:
    """Move a conductivity to another temperature with sigma*T = A*exp(-Ea/(k*T)).

    Parameters
    ----------
    log10_sigma : float, log10(S/cm)
        The measured conductivity.
    T_C : float, degrees C
        Temperature of the measurement.
    Ea_eV : float, eV
        Activation energy.
    target_T_C : float, degrees C
        Temperature of the estimate.

    Returns
    -------
    float, log10(S/cm)
        The estimated conductivity at ``target_T_C``.
    """
    t_k, target_k = T_C + ZERO_CELSIUS_K, target_T_C + ZERO_CELSIUS_K
    exponent = -Ea_eV / BOLTZMANN_EV_PER_K * (1.0 / target_k - 1.0 / t_k)
    return log10_sigma + math.log10(t_k / target_k) + exponent / math.log(10.0)


def _composition_groups(formulas: pd.Series) -> list[int]:
    """Group index of each formula: same elements and atomic fractions within the tolerance."""
    representatives: list[Composition] = []
    groups = []
    for formula in formulas:
        fractions = parse_formula(formula).fractional_composition
        for index, other in enumerate(representatives):
            if _same_composition(fractions, other):
                groups.append(index)
                break
        else:
            representatives.append(fractions)
            groups.append(len(representatives) - 1)
    return groups


def _same_composition(a: Composition, b: Composition) -> bool:
    if set(a.elements) != set(b.elements):
        return False
    return all(abs(a[element] - b[element]) <= COMPOSITION_FRACTION_TOLERANCE for element in a.elements)


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


# ----------------------------------------------------------------------------------------------
# Electrochemical windows


def room_temperature_windows(table: pd.DataFrame | None = None, include_non_halide: bool = True) -> pd.DataFrame:
    """One electrochemical window per composition, value kind and method family.

    Rows used: those with at least one converted limit (vs Li+/Li or Na+/Na) and no ``bound``.
    Rows are grouped by composition (atomic fractions within 0.001), ``value_kind`` and method
    family (CV and LSV together as "CV/LSV"; each DFT scheme apart), so computed and measured
    windows never mix. Each limit is the median over the group's rows that give it.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        Window table with the columns of :func:`read_window_table`; default the curated file.
    include_non_halide : bool, default=True
        Keep the reference electrolytes (oxides, sulfides, ...) reported beside the halides.

    Returns
    -------
    pandas.DataFrame
        Columns ``formula, carrier, reduction_limit_V, oxidation_limit_V`` (V), ``reference``
        ('Li+/Li' or 'Na+/Na'), ``value_kind``, ``method`` (the method family), ``doi``
        (semicolon-joined), sorted by formula, value kind and method.
    """
    table = read_window_table() if table is None else table
    usable = table[(table["reference"] != "") & (table["bound"].fillna("") == "")
                   & (table["reduction_limit_V"].notna() | table["oxidation_limit_V"].notna())].copy()
    if not include_non_halide:
        usable = usable[usable["anion_family"] != "non-halide"]
    if usable.empty:
        return pd.DataFrame(columns=WINDOW_LABEL_COLUMNS)
    usable["group"] = _composition_groups(usable["formula"])
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
