"""Conductivity of compositions with trace anions: pinned to the composition without them."""

import numpy as np
import pytest

from predictor import parse_formula
from predictor.estimators.trace_anions import TraceAnionPinning, without_trace_anions


def _jumpy_log10_sigma(compositions):
    return np.array([-4.0 + (c["N"] > 0 or c["Br"] > 0) for c in compositions])


class _JumpyRegressor:
    """log10 sigma -4, plus 1 decade as soon as any N or Br is present (a regressor that jumps)."""

    def predict_mean(self, X, features=None):
        return _jumpy_log10_sigma(X)

    def predict_distribution(self, X, features=None):
        mean = _jumpy_log10_sigma(X)
        return {"mean": mean, "std": np.full(len(X), 0.5), "lo": mean - 0.8, "hi": mean + 0.8,
                "ensemble_std": np.full(len(X), 0.2), "distance": np.zeros(len(X))}


class _Pinned(TraceAnionPinning, _JumpyRegressor):
    pass


def _predict(formulas):
    model = _Pinned()
    compositions = [parse_formula(f) for f in formulas]
    return model.predict_distribution(compositions), model.predict_mean(compositions)


def test_a_trace_anion_moves_log10_sigma_in_proportion_to_its_share():
    # 0.01 N on 6 anion sites is 1/30 of the 5 % over which the regressor's step counts in full
    result, mean = _predict(["Li3YCl6", "Li3.02YCl5.99N0.01", "Li3YCl5.85Br0.15", "Li3YCl5.7Br0.3", "Li3YCl3Br3"])
    assert result["mean"] == pytest.approx([-4.0, -4.0 + (0.01 / 6) / 0.05, -3.5, -3.0, -3.0])
    assert mean == pytest.approx(result["mean"])
    # the interval moves with the mean; the standard deviation and spread are the regressor's
    assert result["hi"] - result["mean"] == pytest.approx(np.full(5, 0.8))
    assert result["std"] == pytest.approx(np.full(5, 0.5))


def test_pinning_is_continuous_at_five_percent_of_the_anion_sites():
    below, _ = _predict(["Li3YCl5.7001Br0.2999"])
    above, _ = _predict(["Li3YCl5.6999Br0.3001"])
    assert abs(below["mean"][0] - above["mean"][0]) < 1e-3


def test_conductivity_weight_is_linear_in_the_share():
    _, weight = without_trace_anions(parse_formula("Li3YCl5.85Br0.15"), power=1)
    assert weight == pytest.approx(0.5)
    _, weight = without_trace_anions(parse_formula("Li3YCl5.85Br0.15"))
    assert weight == pytest.approx(0.75)  # the window limits' weight (rule 4): 1 - (share / 5 %)^2


def test_compositions_without_trace_anions_keep_the_regressors_prediction():
    formulas = ["Li3YCl6", "Li3YBr6", "Li3YCl3Br3", "LiNbOCl4", "Li6PS5Cl", "YCl3"]
    result, _ = _predict(formulas)
    assert result["mean"] == pytest.approx(_JumpyRegressor().predict_mean([parse_formula(f) for f in formulas]))
