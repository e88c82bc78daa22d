"""The terminal shows what matters: a formula is never cut, whatever the width.

A narrow terminal hides the columns that matter least (and names them); when a formula is too long
for sigma, its interval and the window limits to fit beside it, the formula gets a line of its own
and its numbers go on the next line. A formula longer than the terminal is printed whole on its own
line, the only kind of line allowed to be longer than the terminal.
"""

import re

import numpy as np
import pandas as pd
import pytest

from predictor.interfaces.cli import _format_ranking, main
from predictor.interfaces.formatting import Column, fit_table, format_predictions
from predictor.predictor import COLUMN_TYPES, COLUMNS

DOPED = ["Li2.9Y0.9Zr0.1Cl6", "Li1.725Zr0.725Ta0.275Cl6"]
LONG = "Li2.9876543Y0.9876543Zr0.0123457In0.0012345Cl5.9876543Br0.01"  # 60 characters


def whole(formula: str, text: str) -> bool:
    """``formula`` appears in ``text`` as a whole word, neither cut nor glued to another."""
    return re.search(rf"(?<!\S){re.escape(formula)}(?!\S)", text) is not None


def fits(text: str, width: int, allowed=()) -> bool:
    """No line longer than ``width``, apart from a line that is one of the ``allowed`` formulas alone."""
    return all(len(line) <= width or line.strip() in allowed for line in text.splitlines())


def stand_in_table(formulas: list[str], errors: dict[str, str] | None = None) -> pd.DataFrame:
    """A prediction table with made-up numbers, as :meth:`Predictor.predict` shapes it; Li3YCl6 has a
    measured value; ``errors`` maps a formula to why it was not predicted."""
    errors = errors or {}
    rows = []
    for formula in formulas:
        row = dict.fromkeys(COLUMNS, np.nan)
        row.update(formula=formula, reduced_formula="", carrier=None, anion_family="", conductivity_model="",
                   window_reference="", window_model="", measured_n=0, measured_refs="", in_domain=False,
                   domain_notes="", error=errors.get(formula, ""), temperature_C=25.0, Ea_in_domain=False,
                   temperature_note="")
        if not row["error"]:
            row.update(log10_sigma=-3.0, log10_sigma_std=0.5, log10_sigma_lo90=-3.8, log10_sigma_hi90=-2.2,
                       sigma_S_cm=1e-3, reduction_limit_V=0.6, reduction_limit_V_std=0.1, oxidation_limit_V=4.2,
                       oxidation_limit_V_std=0.1, window_reference="Li+/Li", in_domain=True)
        if formula == "Li3YCl6":
            row.update(measured_log10_sigma=-3.27, measured_n=2)
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS).astype(COLUMN_TYPES)


def ranking_table(formulas: list[str]) -> pd.DataFrame:
    """A ranked screen, as :func:`predictor.prediction.screening.screen` shapes it, with made-up numbers."""
    n = len(formulas)
    table = pd.DataFrame({
        "rank": np.arange(1, n + 1), "formula": formulas, "dopant": ["Ta5+"] * n, "x": np.linspace(0.05, 0.5, n),
        "log10_sigma": -3.2, "log10_sigma_lo90": -4.2, "log10_sigma_hi90": -2.2, "reduction_limit_V": 1.86,
        "oxidation_limit_V": 3.79, "score": -4.2, "meets_constraints": True, "in_domain": True, "error": ""})
    table.attrs.update(parent="Li2ZrCl6", parent_log10_sigma=-3.46, rank_by="lower90", min_oxidation_limit_V=None)
    return table


# --- the layout, on stand-in tables -------------------------------------------------------------

@pytest.mark.parametrize("width", [40, 60, 80, 100, 120])
def test_no_formula_is_cut_at_any_width(width):
    formulas = ["Li3YCl6", *DOPED, "Li2.5Y0.5Zr0.5Cl6", "Li3Y(Cl", LONG]
    table = stand_in_table(formulas, errors={"Li3Y(Cl": "'Li3Y(Cl': not a valid chemical formula (an unclosed "
                                                         "parenthesis after Li3Y)"})
    text = format_predictions(table, width)
    assert all(whole(f, text) for f in formulas), text
    assert fits(text, width, allowed=[LONG]), text
    assert "…" not in text


def test_at_80_columns_the_measured_column_goes_before_any_formula_is_cut():
    text = format_predictions(stand_in_table(["Li3YCl6", *DOPED]), 80)
    header = text.splitlines()[0].split()
    assert header == ["formula", "sigma", "90", "%", "interval", "reduction", "oxidation", "in"]
    assert "(hidden at this width: measured; --wide shows every column)" in text
    assert re.search(r"^Li1\.725Zr0\.725Ta0\.275Cl6\s+1\.0e-03\s+1\.6e-04–6\.3e-03\s+0\.60±0\.10\s+4\.20±0\.10\s+yes$",
                     text, re.M), text
    assert fits(text, 80)
    wide = format_predictions(stand_in_table(["Li3YCl6", *DOPED]), 100)
    assert "hidden" not in wide and "measured" in wide.splitlines()[0]


def test_a_formula_too_long_for_the_numbers_gets_a_line_of_its_own():
    text = format_predictions(stand_in_table(["Li3YCl6", "Li2.9Y0.9Zr0.1Cl6", LONG]), 80)
    lines = text.splitlines()
    at = lines.index(LONG)  # alone on its line, whole
    numbers = lines[at + 1]
    assert numbers.split() == ["1.0e-03", "1.6e-04–6.3e-03", "0.60±0.10", "4.20±0.10", "yes"]
    same = next(line for line in lines if line.startswith("Li2.9Y0.9Zr0.1Cl6"))
    assert numbers.strip() == same[len("Li2.9Y0.9Zr0.1Cl6"):].strip()
    assert numbers.index("1.0e-03") == same.index("1.0e-03")  # under the other rows' numbers
    assert fits(text, 80, allowed=[LONG])


def test_a_formula_longer_than_the_terminal_is_printed_whole():
    text = format_predictions(stand_in_table(["Li3YCl6", LONG]), 40)
    assert LONG in text.splitlines()
    assert fits(text, 40, allowed=[LONG])


def test_an_error_is_wrapped_beside_or_under_the_whole_formula():
    reason = "not a valid chemical formula because " + "of a very long explanation " * 4
    for formula, width in (("Li3Y(Cl", 60), (LONG + "(", 80), ("Li3Y(Cl", 30)):
        text = format_predictions(stand_in_table(["Li3YCl6", formula], errors={formula: f"{formula!r}: {reason}"}),
                                  width)
        flat = " ".join(text.split())
        assert whole(formula, text) and "not predicted: not a valid" in flat
        assert flat.count("of a very long explanation") == 4
        assert fits(text, width, allowed=[formula]), text


def test_fit_table_keeps_a_column_left_of_the_formula():
    columns = [Column("rank", "", ["1", "2"]), Column("value", "(V)", ["1.00", "22.00"])]
    lines, hidden = fit_table(["Li3YCl6", "Li1.725Zr0.725Ta0.275Cl6"], columns, keep=[1, 0], essential=1, width=80,
                              before=1)
    assert lines == ["rank  formula                   value",
                     "                                (V)",
                     "   1  Li3YCl6                    1.00",
                     "   2  Li1.725Zr0.725Ta0.275Cl6  22.00"]
    assert hidden == []
    lines, hidden = fit_table(["Li3YCl6", "Li1.725Zr0.725Ta0.275Cl6"], columns, keep=[1, 0], essential=1, width=30,
                              before=1)  # the long formula on its own line, its rank beside it
    assert lines == ["rank  formula  value",
                     "               (V)",
                     "   1  Li3YCl6   1.00",
                     "   2  Li1.725Zr0.725Ta0.275Cl6",
                     "               22.00"]
    assert hidden == []
    lines, hidden = fit_table(["Li3YCl6", "Li1.725Zr0.725Ta0.275Cl6"], columns, keep=[1, 0], essential=1, width=16,
                              before=1)  # the rank, less important than the value, is hidden
    assert [c.header for c in hidden] == ["rank"] and lines[-2:] == ["Li1.725Zr0.725Ta0.275Cl6", "         22.00"]


@pytest.mark.parametrize("width", [60, 80, 200])
def test_the_ranking_fits_the_terminal_and_keeps_the_formulas(width):
    formulas = ["Li1.75Zr0.75Ta0.25Cl6", "Li1.725Zr0.725Ta0.275Cl6", LONG]
    text = _format_ranking(ranking_table(formulas), top=20, width=width)
    assert all(whole(f, text) for f in formulas), text
    assert fits(text, width, allowed=[LONG]), text
    assert "90 % interval" in text and "-4.20 to -2.20" in text and "3.79" in text
    assert ("hidden at this width" in text) == (width < 200)


def test_the_ranking_hides_what_the_formula_already_says_first():
    text = _format_ranking(ranking_table(["Li1.75Zr0.75Ta0.25Cl6", "Li1.7Zr0.7Ta0.3Cl6"]), top=20, width=80)
    header = text.splitlines()[2].split()
    assert header == ["rank", "formula", "log10", "90", "%", "interval", "reduction", "oxidation", "in"]
    assert "(hidden at this width: dopant, x, score, meets constraint; the CSV has every column)" in " ".join(
        text.split("\n"))
    assert re.search(r"^   1  Li1\.75Zr0\.75Ta0\.25Cl6\s+-3\.20\s+-4\.20 to -2\.20\s+1\.86\s+3\.79\s+yes$", text, re.M)


# --- the commands, with the shipped models, in an 80-column terminal ----------------------------

def test_predict_in_80_columns_shows_every_formula_whole(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    formulas = [*DOPED, "Li3YCl6", LONG]
    assert main(["predict", *formulas]) == 0
    out = capsys.readouterr().out
    assert all(whole(f, out) for f in formulas), out
    assert fits(out, 80), out  # the 60-character formula fits on its own line
    assert LONG in out.splitlines()
    assert re.search(r"^Li1\.725Zr0\.725Ta0\.275Cl6\s+\d\.\de-\d\d\s+\d\.\de-\d\d–\d\.\de-\d\d\s+\d\.\d\d±\d\.\d\d\s+"
                     r"\d\.\d\d±\d\.\d\d", out, re.M), out


def test_screen_in_80_columns_fits_and_shows_every_formula_whole(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("COLUMNS", "80")
    output = tmp_path / "series.csv"
    assert main(["screen", "Li2ZrCl6", "--site", "Zr", "--dopant", "Nb", "--dopant", "Ta", "--x", "0:0.5:0.05",
                 "--no-plot", "-o", str(output)]) == 0
    out = capsys.readouterr().out
    ranked = pd.read_csv(output).query("rank > 0").sort_values("rank").head(20)
    assert len(ranked) == 20
    assert all(whole(f, out) for f in ranked["formula"]), out
    assert fits(out, 80), out
