"""A lab's own measurements (``predictor train --labels my_lab.csv``), validated row by row.

The table needs few columns:

- ``formula`` (required);
- ``sigma_S_cm`` or ``log10_sigma`` (one of them; log10 of S/cm): a conductivity label;
- ``T_C``: temperature of the conductivity measurement in °C (default 25);
- ``Ea_eV``: activation energy, an Ea label; also what moves a conductivity measured outside
  20-30 °C to 25 °C (sigma*T = A*exp(-Ea/kT), the rule of the curated labels);
- ``reduction_limit_V`` and ``oxidation_limit_V`` (both or neither): the electrochemical window
  (V vs Li+/Li or Na+/Na), a window label;
- ``reference`` (or ``doi``), ``lab``, ``notes``: free text. The reference (else the lab) is the
  row's paper: held-out evaluations leave a lab's rows out together.

A row gives at least one of the three labels; each is used by its model, before the literature
for the same composition.

Any other column is refused (a ``temperature`` column would otherwise be ignored and its values
taken as 25 °C). Empty cells, ``NA``, ``N/A`` and ``-`` count as not given.

Every row is checked with the rules of the curated tables (:mod:`.curated.schema`): a formula
that parses, Li or Na in it, sigma within 1e-14..1 S/cm, T within -100..600 °C, Ea within
0.05..2 eV, window limits within 0..7 V with the reduction limit below the oxidation limit. A row that fails is returned with its row number and the reason, never dropped
silently. The usable rows become the ``user`` source, which takes precedence over every other
source for the same composition (:func:`predictor.loaders.combined.load_conductivity_data`).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from predictor.composition import mobile_ion, parse_formula
from predictor.errors import CompositionError, LabelsError
from predictor.loaders import LABEL_TEMPERATURE_C, ROOM_TEMPERATURE_RANGE_C
from predictor.loaders.curated.schema import ABSOLUTE_ZERO_C, EA_RANGE_EV, SIGMA_RANGE_S_CM, T_RANGE_C, WINDOW_RANGE_V
from predictor.loaders.curated.tables import cell_text
from predictor.prediction.temperature import convert_log10_sigma

#: The source name of a user's labels (first in precedence).
USER_SOURCE = "user"
#: The calibration group of every user row: the folds leave a lab's rows out together.
USER_GROUP = "your labels"
VALUE_COLUMNS = ("sigma_S_cm", "log10_sigma")
WINDOW_COLUMNS = ("reduction_limit_V", "oxidation_limit_V")
KNOWN_COLUMNS = ("formula", *VALUE_COLUMNS, "T_C", "Ea_eV", *WINDOW_COLUMNS, "reference", "doi", "lab", "notes")
#: Cell texts that mean "not given".
MISSING = {"", "na", "n/a", "nan", "-", "none"}


def _number(row: dict, column: str) -> float | None:
    """A cell as a float, None when empty; ValueError naming the column for text that is not a number."""
    value = row.get(column)
    if value is None or (isinstance(value, str) and value.strip().lower() in MISSING):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{column}={value!r} is not a number") from None
    return None if math.isnan(number) else number


def _conductivity(row: dict, ea: float | None) -> float | None:
    """log10 sigma at 25 °C of one row (None when it gives none); ValueError with the reason when unusable."""
    sigma, log10_sigma = (_number(row, column) for column in VALUE_COLUMNS)
    if sigma is None and log10_sigma is None:
        return None
    if sigma is not None and log10_sigma is not None and abs(math.log10(max(sigma, 1e-300)) - log10_sigma) > 0.01:
        raise ValueError(f"sigma_S_cm={sigma:g} and log10_sigma={log10_sigma:g} disagree")
    if log10_sigma is None:
        if not sigma > 0:
            raise ValueError(f"sigma_S_cm={sigma:g} is not positive")
        log10_sigma = math.log10(sigma)
    low, high = (math.log10(v) for v in SIGMA_RANGE_S_CM)
    if not (math.isfinite(log10_sigma) and low <= log10_sigma <= high):
        given = f"sigma_S_cm={sigma:g}" if sigma is not None else f"log10_sigma={log10_sigma:g}"
        raise ValueError(f"{given} outside {SIGMA_RANGE_S_CM[0]:g}..{SIGMA_RANGE_S_CM[1]:g} S/cm (the physical range "
                         "of solid conductors)")
    t_c = _number(row, "T_C")
    t_c = LABEL_TEMPERATURE_C if t_c is None else t_c
    if not T_RANGE_C[0] <= t_c <= T_RANGE_C[1]:
        below_zero = f", below absolute zero ({ABSOLUTE_ZERO_C:g} °C)" if t_c < ABSOLUTE_ZERO_C else ""
        raise ValueError(f"T_C={t_c:g} outside {T_RANGE_C[0]:g}..{T_RANGE_C[1]:g} °C{below_zero}")
    if not ROOM_TEMPERATURE_RANGE_C[0] <= t_c <= ROOM_TEMPERATURE_RANGE_C[1]:
        if ea is None:
            raise ValueError(f"measured at {t_c:g} °C without Ea_eV: cannot be moved to {LABEL_TEMPERATURE_C:g} °C "
                             f"(give Ea_eV, or a value measured at {ROOM_TEMPERATURE_RANGE_C[0]:g}-"
                             f"{ROOM_TEMPERATURE_RANGE_C[1]:g} °C)")
        log10_sigma = float(convert_log10_sigma(log10_sigma, ea, LABEL_TEMPERATURE_C, reference_C=t_c))
    return log10_sigma


def _window(row: dict) -> tuple[float, float] | None:
    """(reduction, oxidation) limit in V of one row (None when it gives none); ValueError when unusable."""
    reduction, oxidation = (_number(row, column) for column in WINDOW_COLUMNS)
    if reduction is None and oxidation is None:
        return None
    if reduction is None or oxidation is None:
        raise ValueError(f"only {'reduction' if oxidation is None else 'oxidation'}_limit_V is given: a window label "
                         "needs both limits")
    for name, value in zip(WINDOW_COLUMNS, (reduction, oxidation)):
        if not WINDOW_RANGE_V[0] <= value <= WINDOW_RANGE_V[1]:
            raise ValueError(f"{name}={value:g} outside {WINDOW_RANGE_V[0]:g}..{WINDOW_RANGE_V[1]:g} V")
    if not reduction < oxidation:
        raise ValueError(f"reduction_limit_V={reduction:g} is not below oxidation_limit_V={oxidation:g}")
    return reduction, oxidation


def _label(row: dict) -> dict:
    """The labels of one row (log10 sigma at 25 °C, Ea, window; None when not given) and its paper.

    ValueError (or CompositionError) with the reason when the row is not usable.
    """
    composition = parse_formula(cell_text(row.get("formula")))
    if mobile_ion(composition) is None:
        raise ValueError("no Li or Na: the models predict Li and Na conductors")
    ea = _number(row, "Ea_eV")
    if ea is not None and not EA_RANGE_EV[0] <= ea <= EA_RANGE_EV[1]:
        raise ValueError(f"Ea_eV={ea:g} outside {EA_RANGE_EV[0]:g}..{EA_RANGE_EV[1]:g} eV")
    log10_sigma, window = _conductivity(row, ea), _window(row)
    if log10_sigma is None and ea is None and window is None:
        raise ValueError("no value: give sigma_S_cm or log10_sigma, Ea_eV, or both window limits")
    lab = cell_text(row.get("lab"))
    paper = cell_text(row.get("reference")) or cell_text(row.get("doi")) or (f"lab {lab}" if lab else "your labels")
    return {"log10_sigma": log10_sigma, "Ea_eV": ea, "window": window, "paper": paper}


def label_properties(usable: pd.DataFrame) -> list[str]:
    """The properties (of ``predictor train --property``) that a lab's usable rows give labels of."""
    given = {"conductivity": usable["log10_sigma"].notna().any(), "windows": usable["reduction_limit_V"].notna().any(),
             "activation": usable["Ea_eV"].notna().any()}
    return [name for name, present in given.items() if present]


def read_user_labels(labels: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A lab's measurements (conductivity, Ea and window labels), and the rows that cannot be used.

    Parameters
    ----------
    labels : path of a CSV file, or DataFrame
        The columns of the module docstring; others are kept but not used.

    Returns
    -------
    (usable, rejected) : (DataFrame, DataFrame)
        ``usable``: ``formula``, ``log10_sigma`` (log10 S/cm at 25 °C), ``T_C`` (of the
        measurement), ``Ea_eV``, ``reduction_limit_V`` and ``oxidation_limit_V`` (NaN where the
        row gives none), ``doi`` (the row's paper), ``source`` ("user"), ``row`` (1-based row of
        the table), ``censored``, ``lab`` and ``notes``. ``rejected``: ``source``, ``formula``,
        ``row`` and ``reason``.

    Raises
    ------
    LabelsError
        When the table cannot be read, has no ``formula`` column or has columns it does not know
        (naming the file and the columns).
    """
    name = "the labels table" if isinstance(labels, pd.DataFrame) else str(labels)
    if isinstance(labels, pd.DataFrame):
        table = labels.copy()
    else:
        try:
            table = pd.read_csv(labels, dtype=str, keep_default_na=False)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise LabelsError(f"{name}: cannot be read as CSV ({type(exc).__name__}: {exc})") from None
    table.columns = [str(c).strip() for c in table.columns]
    if "formula" not in table.columns:
        raise LabelsError(f"{name}: no 'formula' column (columns: {', '.join(table.columns) or 'none'}; "
                         f"expected {', '.join(KNOWN_COLUMNS)})")
    if table.columns.duplicated().any():
        raise LabelsError(f"{name}: repeated columns {sorted(set(table.columns[table.columns.duplicated()]))}")
    unknown = [c for c in table.columns if c not in KNOWN_COLUMNS]
    if unknown:
        raise LabelsError(f"{name}: unknown columns {', '.join(unknown)} (expected {', '.join(KNOWN_COLUMNS)}; "
                          "T_C is the temperature of the measurement in °C)")
    usable, rejected = [], []
    for number, row in enumerate(table.to_dict("records"), start=1):
        formula = cell_text(row.get("formula"))
        try:
            label = _label(row)
        except CompositionError as exc:
            rejected.append({"source": USER_SOURCE, "formula": formula, "row": number, "reason": exc.reason})
            continue
        except ValueError as exc:
            rejected.append({"source": USER_SOURCE, "formula": formula, "row": number, "reason": str(exc)})
            continue
        t_c = _number(row, "T_C")
        nan = float("nan")
        reduction, oxidation = label["window"] or (nan, nan)
        usable.append({"formula": formula, "log10_sigma": nan if label["log10_sigma"] is None else label["log10_sigma"],
                       "T_C": LABEL_TEMPERATURE_C if t_c is None else t_c,
                       "Ea_eV": nan if label["Ea_eV"] is None else label["Ea_eV"],
                       "reduction_limit_V": reduction, "oxidation_limit_V": oxidation,
                       "doi": label["paper"], "source": USER_SOURCE, "row": number, "censored": False,
                       "lab": cell_text(row.get("lab")), "notes": cell_text(row.get("notes"))})
    columns = ["formula", "log10_sigma", "T_C", "Ea_eV", *WINDOW_COLUMNS, "doi", "source", "row", "censored", "lab",
               "notes"]
    return pd.DataFrame(usable, columns=columns), pd.DataFrame(rejected, columns=["source", "formula", "row", "reason"])
