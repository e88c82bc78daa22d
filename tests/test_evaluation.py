"""The held-out protocols themselves, with stand-in models: no leakage, censored labels, the scores."""

import numpy as np
import pandas as pd
import pytest

from predictor.composition import composition_groups, parse_formula
from predictor.evaluation import evaluate_grouped_cv, evaluate_obelix_split, obelix_split, regression_metrics, training_labels
from predictor.series_evaluation import (HALIDE_FAMILIES, evaluate_held_out_papers, held_out_paper_items,
                                         held_out_paper_metrics, paper_folds)


class MeanModel:
    """Predicts the mean of its training targets, ±1 as its interval; remembers what it was fitted on."""

    fitted_on: list = []

    def fit(self, X, y, groups=None):
        self.mean_ = float(np.mean(y))
        MeanModel.fitted_on.append(list(X))
        return self

    def predict_distribution(self, X):
        mean = np.full(len(X), self.mean_)
        return {"mean": mean, "lo": mean - 1.0, "hi": mean + 1.0, "std": np.full(len(X), 0.6)}

    def predict(self, X):
        return self.predict_distribution(X)["mean"]


def _table(rows):
    """A training table of (formula, log10 sigma, doi, split, censored, bound) rows."""
    frame = pd.DataFrame(rows, columns=["formula", "log10_sigma", "doi", "split", "censored", "censor_bound_log10"])
    frame["group"] = [f"g{k}" for k in range(len(frame))]
    frame["composition_key"] = [str(g) for g in composition_groups(parse_formula(f) for f in frame["formula"])]
    frame["anion_family"], frame["source"] = "chloride", "test"
    return frame


TABLE = _table([
    ("Li3YCl6", -3.3, "10.1/a", "train", False, np.nan), ("Li3InCl6", -2.9, "10.1/b", "test", False, np.nan),
    ("Li6Y2Cl12", -3.1, "10.1/c", "extra", False, np.nan),  # the training Li3YCl6 again
    ("Li2In2/3Cl4", -3.0, "10.1/x", "extra", False, np.nan),  # the test Li3InCl6, rounded: leaks by composition
    ("Li2ZrCl6", -3.4, "10.1/B", "extra", False, np.nan),  # shares the test entry's DOI: leaks by paper
    ("LiCl", -15.0, "10.1/d", "train", True, -10.0), ("Li2ZnCl4", -6.5, "10.1/e", "extra", False, np.nan),
])


def test_obelix_split_leaves_out_test_compositions_and_their_papers():
    train, test = obelix_split(TABLE, extra_sources=True)
    assert test["formula"].tolist() == ["Li3InCl6"]
    assert train["formula"].tolist() == ["Li3YCl6", "LiCl", "Li6Y2Cl12", "Li2ZnCl4"]
    assert obelix_split(TABLE, extra_sources=False)[0]["formula"].tolist() == ["Li3YCl6", "LiCl"]


def test_censored_labels_take_their_bound_unless_told_otherwise():
    assert training_labels(TABLE)[5] == -10.0
    assert training_labels(TABLE, -15.0)[5] == -15.0
    MeanModel.fitted_on.clear()
    result = evaluate_obelix_split(MeanModel, TABLE, extra_sources=False)
    assert MeanModel.fitted_on == [["Li3YCl6", "LiCl"]]
    assert result["all"]["mae"] == pytest.approx(abs((-3.3 - 10.0) / 2 - (-2.9)))


def test_censored_coverage_counts_an_interval_reaching_below_the_bound():
    observed, predicted = np.array([-10.0, -3.0]), np.array([-9.5, -3.5])
    bounds = np.array([-10.0, np.nan])
    m = regression_metrics(observed, predicted, predicted - 0.6, predicted + 0.6, bounds)
    assert m["coverage90"] == 1.0 and m["coverage90_literal"] == 1.0
    m = regression_metrics(observed, np.array([-8.0, -3.5]), np.array([-9.0, -4.1]), np.array([-7.0, -2.9]), bounds)
    assert m["coverage90"] == 0.5  # its interval lies wholly above the detection bound: not consistent


def test_grouped_cv_holds_out_whole_chemical_systems():
    from predictor.estimators.base import grouped_folds

    MeanModel.fitted_on.clear()
    table = pd.concat([TABLE] * 2, ignore_index=True).assign(group=[f"g{k % 5}" for k in range(14)])
    result = evaluate_grouped_cv(MeanModel, table, n_splits=5)
    for fitted, (train, held) in zip(MeanModel.fitted_on, grouped_folds(len(table), table["group"], 5)):
        assert fitted == table["formula"].iloc[train].tolist()
        assert not set(table["group"].iloc[train]) & set(table["group"].iloc[held])
    assert np.isfinite(result["predictions"]["predicted"]).all()


# -- held-out halide papers ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def items():
    return held_out_paper_items()


def test_held_out_items_are_the_curated_halide_papers(items):
    assert set(items["anion_family"]) <= set(HALIDE_FAMILIES)
    assert not items.duplicated(["paper", "formula"]).any()
    assert len(items) == 234 and items["paper"].nunique() == 105  # the benchmark's (README, benchmarks/results)
    folds = paper_folds(items["paper"], 10, seed=0)
    assert set().union(*folds) == set(items["paper"]) and sum(len(f) for f in folds) == items["paper"].nunique()
    assert folds == paper_folds(items["paper"], 10, seed=0) != paper_folds(items["paper"], 10, seed=1)


def test_held_out_papers_never_train_on_a_held_out_composition_or_paper(items):
    from predictor.loaders.combined import load_conductivity_data

    training = load_conductivity_data(sources=("curated",)).table
    MeanModel.fitted_on.clear()
    result = evaluate_held_out_papers(MeanModel, training, items, n_folds=10)
    assert (result["fold"] >= 0).all() and np.isfinite(result["predicted"]).all()
    for k, fitted in enumerate(MeanModel.fitted_on):
        held = result[result["fold"] == k]
        fitted_rows = training[training["formula"].isin(fitted)]
        groups = composition_groups(parse_formula(f) for f in [*held["formula"], *fitted_rows["formula"]])
        assert not set(groups[:len(held)]) & set(groups[len(held):]), k
        dois = {d.lower() for d in held["doi"] if d}
        cited = {p.strip().lower() for text in fitted_rows["doi"] for p in str(text).split(";") if p.strip()}
        assert not dois & cited, k


def test_held_out_paper_scores():
    predictions = pd.DataFrame({
        "paper": ["a"] * 3 + ["b"] * 3 + ["c"], "anion_family": ["chloride"] * 7, "carrier": ["Li"] * 6 + ["Na"],
        "log10_sigma": [-3.0, -4.0, -5.0, -3.0, -4.0, -5.0, -6.0], "distance": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 3.0]})
    perfect = held_out_paper_metrics(predictions.assign(predicted=predictions["log10_sigma"], lo90=-20.0, hi90=0.0))
    assert perfect["all"]["mae"] == 0.0 and perfect["all"]["median_within_paper_spearman"] == 1.0
    assert perfect["all"]["papers_with_3"] == 2 and perfect["all"]["coverage90"] == 1.0
    assert perfect["far_quarter"]["n"] == 2 and perfect["per_carrier"]["Na"]["n"] == 1
    reversed_within = predictions.assign(predicted=[-5.0, -4.0, -3.0, -3.0, -4.0, -5.0, -6.0], lo90=np.nan, hi90=np.nan)
    scores = held_out_paper_metrics(reversed_within)["all"]
    assert scores["median_within_paper_spearman"] == 0.0  # one paper reversed, one right
    assert np.isnan(scores["coverage90"])  # no intervals
