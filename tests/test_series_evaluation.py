"""The doping-series protocol: which papers count as series, how they are scored, the noise ceiling."""

import numpy as np
import pandas as pd
import pytest

from predictor.series_evaluation import doping_series, inter_lab_spread, noise_ceiling, series_metrics, training_without_paper


@pytest.fixture(scope="module")
def series():
    return doping_series()


def test_series_are_papers_with_enough_compositions_and_spread(series):
    per_paper = series.groupby("paper")["log10_sigma"]
    assert per_paper.size().min() >= 4
    assert (per_paper.max() - per_paper.min()).min() >= 0.3
    assert not series.duplicated(["paper", "composition_key"]).any()
    assert series["paper"].nunique() == 14  # the benchmark's papers (README, benchmarks/results)


def test_series_metrics_score_order_and_level():
    observed = np.array([-5.0, -4.0, -3.0, -2.0])
    assert series_metrics(observed, observed + 1.0) == pytest.approx(
        {"n": 4, "spearman": 1.0, "mae": 1.0, "span_observed": 3.0, "span_predicted": 3.0})
    assert series_metrics(observed, -observed)["spearman"] == pytest.approx(-1.0)
    assert series_metrics(observed, np.full(4, -3.5))["spearman"] == 0.0  # a flat prediction ranks nothing


def test_training_without_paper_drops_its_compositions_and_dois():
    training = pd.DataFrame({"formula": ["Li3YCl6", "Li6Y2Cl12", "Li3InCl6", "Li2ZrCl6"],
                             "doi": ["", "", "10.1/abc; 10.2/x", ""]})
    part = pd.DataFrame({"formula": ["Li3YCl6"], "doi": ["10.1/ABC"]})
    assert training_without_paper(training, part)["formula"].tolist() == ["Li2ZrCl6"]


def test_inter_lab_spread_comes_from_compositions_reported_twice():
    spread = inter_lab_spread()
    assert spread["compositions"] >= 10 and spread["pairs"] >= spread["compositions"]
    assert 0.1 < spread["median_difference"] < 2.0
    assert spread["sd"] == pytest.approx(spread["median_difference"] / 0.954)


def test_noise_ceiling_is_perfect_without_noise_and_falls_with_it(series):
    perfect = noise_ceiling(series, sd=0.0, n_draws=3)
    assert perfect["median_spearman"] == pytest.approx(1.0) and perfect["median_mae"] == 0.0
    small, large = noise_ceiling(series, 0.2, n_draws=100), noise_ceiling(series, 1.0, n_draws=100)
    assert 0.0 < large["median_spearman"] < small["median_spearman"] < 1.0
    assert large["median_mae"] == pytest.approx(0.8 * 1.0, abs=0.15)  # E|N(0, sd)| = 0.80 sd
    assert noise_ceiling(series, 0.5, n_draws=50, seed=1) == noise_ceiling(series, 0.5, n_draws=50, seed=1)
