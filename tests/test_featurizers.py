import warnings

import numpy as np
import pytest

from predictor import parse_formula
from predictor.featurizers import CompositionFeaturizer, MagpieFeaturizer, StoichiometryFeaturizer
from predictor.featurizers.halide import halide_descriptors
from conftest import needs_shared_data

HALIDES = ["Li3YCl6", "Li3InCl6", "Li2ZrCl6", "Li2.5Y0.5Zr0.5Cl6", "Na3YCl6", "Li3YBr3Cl3", "Li1.8Zr0.8Nb0.2Cl6",
           "Na3Y0.5Er0.5Cl6", "Li3Y0.2Er0.2Ho0.2Tm0.2Lu0.2Cl6"]
OTHERS = ["Li7La3Zr2O12", "Li10GeP2S12", "Li6PS5Cl", "LiBH4", "Li2OHCl", "Li3N", "LiTaOCl4", "Li2FeCl4"]


def test_labels_are_stable_and_unique():
    labels = CompositionFeaturizer().feature_labels()
    assert len(labels) == len(set(labels)) == 132 + 5 + 22
    assert labels[0] == "MagpieData mean Number"
    assert labels[-1] == "charge_imbalance_per_anion"
    matminer = CompositionFeaturizer(("magpie", "stoichiometry")).feature_labels()
    assert matminer[0] == "MagpieData minimum Number" and len(matminer) == 132 + 6


def test_continuous_statistics_by_hand():
    # Li3YCl6: fractions Li 0.3, Y 0.1, Cl 0.6; Pauling electronegativities 0.98, 1.22, 3.16
    features = dict(zip(CompositionFeaturizer().feature_labels(), CompositionFeaturizer().transform(["Li3YCl6"])[0]))
    assert features["MagpieData low_tail Electronegativity"] == pytest.approx(0.98)  # lowest 10 % of atoms: Li
    assert features["MagpieData high_tail Electronegativity"] == pytest.approx(3.16)
    weights = np.array([0.3, 0.1, 0.6]) ** 4
    assert features["MagpieData soft_mode Electronegativity"] == pytest.approx(
        np.dot(weights / weights.sum(), [0.98, 1.22, 3.16]))
    # a dopant below the tail share: 5 % of the atoms of a lower value fill half the tail
    tail = dict(zip(CompositionFeaturizer().feature_labels(), CompositionFeaturizer().transform(["Cs1Cl19"])[0]))
    assert tail["MagpieData low_tail Electronegativity"] == pytest.approx((0.05 * 0.79 + 0.05 * 3.16) / 0.1)


TRACE_PAIRS = [  # parent, the parent with 0.001 of its framework cation (or 0.01 of its anion) replaced
    ("Na3YCl6", "Na3Y0.999Bi0.001Cl6"), ("Li3InCl6", "Li2.999In0.999Zr0.001Cl6"), ("Li3YCl6", "Li3YCl5.99Br0.01"),
    ("Li2FeCl4", "Li2Fe0.999Mn0.001Cl4"), ("Li6PS5Cl", "Li6PS4.99O0.01Cl"), ("Li2ZrCl6", "Li1.999Zr0.999Nb0.001Cl6"),
    ("LiNbOCl4", "LiNbOCl3.99F0.01"), ("Li2OHCl", "Li2OHCl0.99I0.01"),
]


@pytest.mark.parametrize("parent, doped", TRACE_PAIRS)
def test_descriptors_move_by_a_trace_with_a_trace_dopant(parent, doped):
    featurizer = CompositionFeaturizer()
    a, b = featurizer.transform([parent, doped])
    assert np.array_equal(np.isfinite(a), np.isfinite(b))
    # each descriptor moves by less than 2 % of its spread over a set of electrolytes
    reference = featurizer.transform(HALIDES + OTHERS)
    spread = np.nanmax(reference, axis=0) - np.nanmin(reference, axis=0)
    relative = np.abs(b - a) / np.where(spread > 1e-9, spread, 1.0)
    finite = np.isfinite(a)
    assert np.all(relative[finite] < 0.02), [
        (label, x, y) for label, x, y, r in zip(featurizer.feature_labels(), a, b, relative) if r >= 0.02]


@pytest.mark.parametrize("parent, host, dopant", [("Na3YCl6", "Y", "Bi"), ("Li3InCl6", "In", "Zr"),
                                                  ("Li3YCl6", "Cl", "Br")])
def test_descriptors_tend_to_the_parents_as_the_dopant_vanishes(parent, host, dopant):
    featurizer = CompositionFeaturizer()
    reference = featurizer.transform(HALIDES + OTHERS)
    spread = np.nanmax(reference, axis=0) - np.nanmin(reference, axis=0)
    spread = np.where(spread > 1e-9, spread, 1.0)
    base = featurizer.transform([parent])[0]
    gaps = []
    for x in (1e-2, 1e-3, 1e-4):
        amounts = parse_formula(parent).get_el_amt_dict()
        amounts[host] -= x
        amounts[dopant] = x
        if dopant == "Zr":  # Zr4+ for In3+, charge balanced through the carrier
            amounts["Li"] -= x
        doped = featurizer.transform(["".join(f"{el}{amount:.6f}" for el, amount in amounts.items())])[0]
        gaps.append(np.nanmax(np.abs(doped - base) / spread))
    # the largest relative change shrinks in proportion to the dopant amount
    assert gaps[1] < 0.2 * gaps[0] and gaps[2] < 0.2 * gaps[1] and gaps[2] < 1e-3, gaps


def test_halide_descriptor_values():
    li3ycl6 = halide_descriptors(parse_formula("Li3YCl6"))
    assert li3ycl6["carrier_per_anion"] == pytest.approx(0.5)
    assert li3ycl6["cation_vacancy_per_anion"] == pytest.approx(1 / 3)  # Y : Li : vacancy = 1 : 3 : 2
    assert li3ycl6["framework_oxidation_state_mean"] == pytest.approx(3)
    assert li3ycl6["framework_radius_mean_A"] == pytest.approx(0.90)  # Shannon Y3+ (VI)
    assert li3ycl6["mixed_anion_fraction"] == 0

    assert li3ycl6["framework_mixing"] == 0 and li3ycl6["framework_per_anion"] == pytest.approx(1 / 6)

    doped = halide_descriptors(parse_formula("Li2.5Y0.5Zr0.5Cl6"))
    assert doped["framework_oxidation_state_mean"] == pytest.approx(3.5)
    assert doped["framework_oxidation_state_var"] == pytest.approx(0.25)
    assert doped["framework_mixing"] == pytest.approx(0.5)
    assert doped["framework_radius_mismatch"] > 0
    assert doped["charge_imbalance_per_anion"] == pytest.approx(0)

    # one framework element takes the charge-balance state; a dopant shifts it by a trace
    assert halide_descriptors(parse_formula("Li2FeCl4"))["framework_oxidation_state_mean"] == pytest.approx(2)
    assert halide_descriptors(parse_formula("Li2Fe0.99Mn0.01Cl4"))["framework_oxidation_state_mean"] == pytest.approx(2)
    # a trace of O does not turn the S of a thiophosphate into a cation
    assert halide_descriptors(parse_formula("Li6PS4.99O0.01Cl"))["anion_radius_mean_A"] == pytest.approx(
        halide_descriptors(parse_formula("Li6PS5Cl"))["anion_radius_mean_A"], abs=0.01)

    mixed = halide_descriptors(parse_formula("Li3YBr3Cl3"))
    assert mixed["mixed_anion_fraction"] == pytest.approx(0.5)
    assert mixed["anion_polarisability_mean_A3"] > halide_descriptors(parse_formula("Li3YCl6"))["anion_polarisability_mean_A3"]
    assert halide_descriptors(parse_formula("Na3YCl6"))["carrier_is_Na"] == 1


def test_matches_matminer_to_1e_9():
    from matminer.featurizers.composition import ElementProperty, Stoichiometry

    compositions = [parse_formula(f) for f in HALIDES + OTHERS]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        magpie = np.array([ElementProperty.from_preset("magpie").featurize(c) for c in compositions])
        stoichiometry = np.array([Stoichiometry().featurize(c) for c in compositions])
    np.testing.assert_allclose(MagpieFeaturizer().transform(compositions), magpie, atol=1e-9, rtol=0)
    np.testing.assert_allclose(StoichiometryFeaturizer().transform(compositions), stoichiometry, atol=1e-9, rtol=0)
    assert MagpieFeaturizer().feature_labels() == ElementProperty.from_preset("magpie").feature_labels()


def _assert_matches_matminer(formulas):
    from matminer.featurizers.composition import ElementProperty, Stoichiometry

    compositions = [parse_formula(f) for f in sorted(set(formulas))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        magpie = np.array(ElementProperty.from_preset("magpie").featurize_many(compositions, pbar=False))
        stoichiometry = np.array(Stoichiometry().featurize_many(compositions, pbar=False))
    np.testing.assert_allclose(MagpieFeaturizer().transform(compositions), magpie, atol=1e-9, rtol=0)
    np.testing.assert_allclose(StoichiometryFeaturizer().transform(compositions), stoichiometry, atol=1e-9, rtol=0)


@pytest.mark.slow
def test_matches_matminer_on_the_curated_compositions():
    from predictor.loaders.curated import read_conductivity_table, read_window_table

    _assert_matches_matminer([*read_conductivity_table()["formula"], *read_window_table()["formula"]])


@needs_shared_data
@pytest.mark.slow
def test_matches_matminer_on_every_training_composition():
    from predictor.loaders.combined import load_conductivity_data

    _assert_matches_matminer(load_conductivity_data().table["formula"].astype(str))


def test_unknown_feature_set_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown"):
        CompositionFeaturizer(feature_sets=("magpie", "nonsense")).transform(["LiCl"])
