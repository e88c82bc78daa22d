import numpy as np
import pytest

from predictor.estimators import WindowRegressor
from predictor.loaders.window_labels import load_window_labels

SMALL_WINDOWS = [
    ("Li3YCl6", 0.62, 4.21), ("Li3InCl6", 2.38, 4.26), ("Li3ScCl6", 0.91, 4.26), ("Li3YBr6", 0.63, 3.11),
    ("Li2ZrCl6", 1.70, 4.23), ("Li3ErCl6", 0.60, 4.20), ("LiCl", 0.0, 4.20), ("LiBr", 0.0, 3.3),
    ("Na3YCl6", 0.51, 3.75), ("Na2ZrCl6", 1.69, 3.75), ("NaCl", 0.0, 3.9), ("Na3YBr6", 0.57, 3.36),
    ("Li7La3Zr2O12", 0.05, 2.91), ("Li6PS5Cl", 1.71, 2.01), ("Li3PS4", 1.72, 2.31), ("LiF", 0.0, 6.4),
    ("Li3AlF6", 1.1, 6.0), ("Li2ZrF6", 1.3, 6.2), ("Li3InBr6", 2.3, 3.2), ("Li10GeP2S12", 1.67, 2.14),
]


@pytest.fixture(scope="module")
def window_model():
    formulas, low, high = zip(*SMALL_WINDOWS)
    settings = {"n_members": 2, "n_estimators": 40, "calibration_folds": 4, "random_state": 0}
    return WindowRegressor(limit_params=settings).fit(list(formulas), np.column_stack([low, high]))


def test_window_regressor_predicts_both_limits_with_std(window_model):
    result = window_model.predict_distribution(["Li3YCl6", "Na3YCl6", "Li2.5Y0.5Zr0.5Cl6"])
    assert set(result) == {"reduction_limit_V", "oxidation_limit_V"}
    for prediction in result.values():
        assert prediction["mean"].shape == (3,)
        assert np.isfinite(prediction["mean"]).all() and (prediction["std"] > 0).all()


def test_window_regressor_round_trip(window_model, tmp_path):
    from predictor.estimators import WindowRegressor as Loader

    folder = window_model.save(tmp_path / "windows")
    loaded = Loader.load(folder)
    a, b = window_model.predict_distribution(["Li3InCl6"]), loaded.predict_distribution(["Li3InCl6"])
    for limit in a:
        np.testing.assert_allclose(a[limit]["mean"], b[limit]["mean"], rtol=1e-12)


def test_window_labels_are_clean():
    labels = load_window_labels()
    assert {"published", "thermodynamic"} <= set(labels["source"])
    assert not labels["composition_key"].duplicated().any()
    assert (labels["oxidation_limit_V"] - labels["reduction_limit_V"] >= 0).all()
    assert labels["oxidation_limit_V"].max() <= 7.0
    assert set(labels["carrier"]) == {"Li", "Na"}
    li3ycl6 = labels[labels["formula"] == "Li3YCl6"].iloc[0]
    assert li3ycl6["source"] == "published" and li3ycl6["reduction_limit_V"] == pytest.approx(0.62)


def test_predictor_flags_compositions_outside_the_window_models_domain(window_model, small_model):
    """Gd occurs in no window label: the window columns are still given, but flagged."""
    from predictor import Predictor

    table = Predictor(small_model, window_model).predict(["Li3YCl6", "Li3GdCl6", "YCl3"])
    notes = table["domain_notes"].tolist()
    assert "window model: elements not in the training data: Gd" in notes[1]
    assert not table.loc[1, "in_domain"] and np.isfinite(table.loc[1, "oxidation_limit_V"])
    assert "window model" not in notes[0] and "window model" not in notes[2]  # YCl3: no window reported


def test_window_regressor_clones_and_predicts_both_limits_as_columns(window_model):
    from sklearn.base import clone

    copy = clone(window_model)
    assert copy.get_params() == window_model.get_params() and not hasattr(copy, "models_")
    limits = window_model.predict(["Li3YCl6", "NaCl"])
    assert limits.shape == (2, 2) and (limits[:, 0] < limits[:, 1]).all()
    assert limits[1, 0] == 0.0  # a binary halide of the carrier is stable against the metal (window rules)


def test_window_regressor_refuses_targets_that_are_not_two_columns():
    formulas = [f for f, _, _ in SMALL_WINDOWS]
    with pytest.raises(ValueError, match="shape"):
        WindowRegressor().fit(formulas, np.zeros(len(formulas)))
    with pytest.raises(ValueError, match="shape"):
        WindowRegressor().fit(formulas, np.zeros((len(formulas), 3)))
