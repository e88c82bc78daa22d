import json

import numpy as np
import pytest
from sklearn.base import clone

from predictor import CompositionError, ConductivityRegressor, ModelLoadError, parse_formula
from predictor.estimators import UncertaintyCalibration
from predictor.estimators.base import LOG10_SIGMA_CEILING


def test_fit_predict_on_plain_lists(small_model):
    new = ["Li3YCl6", "Li2.5Y0.5Zr0.5Cl6", "Na3Y0.5Er0.5Cl6"]
    mean = small_model.predict(new)
    assert mean.shape == (3,) and np.isfinite(mean).all()
    mean2, std = small_model.predict(new, return_std=True)
    np.testing.assert_array_equal(mean, mean2)
    assert (std > 0).all()
    lo, hi = small_model.predict_interval(new)
    assert (lo < mean).all() and (mean < hi).all()
    # the interval is mean ± z(0.9) std, its upper bound stopping at 0.1 S/cm
    np.testing.assert_allclose(mean - lo, 1.6448536 * std, rtol=1e-6)
    np.testing.assert_allclose(hi, np.minimum(mean + 1.6448536 * std, LOG10_SIGMA_CEILING), rtol=1e-6)


def test_same_seed_same_predictions(small_set, small_model):
    formulas, targets = small_set
    again = ConductivityRegressor(n_members=3, n_estimators=60, calibration_folds=4, random_state=0).fit(formulas, targets)
    np.testing.assert_array_equal(again.predict(formulas), small_model.predict(formulas))


@pytest.mark.slow
def test_fitting_in_processes_gives_the_same_model(small_set, small_model):
    """n_jobs only spreads the same single-thread fits over processes: same models, same calibration."""
    formulas, targets = small_set
    parallel = ConductivityRegressor(n_members=3, n_estimators=60, calibration_folds=4, random_state=0, n_jobs=2)
    parallel.fit(formulas, targets)
    new = ["Li3YCl6", "Li2.5Y0.5Zr0.5Cl6", "Na3Y0.5Er0.5Cl6"]
    for a, b in zip(parallel.predict(new, return_std=True), small_model.predict(new, return_std=True)):
        np.testing.assert_allclose(a, b, rtol=1e-9)
    assert parallel.calibration_ == small_model.calibration_
    np.testing.assert_allclose(parallel.oof_residuals_, small_model.oof_residuals_, rtol=1e-9)


def test_n_jobs_counts_processes():
    from predictor.estimators.parallel import effective_n_jobs

    assert effective_n_jobs(None) == 1 and effective_n_jobs(3) == 3
    assert effective_n_jobs(-1) >= 1 and effective_n_jobs(-2) == max(1, effective_n_jobs(-1) - 1)
    with pytest.raises(ValueError, match="n_jobs=0"):
        effective_n_jobs(0)


def test_scikit_learn_contract(small_model):
    copy = clone(small_model)
    assert copy.get_params() == small_model.get_params()
    assert not hasattr(copy, "boosters_")
    with pytest.raises(Exception, match="not fitted"):
        copy.predict(["LiCl"])


@pytest.mark.parametrize(
    "params, message",
    [({"n_members": 0}, "n_members"), ({"learning_rate": 0}, "learning_rate"), ({"coverage": 1.5}, "coverage"),
     ({"objective": "poisson"}, "objective"), ({"subsample": 0}, "subsample"), ({"huber_delta": 0}, "huber_delta")],
)
def test_bad_parameters_are_named(small_set, params, message):
    formulas, targets = small_set
    with pytest.raises(ValueError, match=message):
        ConductivityRegressor(**params).fit(formulas, targets)


def test_bad_training_input(small_set):
    formulas, targets = small_set
    with pytest.raises(ValueError, match="40 formulas but y has 39"):
        ConductivityRegressor(n_members=1, n_estimators=5).fit(formulas, targets[:-1])
    with pytest.raises(CompositionError, match="garbage"):
        ConductivityRegressor(n_members=1, n_estimators=5).fit(formulas[:-1] + ["garbage"], targets)
    with pytest.raises(ValueError, match="non-finite"):
        ConductivityRegressor(n_members=1, n_estimators=5).fit(formulas, targets[:-1] + [float("nan")])


def test_save_load_round_trip(small_model, tmp_path):
    folder = small_model.save(tmp_path / "model")
    loaded = ConductivityRegressor.load(folder)
    formulas = ["Li3YCl6", "Li6PS5Cl", "Na2ZrCl6"]
    for a, b in zip(small_model.predict_distribution(formulas).values(), loaded.predict_distribution(formulas).values()):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert loaded.get_params() == small_model.get_params()


def test_load_refuses_tampered_or_incompatible_artifacts(small_model, tmp_path):
    folder = small_model.save(tmp_path / "model")
    member = folder / "member_00.txt"
    member.write_text(member.read_text().replace("tree", "tree ", 1))
    with pytest.raises(ModelLoadError, match="does not match its hash"):
        ConductivityRegressor.load(folder)

    folder = small_model.save(tmp_path / "model2")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 999
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="format 999"):
        ConductivityRegressor.load(folder)

    with pytest.raises(ModelLoadError, match="manifest.json missing"):
        ConductivityRegressor.load(tmp_path / "nowhere")


def test_calibration_recovers_noise_and_covers():
    rng = np.random.default_rng(0)
    residuals = rng.normal(0, 0.5, 2000)
    calibration = UncertaintyCalibration.fit(residuals, np.zeros(2000), np.ones(2000), np.zeros(2000), coverage=0.9)
    fresh = rng.normal(0, 0.5, 5000)
    half = calibration.half_width(np.zeros(5000), np.ones(5000), np.zeros(5000))
    assert 0.88 < np.mean(np.abs(fresh) <= half) < 0.92
    assert calibration.std(np.zeros(1), np.ones(1), np.zeros(1))[0] == pytest.approx(0.5, rel=0.1)


def test_calibration_follows_heteroscedastic_spread():
    rng = np.random.default_rng(1)
    spread = rng.uniform(0.1, 2.0, 4000)
    residuals = rng.normal(0, 1.0, 4000) * spread
    calibration = UncertaintyCalibration.fit(residuals, spread, np.zeros(4000), np.zeros(4000))
    narrow, wide = calibration.std(np.array([0.2, 1.8]), np.zeros(2), np.zeros(2))
    assert wide > 4 * narrow
    capped = UncertaintyCalibration.fit(residuals, spread, np.zeros(4000), np.zeros(4000), max_std=0.3)
    assert capped.sigma(np.array([5.0]), np.zeros(1), np.zeros(1))[0] == pytest.approx(0.3)


def test_calibration_widens_below_the_reference_level():
    rng = np.random.default_rng(2)
    mean = rng.uniform(-10, -2, 4000)
    residuals = rng.normal(0, 1.0, 4000) * np.where(mean < -6, 2.0, 0.5)
    calibration = UncertaintyCalibration.fit(residuals, np.zeros(4000), np.zeros(4000), mean)
    fast, slow = calibration.std(np.zeros(2), np.zeros(2), np.array([-3.0, -9.0]))
    assert slow > 2.5 * fast


def test_calibration_covers_each_family_of_its_own():
    """Mondrian conformal: a family whose errors are half the others' gets intervals half as wide,
    and 90 % coverage holds within each family, not only on average."""
    from predictor.estimators.calibration import MIN_CATEGORY_SIZE

    rng = np.random.default_rng(3)
    categories = [("chloride", "halide")] * 1000 + [("non-halide", "non-halide")] * 3000 + [("iodide", "halide")] * 5
    scale = np.array([0.5] * 1000 + [1.0] * 3000 + [0.5] * 5)
    residuals = rng.normal(0, 1.0, len(scale)) * scale
    zeros = np.zeros(len(scale))
    calibration = UncertaintyCalibration.fit(residuals, zeros, zeros, zeros, level_term=False, categories=categories)
    assert set(calibration.category_quantiles) == {"chloride", "halide", "non-halide"}  # iodide: 5 < MIN_CATEGORY_SIZE
    assert 5 < MIN_CATEGORY_SIZE
    fresh = rng.normal(0, 1.0, (2, 4000)) * np.array([[0.5], [1.0]])
    for row, family in zip(fresh, (("chloride", "halide"), ("non-halide", "non-halide"))):
        factors = calibration.quantile([family] * 4000)
        half = calibration.half_width(np.zeros(4000), np.zeros(4000), np.zeros(4000), factors)
        assert 0.87 < np.mean(np.abs(row) <= half) < 0.93, family
    # a family too small for its own factor takes its parent's (halide), an unknown one the pooled factor
    halide, pooled = calibration.quantile([("iodide", "halide"), ("unknown",)])
    assert halide == calibration.category_quantiles["halide"] and pooled == calibration.conformal_quantile
    assert UncertaintyCalibration.from_dict(json.loads(json.dumps(calibration.to_dict()))) == calibration
    # a trace of Br does not make Li3YCl6 a mixed halide at once: the factor moves by a trace
    parent, trace, mixed = calibration.factors([parse_formula(f) for f in ("Li3YCl6", "Li3YCl5.99Br0.01", "Li3YCl3Br3")])
    assert parent == calibration.category_quantiles["chloride"] and mixed == calibration.category_quantiles["halide"]
    assert abs(trace - parent) <= abs(mixed - parent) * 0.01 / 6 / 0.05 + 1e-12


def test_intervals_cover_training_labels_too(small_set, small_model):
    # the noise floor keeps intervals honest where the model has seen the composition:
    # a new measurement of a training composition scatters like the labels do
    formulas, targets = small_set
    lo, hi = small_model.predict_interval(formulas)
    assert np.mean((np.array(targets) >= lo) & (np.array(targets) <= hi)) >= 0.85
    floor = small_model.calibration_.conformal_quantile * small_model.default_noise_floor
    assert (hi - lo).min() >= 2 * floor * 0.999


def test_domain_distance_matches_a_nearest_neighbour_search():
    from sklearn.neighbors import NearestNeighbors

    from predictor.estimators.domain import CHUNK, mean_knn_distance

    rng = np.random.default_rng(1)
    reference = rng.normal(size=(300, 20))
    query = rng.normal(size=(CHUNK + 50, 20))  # more than one chunk
    distance, _ = NearestNeighbors().fit(reference).kneighbors(query, n_neighbors=5)
    np.testing.assert_allclose(mean_knn_distance(query, reference, 5), distance.mean(axis=1), rtol=1e-9)
    loo, _ = NearestNeighbors().fit(reference).kneighbors(reference, n_neighbors=6)
    np.testing.assert_allclose(mean_knn_distance(reference, reference, 5, skip_nearest=True), loo[:, 1:].mean(axis=1),
                               rtol=1e-6)
