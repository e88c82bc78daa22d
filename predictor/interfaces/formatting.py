"""Prediction tables as text for a terminal, and as JSON.

:func:`format_predictions` is the default view of ``predictor predict``: one line per formula
that fits the terminal width (formula, sigma with its 90 % interval in S/cm, both window limits
± std, in-domain, the measured value when known), failed rows with their reason, then the notes
and a legend. :func:`format_columns` shows any columns, one line per row, at any width.

A formula is never cut (:func:`fit_table`, also used by the ranking of ``predictor screen``): a
narrow terminal first hides the columns that matter least and names them under the table; when a
formula is so long that sigma, its interval or a window limit would not fit beside it, that formula
gets a line of its own and its numbers the next line, under the other rows' numbers. A formula
longer than the terminal is still printed whole, on its own line, which then is longer than the
terminal (the terminal wraps it; nothing is lost). Error messages are wrapped.

Text from the input (formulas, and the errors that quote them) is shown with its control
characters escaped (:func:`printable`): an escape sequence in a formula is printed as
``\x1b[31m``, never sent to the terminal.
"""

from __future__ import annotations

import json
import math
import shutil
import textwrap
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictor.errors import shorten

GAP = "  "
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
    """The error without the formula it starts with (the formula is already on the line, whole; the
    error quotes a long one cut to ``MAX_ECHO`` characters)."""
    for prefix in (f"{formula!r}: ", f"{shorten(repr(formula))}: "):
        if error.startswith(prefix):
            return printable(error[len(prefix):])
    return printable(error)


def _has_measured(table: pd.DataFrame) -> bool:
    return "measured_log10_sigma" in table and bool(np.isfinite(table["measured_log10_sigma"].to_numpy(float)).any())


@dataclass
class Column:
    """One column of a terminal table: a name on two header lines, and one formatted cell per row.

    ``name`` is how the column is named when it is hidden (default: its header); ``left`` aligns the cells
    to the left (text) rather than to the right (numbers). Headers are always aligned to the left.
    """
    header: str
    unit: str
    cells: list[str]
    left: bool = False
    name: str = ""

    def width(self) -> int:
        return max([len(self.header), len(self.unit), *(len(c) for c in self.cells)])


def fit_table(formulas: list[str], columns: list[Column], keep: list[int], essential: int, width: int,
              before: int = 0, messages: list[str] | None = None) -> tuple[list[str], list[Column]]:
    """Lay out a table of formulas and columns in ``width`` characters without ever cutting a formula.

    Parameters
    ----------
    formulas : list of str
        One formula per row, already :func:`printable`; shown whole, in a left-aligned column.
    columns : list of Column
        The other columns, in display order; the first ``before`` stand left of the formula.
    keep : list of int
        Indices into ``columns``, most important first: a narrow terminal hides columns from the end
        of this list.
    essential : int
        The first ``essential`` columns of ``keep`` are worth more than one line per formula: when a
        long formula would push one of them out, that formula is written on a line of its own, and its
        numbers on the next line. The other columns are hidden first.
    width : int
        Line width in characters. Only a formula longer than the terminal, or a very narrow terminal,
        makes a line longer.
    messages : list of str or None, optional
        Per row: text shown after the formula instead of the cells (e.g. why the row was not
        predicted), wrapped to the width; None or "" for a row with cells.

    Returns
    -------
    (lines, hidden) : list of str, list of Column
        The table lines, without trailing spaces, and the columns hidden at this width.
    """
    lengths = Counter(len(f) for f in formulas)
    widths = [column.width() for column in columns]

    def shown(formula_width: int) -> int:
        """How many columns of ``keep`` fit beside a formula column this wide."""
        used = formula_width
        for n, index in enumerate(keep):
            used += len(GAP) + widths[index]
            if used > width:
                return n
        return len(keep)

    def merit(formula_width: int) -> tuple:
        """Essential columns shown first, then fewer formulas on their own line, then more columns."""
        n = shown(formula_width)
        own_lines = sum(count for length, count in lengths.items() if length > formula_width)
        return min(n, essential), -own_lines, n, formula_width

    formula_width = max({len("formula"), *(length for length in lengths if length > len("formula"))}, key=merit)
    kept = set(keep[: shown(formula_width)])
    left = [i for i in range(before) if i in kept]
    right = [i for i in range(before, len(columns)) if i in kept]

    def cells(row: int, indices: list[int]) -> list[str]:
        return [columns[i].cells[row].ljust(widths[i]) if columns[i].left else columns[i].cells[row].rjust(widths[i])
                for i in indices]

    lines = [_row([columns[i].header.ljust(widths[i]) for i in left], "formula", formula_width,
                  [columns[i].header.ljust(widths[i]) for i in right])]
    if any(columns[i].unit for i in left + right):
        lines.append(_row([columns[i].unit.ljust(widths[i]) for i in left], "", formula_width,
                          [columns[i].unit.ljust(widths[i]) for i in right]))
    # a message starts beside the formula, or under it when the terminal leaves it too little room
    indent = sum(widths[i] + len(GAP) for i in left) + formula_width + len(GAP)
    message_indent = indent if width - indent >= 20 else 4
    wrapper = textwrap.TextWrapper(width=max(width - message_indent, 20), break_on_hyphens=False)
    for row, formula in enumerate(formulas):
        before_cells = cells(row, left)
        own_line = len(formula) > formula_width  # the formula on a line of its own, the rest on the next
        message = messages[row] if messages else None
        if message:
            wrapped = wrapper.wrap(message) or [""]
            if own_line or message_indent != indent:
                lines.append(_row(before_cells, formula, formula_width, []))
            else:
                lines.append(_row(before_cells, formula, formula_width, [wrapped.pop(0)]))
            lines += [" " * message_indent + more for more in wrapped]
        elif own_line:
            lines.append(_row(before_cells, formula, formula_width, []))
            lines.append(_row([" " * len(c) for c in before_cells], "", formula_width, cells(row, right)))
        else:
            lines.append(_row(before_cells, formula, formula_width, cells(row, right)))
    hidden = [columns[i] for i in keep if i not in kept]
    return [line.rstrip() for line in lines], hidden


def _row(before: list[str], formula: str, formula_width: int, after: list[str]) -> str:
    return GAP.join([*before, formula.ljust(formula_width), *after])


def hidden_note(hidden: list[Column], where: str, width: int) -> list[str]:
    """The line that names the columns a narrow terminal hides, and where to find them."""
    if not hidden:
        return []
    names = ", ".join(c.name or c.header for c in hidden)
    return textwrap.wrap(f"(hidden at this width: {names}; {where})", width=width)


def format_predictions(table: pd.DataFrame, width: int | None = None) -> str:
    """The default terminal view of a prediction table, no line longer than ``width`` (unless a
    formula is longer: formulas are never cut).

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
        A narrow terminal hides the measured sigma first, then in domain (the notes name every row
        outside the domain), and only then puts a long formula on a line of its own.
        Failed rows show their reason instead of numbers; notes and legend follow, wrapped.
    """
    width = width or terminal_width()
    ok = (table["error"] == "").to_numpy()
    columns = [
        Column("sigma", "(S/cm)", [_sigma(v) for v in table["log10_sigma"]]),
        Column("90 % interval", "(S/cm)", [f"{_sigma(lo)}–{_sigma(hi)}" if _finite(lo) else ""
                                           for lo, hi in zip(table["log10_sigma_lo90"], table["log10_sigma_hi90"])]),
        Column("reduction", "(V)", [_limit(v, s) for v, s in zip(table["reduction_limit_V"],
                                                                  table["reduction_limit_V_std"])], name="reduction limit"),
        Column("oxidation", "(V)", [_limit(v, s) for v, s in zip(table["oxidation_limit_V"],
                                                                  table["oxidation_limit_V_std"])], name="oxidation limit"),
        Column("in", "domain", ["yes" if v else "no" for v in table["in_domain"]], left=True, name="in domain"),
    ]
    if _has_measured(table):
        columns.append(Column("measured", "(S/cm)", [_sigma(v) for v in table["measured_log10_sigma"]]))
    for column in columns:  # a row that was not predicted shows its reason instead
        column.cells = [cell if good else "" for cell, good in zip(column.cells, ok)]
    names = [printable(f) for f in table["formula"]]
    reasons = ["" if good else "not predicted: " + _reason(formula, error)
               for formula, error, good in zip(table["formula"], table["error"], ok)]
    # a narrow terminal hides from the right: measured first, then in domain (the notes below name
    # every row outside the domain); the formula, sigma with its interval and the window stay
    lines, hidden = fit_table(names, columns, keep=list(range(len(columns))), essential=4, width=width,
                              messages=reasons)
    lines += hidden_note(hidden, "--wide shows every column", width)

    notes = [(f, printable(n)) for f, n, good in zip(names, table["domain_notes"], ok) if good and n]
    if notes:
        lines += ["", "Outside the models' domain:"]
        for formula, note in notes:
            lines += textwrap.wrap(f"{formula}: {note}", width=width, initial_indent="  ", subsequent_indent="    ",
                                   break_long_words=False, break_on_hyphens=False)  # the formula whole
    if ok.any():
        temperatures = set(table["temperature_C"].dropna()) if "temperature_C" in table else set()
        temperature = temperatures.pop() if len(temperatures) == 1 else 25.0
        sigma = ("room-temperature ionic conductivity" if temperature == 25.0 else
                 f"ionic conductivity at {temperature:g} °C (the room-temperature prediction moved with the predicted "
                 "activation energy, uncertainty of both propagated)")
        legend = (f"sigma: predicted {sigma} with its calibrated 90 % interval. "
                  "reduction, oxidation: limits of the electrochemical window (thermodynamic, DFT-like) in V "
                  "vs Li+/Li, or Na+/Na for Na conductors, ± one calibrated standard deviation.")
        if _has_measured(table) and "measured" not in {c.header for c in hidden}:
            legend += (" measured: the room-temperature conductivity the models were trained on for this composition, "
                       "or yours (--measured; --wide adds the number of reports and their references).")
        lines += [""] + textwrap.wrap(legend + " --wide shows every column.", width=width)
    return "\n".join(line.rstrip() for line in lines)


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
