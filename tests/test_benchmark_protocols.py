"""The benchmarks' own protocols (``benchmarks/``, on the import path through ``pythonpath`` in pyproject.toml):
the doping series (which papers count as series, leave one paper out, the noise ceiling) and grouped CV."""

import numpy as np
import pandas as pd
import pytest

from predictor.composition import parse_formula
from predictor.training.evaluation import grouped_cv_scores, training_labels

from doping_series import doping_series, evaluate_leave_one_paper_out, inter_lab_spread, noise_ceiling  # benchmarks/
from protocols import evaluate_grouped_cv  # benchmarks/
from stand_ins import MeanModel

# -- the doping series (benchmarks/doping_series.py) --------------------------------------------------

@pytest.fixture(scope="module")
def series():
    return doping_series()


def test_series_are_papers_with_enough_compositions_and_spread(series):
    per_paper = series.groupby("paper")["log10_sigma"]
    assert per_paper.size().min() >= 4
    assert (per_paper.max() - per_paper.min()).min() >= 0.3
    assert not series.duplicated(["paper", "composition_key"]).any()
    assert series["paper"].nunique() == 14  # the benchmark's papers (README, benchmarks/results)


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


def test_leave_one_paper_out_never_trains_on_the_papers_compositions_or_doi():
    series = pd.DataFrame({"paper": ["10.1/a"] * 3 + ["10.1/b"] * 3, "doi": ["10.1/a"] * 3 + ["10.1/b"] * 3,
                           "formula": ["Li3YCl6", "Li3InCl6", "Li3ScCl6", "Li3YBr6", "Li3InBr6", "LiBr"],
                           "log10_sigma": [-3.3, -2.9, -3.5, -2.8, -3.0, -8.5]})
    training = pd.DataFrame({  # Li6Y2Cl12 is paper a's Li3YCl6; Li2ZrCl6 cites paper a; Li2ZnCl4 cites paper b
        "formula": ["Li6Y2Cl12", "Li2ZrCl6", "LiCl", "Li3YBr6", "Li2ZnCl4"],
        "doi": ["", "10.1/A; 10.2/x", "", "", "10.1/b"],
        "log10_sigma": [-3.1, -3.4, -15.0, -2.7, -6.5], "censored": [False, False, True, False, False],
        "censor_bound_log10": [np.nan, np.nan, -10.0, np.nan, np.nan], "group": ["g0", "g1", "g2", "g3", "g4"]})
    MeanModel.fitted_on.clear()
    result = evaluate_leave_one_paper_out(MeanModel, training, series)
    assert MeanModel.fitted_on == [["LiCl", "Li3YBr6", "Li2ZnCl4"], ["Li6Y2Cl12", "Li2ZrCl6", "LiCl"]]
    assert result["per_paper"]["paper"].tolist() == ["10.1/a", "10.1/b"]
    expected = [(-10.0 - 2.7 - 6.5) / 3] * 3 + [(-3.1 - 3.4 - 10.0) / 3] * 3  # the censored LiCl at its bound
    assert result["predictions"]["predicted"].tolist() == pytest.approx(expected)
    assert result["median_spearman"] == 0.0  # a flat prediction ranks nothing


# -- grouped CV (benchmarks/protocols.py) ------------------------------------------------------------

def test_grouped_cv_is_one_fit_read_from_its_calibration_folds():
    from predictor.composition import chemical_system
    from predictor.estimators import ConductivityRegressor

    # the chlorides of tests/test_evaluation.py's test of grouped_cv_scores
    formulas = ["Li3YCl6", "Li3InCl6", "Li3ScCl6", "Li2ZrCl6", "Li3ErCl6", "Li3HoCl6", "LiCl", "Li2ZnCl4",
                "Li3YBr6", "Li3InBr6", "LiBr", "Na3YCl6", "Na2ZrCl6", "NaCl", "Li2MgCl4", "LiAlCl4", "LiGaCl4",
                "Li3LuCl6", "Li3TbCl6", "Li3GdCl6", "Li6PS5Cl", "Li3PS4", "Li7La3Zr2O12", "Li3N"]
    table = pd.DataFrame({"formula": formulas, "log10_sigma": np.linspace(-7.0, -3.0, len(formulas)),
                          "censored": False, "source": "test", "anion_family": "chloride"})
    table["group"] = [chemical_system(parse_formula(f)) for f in table["formula"]]
    fits = []

    def make_model():
        fits.append(ConductivityRegressor(n_members=2, n_estimators=20, calibration_folds=4, input_noise=0.0))
        return fits[-1]

    result = evaluate_grouped_cv(make_model, table)
    assert len(fits) == 1  # one fit: its folds are the cross-validation
    assert len(result["per_fold"]) == 4
    read = grouped_cv_scores(fits[0], table, training_labels(table))
    pd.testing.assert_frame_equal(result["predictions"], read["predictions"])
