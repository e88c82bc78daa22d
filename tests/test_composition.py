import pytest

from predictor import CompositionError, parse_formula
from predictor.composition import anion_family, describe, mobile_ion


@pytest.mark.parametrize(
    "formula, expected",
    [
        ("Li3YCl6", {"Li": 3, "Y": 1, "Cl": 6}),
        ("Li2.5Y0.5Zr0.5Cl6", {"Li": 2.5, "Y": 0.5, "Zr": 0.5, "Cl": 6}),
        ("Li3Y0.5In0.5Cl6", {"Li": 3, "Y": 0.5, "In": 0.5, "Cl": 6}),
        ("Li2In1/3Sc1/3Cl4", {"Li": 2, "In": 1 / 3, "Sc": 1 / 3, "Cl": 4}),
        ("  Li3 Y Cl6 ", {"Li": 3, "Y": 1, "Cl": 6}),
        ("Li3Y(Cl)6", {"Li": 3, "Y": 1, "Cl": 6}),
    ],
)
def test_valid_formulas(formula, expected):
    amounts = parse_formula(formula).get_el_amt_dict()
    assert amounts.keys() == expected.keys()
    for element, amount in expected.items():
        assert amounts[element] == pytest.approx(amount, abs=1e-9)


@pytest.mark.parametrize(
    "formula, reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("garbage", "not a valid chemical formula"),
        ("Xx2Cl", "unknown element 'Xx'"),
        ("LiXCl", "unknown element"),
        ("Li0Cl", "zero amount of Li"),
        ("Li-1Cl", "negative"),
        ("Li3YCl6-xBrx", "negative or symbolic"),
        ("Li1e6Cl", "more than 1000 atoms"),
        ("A0", "unknown element 'A'"),
        ("Og2Cl", "no tabulated properties"),
        ("Li2Sc2/0Cl4", "division by zero"),
        ("Li" * 150, "longer than"),
        (None, "expected a formula string"),
        (3.5, "expected a formula string"),
    ],
)
def test_invalid_formulas_name_input_and_reason(formula, reason):
    with pytest.raises(CompositionError) as info:
        parse_formula(formula)
    assert reason in str(info.value)
    assert repr(formula)[:20] in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "formula, carrier, family",
    [
        ("Li3YCl6", "Li", "chloride"), ("Na3YCl6", "Na", "chloride"), ("Li3YBr6", "Li", "bromide"),
        ("Li3YBr3Cl3", "Li", "mixed-halide"), ("LiTaOCl4", "Li", "oxyhalide"), ("Li6PS5Cl", "Li", "sulfide-halide"),
        ("Li7La3Zr2O12", "Li", "non-halide"), ("MgCl2", None, "chloride"), ("LiNa2YCl6", "Na", "chloride"),
    ],
)
def test_carrier_and_anion_family(formula, carrier, family):
    composition = parse_formula(formula)
    assert mobile_ion(composition) == carrier
    assert anion_family(composition) == family


def test_domain_notes_for_non_halide_and_no_carrier():
    assert describe(parse_formula("Li3YCl6")).in_chemical_domain
    notes = describe(parse_formula("Mg2SiO4")).chemical_domain_notes
    assert any("no Li or Na" in n for n in notes) and any("no halogen" in n for n in notes)
    assert not describe(parse_formula("Li7La3Zr2O12")).in_chemical_domain


def test_same_composition_ignores_scaling_and_rounded_amounts_but_not_doping_steps():
    from predictor.composition import composition_groups, same_composition

    same = [("Li3YCl6", "Li6Y2Cl12"), ("Li2In0.666Cl4", "Li3InCl6"), ("Li2.33Sc0.67Cl4", "Li7/3Sc2/3Cl4")]
    different = [("La0.55Li0.36Ti0.995Al0.005O3", "La0.55Li0.36Ti0.992Al0.008O3"),
                 ("Li6.02P0.98Si0.02S5Br", "Li24.1P3.9Si0.1S20Br4"), ("Li3YCl6", "Li3YBr6"), ("Li3YCl6", "Li3YCl5")]
    for a, b in same:
        assert same_composition(parse_formula(a), parse_formula(b)), (a, b)
    for a, b in different:
        assert not same_composition(parse_formula(a), parse_formula(b)), (a, b)
    formulas = ["Li3YCl6", "Li3InCl6", "Li6Y2Cl12", "Li2In0.666Cl4", "Li3YBr6"]
    assert composition_groups(parse_formula(f) for f in formulas) == [0, 1, 0, 1, 2]


def test_reference_electrode_is_named_once():
    from predictor.composition import REFERENCE_ELECTRODES, reference_electrode

    assert REFERENCE_ELECTRODES == {"Li": "Li+/Li", "Na": "Na+/Na"} and reference_electrode("K") == "K+/K"
