import warnings

import numpy as np
import pytest

from predictor import parse_formula
from predictor.featurizers import CompositionFeaturizer, HalideFeaturizer, MagpieFeaturizer, StoichiometryFeaturizer
from predictor.featurizers.halide import halide_descriptors
from conftest import needs_shared_data

HALIDES = ["Li3YCl6", "Li3InCl6", "Li2ZrCl6", "Li2.5Y0.5Zr0.5Cl6", "Na3YCl6", "Li3YBr3Cl3", "Li1.8Zr0.8Nb0.2Cl6",
           "Na3Y0.5Er0.5Cl6", "Li3Y0.2Er0.2Ho0.2Tm0.2Lu0.2Cl6"]
OTHERS = ["Li7La3Zr2O12", "Li10GeP2S12", "Li6PS5Cl", "LiBH4", "Li2OHCl", "Li3N", "LiTaOCl4", "Li2FeCl4"]


def test_labels_are_stable_and_unique():
    labels = CompositionFeaturizer().feature_labels()
    assert len(labels) == len(set(labels)) == 132 + 6 + 22
    assert labels[0] == "MagpieData minimum Number"
    assert labels[-1] == "charge_imbalance_per_anion"


def test_halide_features_finite_for_halides():
    features = HalideFeaturizer().transform(HALIDES)
    assert features.shape == (len(HALIDES), 22)
    assert np.isfinite(features).all()


def test_features_do_not_depend_on_formula_scaling():
    featurizer = CompositionFeaturizer()
    a, b = featurizer.transform(["Li3YCl6", "Li6Y2Cl12"])
    np.testing.assert_allclose(a, b, rtol=1e-12, equal_nan=True)


def test_halide_descriptor_values():
    li3ycl6 = halide_descriptors(parse_formula("Li3YCl6"))
    assert li3ycl6["carrier_per_anion"] == pytest.approx(0.5)
    assert li3ycl6["cation_vacancy_per_anion"] == pytest.approx(1 / 3)  # Y : Li : vacancy = 1 : 3 : 2
    assert li3ycl6["framework_oxidation_state_mean"] == pytest.approx(3)
    assert li3ycl6["framework_radius_mean_A"] == pytest.approx(0.90)  # Shannon Y3+ (VI)
    assert li3ycl6["framework_entropy_R"] == 0 and li3ycl6["mixed_anion_fraction"] == 0

    doped = halide_descriptors(parse_formula("Li2.5Y0.5Zr0.5Cl6"))
    assert doped["framework_oxidation_state_mean"] == pytest.approx(3.5)
    assert doped["framework_entropy_R"] == pytest.approx(np.log(2))
    assert doped["framework_radius_mismatch"] > 0
    assert doped["charge_imbalance_per_anion"] == pytest.approx(0)

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


def test_matches_matminer_on_the_curated_compositions():
    from predictor.loaders.curated import read_conductivity_table, read_window_table

    _assert_matches_matminer([*read_conductivity_table()["formula"], *read_window_table()["formula"]])


@needs_shared_data
def test_matches_matminer_on_every_training_composition():
    from predictor.loaders.combined import load_conductivity_data

    _assert_matches_matminer(load_conductivity_data().table["formula"].astype(str))


def test_unknown_feature_set_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown"):
        CompositionFeaturizer(feature_sets=("magpie", "nonsense")).transform(["LiCl"])
