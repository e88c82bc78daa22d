"""Reading the curated CSV files with fixed dtypes (no schema rules here: see :mod:`.schema`)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.errors import TableError
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
    predictor.errors.TableError
        When a column is missing or cells cannot be read as their dtype (a ValueError naming
        every such cell: file, column, row id, value).
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
    predictor.errors.TableError
        When a column is missing or cells cannot be read as their dtype (a ValueError naming
        every such cell: file, column, row id, value).
    """
    return _read_table(Path(path) if path else datasets_dir() / WINDOWS_FILE, WINDOW_COLUMNS)


def is_missing(value: object) -> bool:
    """Whether a cell is empty: None, NaN or pandas' NA."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def cell_text(value: object) -> str:
    """A cell as stripped text, "" when it is empty."""
    return "" if is_missing(value) else str(value).strip()


def _read_table(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """The table with its dtypes; TableError naming every cell that cannot be read as its column's dtype."""
    if not path.is_file():
        raise FileNotFoundError(f"curated dataset {path} not found")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise TableError([f"{path.name}: missing column(s) {', '.join(missing)}"], path.name)
    table = raw[list(columns)].copy()
    problems = []
    for column, kind in columns.items():
        if kind == "float":
            table[column] = _to_float(table[column], path.name, column, table["id"], problems)
        elif kind == "bool":
            table[column] = _to_bool(table[column], path.name, column, table["id"], problems)
        else:
            table[column] = table[column].str.strip()
    if problems:
        raise TableError(problems, f"{path.name} cannot be read")
    logger.debug("read %d rows from %s", len(table), path)
    return table


def _to_float(values: pd.Series, file: str, column: str, ids: pd.Series, problems: list[str]) -> pd.Series:
    converted = pd.to_numeric(values.str.strip().replace("", np.nan), errors="coerce")
    bad = converted.isna() & values.str.strip().ne("")
    problems += [f"{file}: column {column}, row {ids[i]}: {values[i]!r} is not a number" for i in values.index[bad]]
    return converted.astype(float)


def _to_bool(values: pd.Series, file: str, column: str, ids: pd.Series, problems: list[str]) -> pd.Series:
    mapping = {"true": True, "false": False}
    lowered = values.str.strip().str.lower()
    bad = ~lowered.isin(list(mapping))
    problems += [f"{file}: column {column}, row {ids[i]}: {values[i]!r} is not true or false"
                 for i in values.index[bad]]
    return lowered.map(mapping).fillna(False).astype(bool)
