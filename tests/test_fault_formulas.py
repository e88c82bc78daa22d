"""Formulas are read as written (issue 26): what the literature writes that is not one formula is
an error row with the reason, in the API, the command line and training alike (one parser)."""

from __future__ import annotations

import pytest

from predictor import CompositionError, parse_formula
from predictor.predictor import Predictor


@pytest.mark.parametrize("formula, reason", [
    ("Li3YCl6.2H2O", "hydrate ('.2H2O')"),
    ("LiOH.H2O", "hydrate"),
    ("LiOH·H2O", "hydrate"),
    ("Li3InCl6*xH2O", "hydrate"),
    ("Li3YCl6 . 2H2O", "hydrate"),
    ("Li3YCl6 Li3InCl6", "holds 2 formulas (Li3YCl6, Li3InCl6)"),
    ("Li3YCl6, Na3YCl6", "holds 2 formulas (Li3YCl6, Na3YCl6)"),
    ("Li3YCl6;Li2ZrCl6", "holds 2 formulas"),
    ("LiCl 0.5 LiBr 0.5", "amount '0.5' is separated"),
    ("LiCl 2", "amount '2' is separated"),
    ("Li3YCl6 /2", "amount '/2' is separated"),
    ("Li3YCl6/2", "divides only the amount before the '/'"),
    ("Li3YCl6/4", "divides only the amount before the '/'"),
    ("Li3YCl6/", "'/' without an amount"),
    ("Li3YCl6.", "'.' without an amount"),
    ("Li3Y\rCl6", "control character '\\r'"),
    ("Li3Y\0Cl6", "control character '\\x00'"),
    ("Li3Y\x1b[31mCl6", "control character '\\x1b'"),
    ("Li3YCl6\tLi3InCl6", "control character '\\t'"),
])
def test_what_is_not_one_formula_is_refused_with_the_reason(formula, reason):
    with pytest.raises(CompositionError, match="^.*" + __import__("re").escape(reason)):
        parse_formula(formula)


@pytest.mark.parametrize("formula, amounts", [
    ("Li3 Y Cl6", {"Li": 3, "Y": 1, "Cl": 6}),
    ("Li6PS5 Cl", {"Li": 6, "P": 1, "S": 5, "Cl": 1}),
    ("(LiCl)0.5 (P2O5)0.5", {"Li": 0.5, "Cl": 0.5, "P": 1, "O": 2.5}),
    ("Li7/3Sc2/3Cl4", {"Li": 7 / 3, "Sc": 2 / 3, "Cl": 4}),
    ("Li3YCl6.5", {"Li": 3, "Y": 1, "Cl": 6.5}),
    ("Li0.5H0.5Cl", {"Li": 0.5, "H": 0.5, "Cl": 1}),
    ("Li.5Cl", {"Li": 0.5, "Cl": 1}),
    ("LiCl0.5H2O", {"Li": 1, "Cl": 0.5, "H": 2, "O": 1}),  # a decimal point, not a hydrate dot
    ("Li3YCl3/2Br9/2", {"Li": 3, "Y": 1, "Cl": 1.5, "Br": 4.5}),  # fractions throughout: no formula divided
    ("Li3YCl6\r", {"Li": 3, "Y": 1, "Cl": 6}),  # whitespace around a formula (a line read with its end)
    ("\tLi3YCl6\n", {"Li": 3, "Y": 1, "Cl": 6}),
])
def test_formulas_that_look_alike_still_parse(formula, amounts):
    parsed = parse_formula(formula).get_el_amt_dict()
    assert parsed == pytest.approx(amounts)


def test_the_api_returns_error_rows_for_them_and_predicts_the_rest():
    formulas = ["Li3YCl6", "Li3YCl6.2H2O", "Li3YCl6 Li3InCl6", "LiCl 2", "Li3YCl6/2", "Li3Y\rCl6", "Li3InCl6"]
    table = Predictor.load().predict(formulas)
    assert list(table["formula"]) == formulas
    good = table["error"].isna() | (table["error"] == "")
    assert good.tolist() == [True, False, False, False, False, False, True]
    assert table.loc[~good, "log10_sigma"].isna().all()
    assert table.loc[good, "log10_sigma"].notna().all()
    assert "holds 2 formulas" in table["error"][2] and "hydrate" in table["error"][1]
