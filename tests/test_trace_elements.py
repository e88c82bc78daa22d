"""Predictions of compositions with trace elements: pinned to the composition without them."""

import numpy as np
import pytest

from predictor import parse_formula
from predictor.estimators.gbm.model import ConductivityRegressor
from predictor.estimators.graph.regressor import GraphConductivityRegressor
from predictor.estimators.trace_elements import TraceElementPinning, trace_element_versions, without_trace_elements


def _jumpy_log10_sigma(compositions):
    return np.array([-4.0 + (c["N"] > 0 or c["Br"] > 0) + 0.5 * (c["I"] > 0) - 2.0 * (c["Zr"] > 0)
                     for c in compositions])


class _JumpyRegressor:
    """log10 sigma -4, plus 1 decade as soon as any N or Br is present, 0.5 for any I and -2 for
    any Zr (a regressor that jumps); counts its calls."""

    calls = 0

    def predict_mean(self, X, features=None):
        self.calls += 1
        return _jumpy_log10_sigma(X)

    def predict_distribution(self, X, features=None):
        self.calls += 1
        mean = _jumpy_log10_sigma(X)
        return {"mean": mean, "std": np.full(len(X), 0.5), "lo": mean - 0.8, "hi": mean + 0.8,
                "ensemble_std": np.full(len(X), 0.2), "distance": np.zeros(len(X))}


class _Pinned(TraceElementPinning, _JumpyRegressor):
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
    _, weight = without_trace_elements(parse_formula("Li3YCl5.85Br0.15"), power=1)
    assert weight == pytest.approx(0.5)
    _, weight = without_trace_elements(parse_formula("Li3YCl5.85Br0.15"))
    assert weight == pytest.approx(0.75)  # the window limits' weight (rule 4): 1 - (share / 5 %)^2


def test_compositions_without_trace_elements_keep_the_regressors_prediction():
    formulas = ["Li3YCl6", "Li3YBr6", "Li3YCl3Br3", "LiNbOCl4", "Li6PS5Cl", "YCl3"]
    result, _ = _predict(formulas)
    assert result["mean"] == pytest.approx(_JumpyRegressor().predict_mean([parse_formula(f) for f in formulas]))


def test_every_conductivity_family_pins_and_only_once():
    assert issubclass(ConductivityRegressor, TraceElementPinning)
    assert issubclass(GraphConductivityRegressor, TraceElementPinning)
    model = _Pinned()
    model.predict_distribution([parse_formula(f) for f in ("Li3YCl6", "Li3.02YCl5.99N0.01", "Li3YCl5.9Br0.1")])
    assert model.calls == 2  # the batch, then all versions without trace anions at once


def test_several_trace_anions_stay_continuous_when_one_reaches_five_percent():
    # I at 2 % of the anion sites beside O crossing 5 %: the version without I and O loses its
    # weight as O reaches 5 %, so nothing jumps when O stops being a trace
    below, _ = _predict(["Li3.2999InCl5.5801I0.12O0.29995"])
    above, _ = _predict(["Li3.3001InCl5.5799I0.12O0.30005"])
    assert abs(below["mean"][0] - above["mean"][0]) < 1e-3
    # with both traces small, each counts with its own share: N at 1/30 of 5 %, Br at 1/3
    result, _ = _predict(["Li3.02YCl5.89Br0.1N0.01"])
    versions, own = trace_element_versions(parse_formula("Li3.02YCl5.89Br0.1N0.01"), power=1)
    assert sum(w for _, w in versions) + own == pytest.approx(1.0)
    assert len(versions) == 3
    assert result["mean"][0] == pytest.approx(-4.0 + 1.0 - (1 - 0.01 / 6 / 0.05) * (1 - 0.1 / 6 / 0.05), abs=1e-3)


def test_a_trace_cation_is_given_back_to_its_host():
    parent, weight = without_trace_elements(parse_formula("Li2.999In0.999Zr0.001Cl6"), power=1)
    assert parent.almost_equals(parse_formula("Li3InCl6"))
    assert weight == pytest.approx(1 - 0.001 / 0.05)
    # 4 % of the framework sites: the aliovalent series Li3-xY1-xZrxCl6 leans on Li3YCl6 with weight 0.2
    parent, weight = without_trace_elements(parse_formula("Li2.96Y0.96Zr0.04Cl6"), power=1)
    assert parent.almost_equals(parse_formula("Li3YCl6"))
    assert weight == pytest.approx(0.2)
    # an alkali or alkaline-earth dopant shares the cation site too, the carrier balancing the charge
    parent, _ = without_trace_elements(parse_formula("Li3.001Y0.999Ca0.001Cl6"), power=1)
    assert parent.almost_equals(parse_formula("Li3YCl6"))
    # a dopant in a high oxidation state: the host keeps its own, the dopant carries the rest
    parent, _ = without_trace_elements(parse_formula("Na2.996Y0.999Mn0.001Cl6"), power=1)
    assert parent.almost_equals(parse_formula("Na3YCl6"))
    # ... within its own range of states: the version of an off-stoichiometric parent tends to that parent
    parent, _ = without_trace_elements(parse_formula("Li3.0999Y0.9999Zr0.0001Cl6"), power=1)
    assert parent.almost_equals(parse_formula("Li3.1YCl6"), rtol=1e-6)  # Zr counted at +4, its only common state


def test_a_trace_cation_moves_the_prediction_in_proportion_to_its_share():
    result, _ = _predict(["Li3InCl6", "Li2.999In0.999Zr0.001Cl6", "Li2.975In0.975Zr0.025Cl6", "Li2.9In0.9Zr0.1Cl6"])
    assert result["mean"] == pytest.approx([-4.0, -4.0 - 2.0 * 0.001 / 0.05, -5.0, -6.0])


def test_a_site_s_main_element_and_a_lone_cation_are_not_traces():
    for formula in ("Li3YCl6", "Li2.5Y0.5Zr0.5Cl6", "LiCl", "Li0.997Y0.001Cl", "Li3InCl5.6Br0.4"):
        assert trace_element_versions(parse_formula(formula)) == ([], 1.0), formula
