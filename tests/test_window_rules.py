"""The end-member decomposition and the isotonic step of the window rules."""

import numpy as np
import pytest

from predictor import parse_formula
from predictor.estimators.window_rules import (_bounds, _decreasing_isotonic, anion_versions, apply_window_rules,
                                               end_members, is_carrier_halide)


def _members(formula):
    return {tuple(sorted(m.amounts)): round(m.weight, 6) for m in end_members(parse_formula(formula))}


def test_end_members_of_a_cation_and_an_anion_mixture():
    assert _members("Li2.5Y0.5Zr0.5Cl6") == {(("Cl", 6.0), ("Li", 3.0), ("Y", 1.0)): 0.5,
                                             (("Cl", 6.0), ("Li", 2.0), ("Zr", 1.0)): 0.5}
    assert _members("Li3YCl3Br3") == {(("Cl", 6.0), ("Li", 3.0), ("Y", 1.0)): 0.5,
                                      (("Br", 6.0), ("Li", 3.0), ("Y", 1.0)): 0.5}
    assert _members("Li3YCl6") == {(("Cl", 6.0), ("Li", 3.0), ("Y", 1.0)): 1.0}
    assert end_members(parse_formula("YCl3")) is None  # no carrier, no reference electrode


def _versions(formula):
    members, share = anion_versions(parse_formula(formula))
    return {tuple(sorted(m.amounts)): round(m.weight, 6) for m in members}, share


def test_every_anion_element_makes_single_anion_versions():
    # O, S and N are anions like the halogens: LiNbOCl4 would be Li5NbO5 or "NbCl5" (no Li, does not exist)
    assert _versions("LiNbOCl4") == ({(("Li", 5.0), ("Nb", 1.0), ("O", 5.0)): 1.0}, pytest.approx(0.2))
    versions, share = _versions("Li3.02YCl5.99N0.01")
    assert share == 1.0 and versions == pytest.approx({(("Cl", 6.0), ("Li", 3.0), ("Y", 1.0)): 5.99 / 6,
                                                       (("Li", 15.0), ("N", 6.0), ("Y", 1.0)): 0.01 / 6}, abs=1e-6)
    # P without S would be an anion: the all-Cl version of Li6PS5Cl does not exist
    assert _versions("Li6PS5Cl") == ({(("Li", 7.0), ("P", 1.0), ("S", 6.0)): 1.0}, pytest.approx(5 / 6))
    # rule 3 keeps the other anions and splits the halogens only
    assert _members("Li3.02YCl5.99N0.01") == {(("Cl", 5.99), ("Li", 3.02), ("N", 0.01), ("Y", 1.0)): 1.0}


def test_single_anion_versions_keep_the_framework():
    members, share = anion_versions(parse_formula("Li2.5Y0.5Zr0.5Cl5Br"))
    assert share == 1.0
    assert {tuple(sorted(m.amounts)): round(m.weight, 6) for m in members} == {
        (("Cl", 6.0), ("Li", 2.5), ("Y", 0.5), ("Zr", 0.5)): round(5 / 6, 6),
        (("Br", 6.0), ("Li", 2.5), ("Y", 0.5), ("Zr", 0.5)): round(1 / 6, 6)}
    assert anion_versions(parse_formula("Li2.5Y0.5Zr0.5Cl6")) == (None, 0.0)  # one anion: its own version


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
    """A regressor that jumps by 1 V as soon as any Br is present cannot move a mixed-framework parent."""
    def regressor(compositions):
        jump = np.array([1.0 if c["Br"] > 0 else 0.0 for c in compositions])
        y_share = np.array([c.get_atomic_fraction("Y") for c in compositions])
        return 0.5 + 2 * y_share + jump, 3.5 + 2 * y_share - jump

    formulas = ["Li2.5Y0.5Zr0.5Cl6", "Li2.5Y0.5Zr0.5Cl5.99Br0.01", "Li2.5Y0.5Zr0.5Cl3Br3"]
    compositions = [parse_formula(f) for f in formulas]
    red, ox = apply_window_rules(compositions, *regressor(compositions), regressor)
    # the Br version (1 V away) counts by its weight only: 0.01 / 6 of a volt
    assert abs(red[1] - red[0]) <= 0.01 / 6 + 1e-4 and abs(ox[1] - ox[0]) <= 0.01 / 6 + 1e-4
    # half Br: between the all-Cl and the all-Br versions (each after rules 1-3)
    versions = [parse_formula("Li2.5Y0.5Zr0.5Cl6"), parse_formula("Li2.5Y0.5Zr0.5Br6")]
    red_v, ox_v = apply_window_rules(versions, *regressor(versions), regressor)
    assert red_v.min() - 1e-12 <= red[2] <= red_v.max() + 1e-12 and ox_v.min() - 1e-12 <= ox[2] <= ox_v.max() + 1e-12


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
