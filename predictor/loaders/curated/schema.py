"""Schema rules of the curated tables: vocabularies, physical ranges, citations, composition columns.

:func:`validate_conductivity` and :func:`validate_windows` return one readable problem per
broken rule and row (``datasets/README.md`` lists the rules for contributors).
:func:`checked_conductivity_table` and :func:`checked_window_table` read a table and refuse it
(:class:`predictor.errors.TableError`, naming every bad row) unless it passes them: every loader
of labels and ``predictor train`` read the curated files through these two, so a corrupted
copy is never turned into labels.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.composition import REFERENCE_ELECTRODES, anion_family, mobile_ion, parse_formula
from predictor.errors import CompositionError, TableError
from predictor.loaders.curated.tables import (CONDUCTIVITY_COLUMNS, CONDUCTIVITY_FILE, WINDOW_COLUMNS, WINDOWS_FILE,
                                              cell_text, is_missing, read_conductivity_table, read_window_table)
from predictor.prediction.temperature import ZERO_CELSIUS_K

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

#: Conductivities a solid electrolyte can have (S/cm). Above 1 S/cm a value is a slip of units (mS/cm
#: or S/m read as S/cm), not a measurement: the best solid Li and Na conductors reach a few 0.01 S/cm
#: at room temperature (about 0.1 S/cm far above it); below 1e-14 S/cm impedance resolves nothing.
SIGMA_RANGE_S_CM = (1e-14, 1.0)
#: Measurement temperatures (degrees C) of the reports: cryostat to furnace.
T_RANGE_C = (-100.0, 600.0)
ABSOLUTE_ZERO_C = -ZERO_CELSIUS_K
#: Activation energies of ion conductors (eV): superionic phases ~0.1 eV, poor conductors ~1.5 eV.
EA_RANGE_EV = (0.05, 2.0)
#: Window limits (V vs Li+/Li or Na+/Na): below 0 V the carrier metal itself is not stable; no
#: electrolyte is stable above 7 V.
WINDOW_RANGE_V = (0.0, 7.0)
#: A row whose notes contain this phrase may carry an anion family other than the rule's.
ANION_FAMILY_OVERRIDE = "anion_family override"

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")


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
        if is_missing(sigma) and is_missing(ea):
            problems.append(f"{label}: neither sigma_S_cm nor Ea_eV is given")
        if not is_missing(sigma) and not SIGMA_RANGE_S_CM[0] <= sigma <= SIGMA_RANGE_S_CM[1]:
            problems.append(f"{label}: sigma_S_cm={sigma:g} outside the physical range "
                            f"{SIGMA_RANGE_S_CM[0]:g}..{SIGMA_RANGE_S_CM[1]:g} S/cm")
        if not is_missing(t_c) and not T_RANGE_C[0] <= t_c <= T_RANGE_C[1]:
            below_zero = f", below absolute zero ({ABSOLUTE_ZERO_C:g} C)" if t_c < ABSOLUTE_ZERO_C else ""
            problems.append(f"{label}: T_C={t_c:g} outside {T_RANGE_C[0]:g}..{T_RANGE_C[1]:g} C{below_zero}")
        if not is_missing(ea) and not EA_RANGE_EV[0] <= ea <= EA_RANGE_EV[1]:
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
        if is_missing(row["reported_reduction_V"]) and is_missing(row["reported_oxidation_V"]):
            problems.append(f"{label}: no reported reduction or oxidation limit")
        has_converted = not (is_missing(row["reduction_limit_V"]) and is_missing(row["oxidation_limit_V"]))
        expected = REFERENCE_ELECTRODES.get(row["carrier"])
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
        doi, citation = cell_text(row["doi"]), cell_text(row[citation_column])
        if not doi and not citation:
            problems.append(f"{label}: neither a DOI nor a {citation_column} is given")
        for part in filter(None, (p.strip() for p in doi.split(";"))):
            if not _DOI.match(part):
                problems.append(f"{label}: {part!r} is not a DOI (expected '10.xxxx/...')")
        if cell_text(row["bound"]) not in BOUNDS:
            problems.append(f"{label}: bound {row['bound']!r} is not one of {BOUNDS}")
    ids = table["id"].astype(str)
    problems += duplicate_ids(ids, table["formula"])
    duplicated = table.drop(columns="id").astype(str).duplicated(keep="first")
    for position in np.flatnonzero(duplicated.to_numpy()):
        problems.append(f"row {ids.iloc[position]} ({table['formula'].iloc[position]}) duplicates an earlier row exactly")
    return problems


def duplicate_ids(ids: pd.Series, formulas: pd.Series) -> list[str]:
    """One problem per id used by several rows, naming their data rows (1 = the first after the header) and formulas."""
    ids = ids.astype(str).reset_index(drop=True)
    problems = []
    for ident in sorted(set(ids[ids.duplicated()])):
        rows = [f"data row {position + 1} ({formulas.iloc[position]})" for position in np.flatnonzero(ids == ident)]
        problems.append(f"id {ident!r} is used more than once: {', '.join(rows)}")
    return problems


def _check_composition(label: str, row: pd.Series) -> list[str]:
    if not cell_text(row["formula"]):
        return [f"{label}: formula is missing"]
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
        elif ANION_FAMILY_OVERRIDE not in cell_text(row["notes"]):
            problems.append(f"{label}: anion_family {row['anion_family']!r} does not match the composition "
                            f"({family!r}) and the notes give no '{ANION_FAMILY_OVERRIDE}' reason")
    return problems


def _check_limits(label: str, low: float, high: float, kind: str) -> list[str]:
    problems = []
    for name, value in (("reduction", low), ("oxidation", high)):
        if not is_missing(value) and not WINDOW_RANGE_V[0] <= value <= WINDOW_RANGE_V[1]:
            problems.append(f"{label}: {kind} {name} limit {value:g} V outside "
                            f"{WINDOW_RANGE_V[0]:g}..{WINDOW_RANGE_V[1]:g} V")
    if not is_missing(low) and not is_missing(high) and low >= high:
        problems.append(f"{label}: {kind} reduction limit {low:g} V is not below the oxidation limit {high:g} V")
    return problems


def checked_conductivity_table(path: str | Path | None = None) -> pd.DataFrame:
    """The conductivity table (:func:`read_conductivity_table`), refused unless it passes :func:`validate_conductivity`.

    Raises
    ------
    predictor.errors.TableError
        Naming every problem (row id, formula, column, value, reason) of the table.
    """
    table = read_conductivity_table(path)
    require_valid(validate_conductivity(table), Path(path).name if path else CONDUCTIVITY_FILE)
    return table


def checked_window_table(path: str | Path | None = None) -> pd.DataFrame:
    """The window table (:func:`read_window_table`), refused unless it passes :func:`validate_windows`.

    Raises
    ------
    predictor.errors.TableError
        Naming every problem (row id, formula, column, value, reason) of the table.
    """
    table = read_window_table(path)
    require_valid(validate_windows(table), Path(path).name if path else WINDOWS_FILE)
    return table


def require_valid(problems: list[str], name: str) -> None:
    """Raise one :class:`predictor.errors.TableError` naming every problem of the table ``name``; nothing when none."""
    if problems:
        raise TableError([f"{name}: {problem}" for problem in problems],
                         f"{name} breaks the schema rules (datasets/README.md)")
