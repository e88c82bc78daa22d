"""The end-member decomposition and the isotonic step of the window rules."""

import numpy as np
import pytest

from predictor import parse_formula
from predictor.estimators.trace_elements import without_trace_elements
from predictor.estimators.window_rules import (_bounds, _decreasing_isotonic, apply_window_rules, end_members,
                                               is_carrier_halide)


def _members(formula):
    return {tuple(sorted(m.amounts)): round(m.weight, 6) for m in end_members(parse_formula(formula))}


def test_end_members_of_a_cation_and_an_anion_mixture():
    assert _members("Li2.5Y0.5Zr0.5Cl6") == {(("Cl", 6.0), ("Li", 3.0), ("Y", 1.0)): 0.5,
                                             (("Cl", 6.0), ("Li", 2.0), ("Zr", 1.0)): 0.5}
    assert _members("Li3YCl3Br3") == {(("Cl", 6.0), ("Li", 3.0), ("Y", 1.0)): 0.5,
                                      (("Br", 6.0), ("Li", 3.0), ("Y", 1.0)): 0.5}
    assert _members("Li3YCl6") == {(("Cl", 6.0), ("Li", 3.0), ("Y", 1.0)): 1.0}
    assert end_members(parse_formula("YCl3")) is None  # no carrier, no reference electrode


def test_trace_anions_are_given_back_to_the_host_anions():
    # N for Cl, charge balanced through Li: back to Li3YCl6, pinned almost fully
    parent, weight = without_trace_elements(parse_formula("Li3.02YCl5.99N0.01"))
    assert parent.get_el_amt_dict() == pytest.approx({"Li": 3.0, "Y": 1.0, "Cl": 6.0})
    assert weight == pytest.approx(1 - (0.01 / 6 / 0.05) ** 2)
    # a trace in a mixed-anion parent: its sites go to the host anion (the most abundant)
    parent, _ = without_trace_elements(parse_formula("Li3YCl4.99FI0.01"))
    assert parent.get_el_amt_dict() == pytest.approx({"Li": 3.0, "Y": 1.0, "Cl": 5.0, "F": 1.0})
    # 5 % of the anion sites and more is not a trace; one anion has none
    assert without_trace_elements(parse_formula("Li3YCl5.6Br0.4")) == (None, 0.0)
    assert without_trace_elements(parse_formula("Li3YCl6")) == (None, 0.0)
    assert without_trace_elements(parse_formula("LiNbOCl4")) == (None, 0.0)
    # the weight falls to 0 continuously at 5 %
    assert without_trace_elements(parse_formula("Li3YCl5.7001Br0.2999"))[1] == pytest.approx(0.0, abs=1e-3)


def test_an_end_member_without_carrier_fades_out():
    # the Zr end member of Na0.7Zr0.3La0.7Cl4 would be "ZrCl4" with no Na: only NaLaCl4 remains
    members = end_members(parse_formula("Na0.7Zr0.3La0.7Cl4"))
    assert len(members) == 1 and members[0].weight == pytest.approx(1.0)
    assert dict(members[0].amounts) == pytest.approx({"Cl": 4.0, "La": 1.0, "Na": 1.0})
    # with a little more Na it comes in, in proportion to its Na content (0.15 Na per anion counts fully)
    members = end_members(parse_formula("Na0.76Zr0.3La0.7Cl3.94O0.03"))
    zr = [m for m in members if "Zr" in dict(m.amounts)]
    assert len(zr) == 1 and 0 < zr[0].weight < 0.3
    trace = end_members(parse_formula("Li2.999In0.999Zr0.001Cl6"))
    assert sorted(round(m.weight, 3) for m in trace) == [0.001, 0.999]


def test_decreasing_isotonic_pools_violators():
    assert _decreasing_isotonic([3.0, 4.0, 2.0, 1.0]) == pytest.approx([3.5, 3.5, 2.0, 1.0])
    assert _decreasing_isotonic([6.0, 4.2, 3.2, 2.9]) == [6.0, 4.2, 3.2, 2.9]
    assert _decreasing_isotonic([1.0, 2.0, 3.0]) == pytest.approx([2.0, 2.0, 2.0])


def test_carrier_halides():
    assert is_carrier_halide((("Li", 1.0), ("Cl", 1.0))) and is_carrier_halide((("Na", 1.0), ("Br", 0.5), ("I", 0.5)))
    assert not is_carrier_halide((("Li", 3.0), ("Y", 1.0), ("Cl", 6.0))) and not is_carrier_halide((("Li", 1.0),))


def test_bounds_let_a_light_end_member_in_by_its_weight():
    limits, weights = np.array([4.0, 2.0]), np.array([0.999, 0.001])
    low, high = _bounds(limits, weights)
    assert high == pytest.approx(4.0) and 3.99 < low < 4.0
    assert _bounds(np.array([4.0, 2.0]), np.array([0.5, 0.5])) == (2.0, 4.0)


def test_rules_on_a_made_up_regressor():
    """Whatever the regressor says, the rules hold: LiX at 0 V, F > Cl > Br > I, mixtures in between."""
    def regressor(compositions):
        # reduction rises with Br, oxidation rises with I: both wrong on purpose
        red = np.array([0.3 + c.get_atomic_fraction("Br") for c in compositions])
        ox = np.array([3.0 + c.get_atomic_fraction("I") + c.get_atomic_fraction("Y") for c in compositions])
        return red, ox

    formulas = ["LiCl", "LiBr", "Li3YF6", "Li3YCl6", "Li3YBr6", "Li3YI6", "Li3YCl3Br3"]
    compositions = [parse_formula(f) for f in formulas]
    red, ox = apply_window_rules(compositions, *regressor(compositions), regressor)
    assert red[0] == red[1] == 0
    assert np.all(np.diff(ox[2:6]) <= 1e-12)
    assert min(ox[3], ox[4]) - 1e-12 <= ox[6] <= max(ox[3], ox[4]) + 1e-12
    assert min(red[3], red[4]) - 1e-12 <= red[6] <= max(red[3], red[4]) + 1e-12


def test_a_trace_anion_is_pinned_to_its_parent_whatever_the_regressor_does():
    """A regressor that jumps by 1 V as soon as any Br is present cannot move a mixed-framework parent much."""
    def regressor(compositions):
        jump = np.array([1.0 if c["Br"] > 0 else 0.0 for c in compositions])
        y_share = np.array([c.get_atomic_fraction("Y") for c in compositions])
        return 0.5 + 2 * y_share + jump, 3.5 + 2 * y_share - jump

    formulas = ["Li2.5Y0.5Zr0.5Cl6", "Li2.5Y0.5Zr0.5Cl5.99Br0.01", "Li2.5Y0.5Zr0.5Cl3Br3", "Li2.52Y0.5Zr0.5Cl5.99N0.01"]
    compositions = [parse_formula(f) for f in formulas]
    red, ox = apply_window_rules(compositions, *regressor(compositions), regressor)
    # pinned to the parent: what is left of the jump is (share / 5 %)^2 of it
    for doped in (1, 3):
        assert abs(red[doped] - red[0]) <= 2e-3 and abs(ox[doped] - ox[0]) <= 2e-3
    # half Br is no trace: the regressor (after rules 1-3) decides
    assert red[2] == pytest.approx(0.5 + 2 * 0.5 / 9.5 + 1.0)


def test_the_halogen_order_survives_rule_4_with_other_anions():
    """Rule 2 on single-halogen compositions with S or O, whatever order the regressor gives."""
    def regressor(compositions):
        # oxidation limit highest for Br, on purpose
        ox = np.array([3.0 + 0.4 * c.get_atomic_fraction("Br") + 0.1 * c.get_atomic_fraction("S") for c in compositions])
        return np.full(len(compositions), 0.5), ox

    for framework in ("Li6PS5{X}", "Li3.1Y{X}5.9O0.1", "Li2.5Y0.5Zr0.5{X}5.8S0.1"):
        compositions = [parse_formula(framework.format(X=x)) for x in ("F", "Cl", "Br", "I")]
        _, ox = apply_window_rules(compositions, *regressor(compositions), regressor)
        assert np.all(np.diff(ox) <= 1e-12), (framework, ox)


def test_compositions_without_anions_or_carrier_to_spare_do_not_break_the_batch():
    def regressor(compositions):
        return np.full(len(compositions), 0.5), np.full(len(compositions), 3.0)

    compositions = [parse_formula(f) for f in ("Li0.2AlSi", "LiAlSi", "Li3YCl6")]
    red, ox = apply_window_rules(compositions, *regressor(compositions), regressor)
    assert np.all(np.isfinite(red)) and np.all(np.isfinite(ox))


def test_a_window_is_a_window_whatever_the_regressor_does():
    """Rule 5: far from the data a regressor may put the oxidation limit below 0 V or below the
    reduction limit (Li2K, Na3CBr6 in a fault probe); the rules close such windows instead."""
    def regressor(compositions):
        k_share = np.array([c.get_atomic_fraction("K") + c.get_atomic_fraction("C") for c in compositions])
        return 0.5 + 6 * k_share, 2.0 - 6 * k_share

    formulas = ["Li2K", "Na3CBr6", "LiK", "Li3YCl6", "YCl3", "LiCl", "Li3YCl5.99Br0.01", "Li2.5K0.5Cl3"]
    compositions = [parse_formula(f) for f in formulas]
    red, ox = apply_window_rules(compositions, *regressor(compositions), regressor)
    assert np.all(red >= 0) and np.all(ox >= 0) and np.all(red <= ox)
    raw_red, raw_ox = regressor(compositions)
    unchanged = (raw_ox >= 0) & (raw_red <= raw_ox)  # e.g. Li3YCl6 and YCl3: the rule does not touch them
    assert unchanged[3] and unchanged[4] and red[3] == raw_red[3] and ox[4] == raw_ox[4]


@pytest.mark.parametrize("family", ["gradient-boosted", "graph-network"])
def test_shipped_windows_are_windows_on_odd_compositions(family):
    from predictor.predictor import Predictor

    odd = ["Li2K", "Na3CBr6", "LiK", "Na2Cs", "Li3N", "LiH", "Li5Fe", "NaC6", "Li3YCl6", "Li7La3Zr2O12",
           "Na3BiI6", "LiAu", "Li3P", "Li2S", "Li4C", "NaCBr", "Li0.1Cs2Cl", "Li3YCl6Pb4"]
    table = Predictor.load(model_family=family).predict(odd)
    red, ox = table["reduction_limit_V"].to_numpy(), table["oxidation_limit_V"].to_numpy()
    assert np.all(np.isfinite(red)) and np.all(red >= 0) and np.all(ox >= 0) and np.all(red <= ox)
