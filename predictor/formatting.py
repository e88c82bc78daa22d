"""Prediction tables as text for a terminal, and as JSON.

:func:`format_predictions` is the default view of ``predictor predict``: one line per formula
that fits the terminal width (formula, sigma with its 90 % interval in S/cm, both window limits
± std, in-domain, the measured value when known), failed rows with their reason, then the notes
and a legend. :func:`format_columns` shows any columns, one line per row, at any width.

Text from the input (formulas, and the errors that quote them) is shown with its control
characters escaped (:func:`printable`): an escape sequence in a formula is printed as
``\x1b[31m``, never sent to the terminal.
"""

from __future__ import annotations

import json
import math
import shutil
import textwrap

import numpy as np
import pandas as pd

GAP = "  "
MIN_FORMULA_WIDTH = 10
#: Width used when the terminal's cannot be known (output to a pipe or a file, no $COLUMNS).
DEFAULT_WIDTH = 100


def terminal_width() -> int:
    """Columns of the terminal (``$COLUMNS`` first, as ``shutil.get_terminal_size`` reads it)."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def unprintable(char: str) -> bool:
    """True for a character a terminal would not print as itself: the controls (ESC, carriage return,
    NUL, tab, DEL, C1), format characters such as the bidirectional overrides, line and paragraph
    separators, unassigned code points (what ``str.isprintable`` refuses, the space apart)."""
    return not char.isprintable()


def _escaped(text: str, escape) -> str:
    """``text`` with each :func:`unprintable` character replaced by ``escape(char)``."""
    if text.isprintable():  # the common case, at C speed: no character to escape
        return text
    return "".join(escape(c) if unprintable(c) else c for c in text)


def printable(text) -> str:
    """``text`` with every :func:`unprintable` character written as its Python escape (``\x1b``)."""
    return _escaped(str(text), lambda char: repr(char)[1:-1])


def _finite(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _sigma(log10_value) -> str:
    return f"{10.0 ** log10_value:.1e}" if _finite(log10_value) else ""


def _limit(value, std) -> str:
    return f"{value:.2f}±{std:.2f}" if _finite(value) else "-"


def _reason(formula, error: str) -> str:
    """The error without the formula it starts with (the formula is already on the line)."""
    prefix = f"{formula!r}: "
    return printable(error[len(prefix):] if error.startswith(prefix) else error)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _has_measured(table: pd.DataFrame) -> bool:
    return "measured_log10_sigma" in table and bool(np.isfinite(table["measured_log10_sigma"].to_numpy(float)).any())


def format_predictions(table: pd.DataFrame, width: int | None = None) -> str:
    """The default terminal view of a prediction table, no line longer than ``width``.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :meth:`predictor.Predictor.predict`.
    width : int, optional
        Line width in characters; default: the terminal's (:func:`terminal_width`).

    Returns
    -------
    str
        Columns: formula; sigma (S/cm) and its calibrated 90 % interval (S/cm); reduction and
        oxidation limits (V vs Li+/Li or Na+/Na) ± one standard deviation; in domain; the
        measured sigma (S/cm) when the table has ``measured_log10_sigma`` and any row has one.
        Failed rows show their reason instead of numbers; notes and legend follow, wrapped.
    """
    width = width or terminal_width()
    ok = (table["error"] == "").to_numpy()
    columns = [  # (header, unit, cells); the formula comes first, separately
        ("sigma", "(S/cm)", [_sigma(v) for v in table["log10_sigma"]]),
        ("90 % interval", "(S/cm)", [f"{_sigma(lo)}–{_sigma(hi)}" if _finite(lo) else ""
                                     for lo, hi in zip(table["log10_sigma_lo90"], table["log10_sigma_hi90"])]),
        ("reduction", "(V)", [_limit(v, s) for v, s in zip(table["reduction_limit_V"], table["reduction_limit_V_std"])]),
        ("oxidation", "(V)", [_limit(v, s) for v, s in zip(table["oxidation_limit_V"], table["oxidation_limit_V_std"])]),
        ("in", "domain", ["yes" if v else "no" for v in table["in_domain"]]),
    ]
    if _has_measured(table):
        columns.append(("measured", "(S/cm)", [_sigma(v) for v in table["measured_log10_sigma"]]))
    widths = [max(len(header), len(unit), *(len(c) for c, good in zip(cells, ok) if good))
              for header, unit, cells in columns]

    def rest_width(n_columns: int) -> int:
        return sum(widths[:n_columns]) + len(GAP) * n_columns

    shown = len(columns)
    while shown > 1 and MIN_FORMULA_WIDTH + rest_width(shown) > width:
        shown -= 1  # a narrow terminal: drop columns from the right
    names = [printable(f) for f in table["formula"]]
    longest = max([len("formula"), *(len(n) for n in names)])
    formula_width = max(min(longest, width - rest_width(shown)), MIN_FORMULA_WIDTH)

    lines = []
    for header_row in (0, 1):
        cells = ["formula" if header_row == 0 else ""]
        cells += [column[header_row].ljust(w) for column, w in zip(columns[:shown], widths)]
        lines.append(_line(cells, formula_width))
    wrapper = textwrap.TextWrapper(width=max(width - formula_width - len(GAP), 20))
    for i, formula in enumerate(table["formula"]):
        name = _shorten(names[i], formula_width)
        if ok[i]:
            cells = [name] + [column[2][i].ljust(w) if column[0] == "in" else column[2][i].rjust(w)
                              for column, w in zip(columns[:shown], widths)]
            lines.append(_line(cells, formula_width))
            continue
        error = table["error"].iat[i]
        reason = _reason(formula, error) if name == names[i] else printable(error)
        wrapped = wrapper.wrap(f"not predicted: {reason}") or [""]
        lines.append(_line([name, wrapped[0]], formula_width))
        lines += [" " * (formula_width + len(GAP)) + more for more in wrapped[1:]]
    if shown < len(columns):
        lines += textwrap.wrap(f"({len(columns) - shown} columns hidden at this width; --wide shows all)", width=width)

    notes = [(f, printable(n)) for f, n, good in zip(names, table["domain_notes"], ok) if good and n]
    if notes:
        lines += ["", "Outside the models' domain:"]
        for formula, note in notes:
            lines += textwrap.wrap(f"{formula}: {note}", width=width, initial_indent="  ", subsequent_indent="    ")
    if ok.any():
        temperatures = set(table["temperature_C"].dropna()) if "temperature_C" in table else set()
        temperature = temperatures.pop() if len(temperatures) == 1 else 25.0
        sigma = ("room-temperature ionic conductivity" if temperature == 25.0 else
                 f"ionic conductivity at {temperature:g} °C (the room-temperature prediction moved with the predicted "
                 "activation energy, uncertainty of both propagated)")
        legend = (f"sigma: predicted {sigma} with its calibrated 90 % interval. "
                  "reduction, oxidation: limits of the electrochemical window (thermodynamic, DFT-like) in V "
                  "vs Li+/Li, or Na+/Na for Na conductors, ± one calibrated standard deviation.")
        if shown == len(columns) and _has_measured(table):
            legend += (" measured: the room-temperature conductivity the models were trained on for this composition, "
                       "or yours (--measured; --wide adds the number of reports and their references).")
        lines += [""] + textwrap.wrap(legend + " --wide shows every column.", width=width)
    return "\n".join(line.rstrip() for line in lines)


def _line(cells: list[str], formula_width: int) -> str:
    return GAP.join([cells[0].ljust(formula_width), *cells[1:]])


def _cell(value, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{value:.2e}" if column.endswith("_S_cm") else f"{value:.2f}"
    return printable(value)


def format_columns(table: pd.DataFrame, columns: list[str]) -> str:
    """Chosen columns of a prediction table, one line per row, whatever the width.

    Numbers are right-aligned: log10 values and volts with 2 decimals, ``*_S_cm`` columns in
    scientific notation; booleans as yes/no; missing values empty.
    """
    rows = [[_cell(v, c) for v in table[c]] for c in columns]
    numeric = [pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
               for c in columns]
    widths = [max([len(c), *(len(v) for v in cells)]) for c, cells in zip(columns, rows)]
    lines = [GAP.join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(columns, widths, numeric))]
    for i in range(len(table)):
        lines.append(GAP.join(cells[i].rjust(w) if num else cells[i].ljust(w)
                              for cells, w, num in zip(rows, widths, numeric)))
    return "\n".join(line.rstrip() for line in lines)


def _json_value(value):
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def to_json(table: pd.DataFrame) -> str:
    """The table as a JSON list of records: ``null`` for every missing number or text, no NaN,
    slashes and non-ASCII characters written as they are ("Li+/Li")."""
    records = [{column: _json_value(value) for column, value in zip(table.columns, row)}
               for row in table.itertuples(index=False, name=None)]
    text = json.dumps(records, indent=1, ensure_ascii=False, allow_nan=False)
    # JSON escapes the C0 controls inside strings (ESC is \u001b), so its only line breaks are the indentation's;
    # escape, the JSON way, the other characters a terminal does not print (DEL, C1 controls, bidirectional overrides)
    return "\n".join(_escaped(line, lambda char: json.dumps(char)[1:-1]) for line in text.split("\n"))
