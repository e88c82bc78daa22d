"""The held-out protocols themselves, with stand-in models: no leakage, censored labels, the scores."""

import numpy as np
import pandas as pd
import pytest

from predictor.composition import composition_groups, parse_formula
from predictor.training.evaluation import (evaluate_obelix_split, grouped_cv_scores, obelix_split, regression_metrics,
                                           training_labels)
from predictor.training.held_out_papers import (HALIDE_FAMILIES, evaluate_held_out_papers, held_out_paper_items,
                                                held_out_paper_metrics, other_papers_median, paper_folds,
                                                repeat_measurement_scores)
from stand_ins import MeanModel


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


CHLORIDES = ["Li3YCl6", "Li3InCl6", "Li3ScCl6", "Li2ZrCl6", "Li3ErCl6", "Li3HoCl6", "LiCl", "Li2ZnCl4",
             "Li3YBr6", "Li3InBr6", "LiBr", "Na3YCl6", "Na2ZrCl6", "NaCl", "Li2MgCl4", "LiAlCl4", "LiGaCl4",
             "Li3LuCl6", "Li3TbCl6", "Li3GdCl6", "Li6PS5Cl", "Li3PS4", "Li7La3Zr2O12", "Li3N"]


def test_grouped_cv_is_read_from_the_calibration_folds_of_one_fit():
    from predictor.composition import chemical_system
    from predictor.estimators import ConductivityRegressor

    table = pd.DataFrame({"formula": CHLORIDES, "log10_sigma": np.linspace(-7.0, -3.0, len(CHLORIDES)),
                          "censored": False, "source": "test", "anion_family": "chloride"})
    table["group"] = [chemical_system(parse_formula(f)) for f in table["formula"]]
    y = training_labels(table)
    model = ConductivityRegressor(n_members=2, n_estimators=20, calibration_folds=4, input_noise=0.0)
    model.fit(table["formula"].tolist(), y, groups=table["group"])

    result = grouped_cv_scores(model, table, y)  # one fit: its folds are the cross-validation
    fold = model.held_out_["fold"]
    assert sorted(set(fold)) == [0, 1, 2, 3] and len(result["per_fold"]) == 4
    for system, folds in table.groupby("group").groups.items():
        assert len(set(fold[folds])) == 1, f"{system} is in two folds"
    held = result["predictions"]["predicted"].to_numpy()
    assert np.isfinite(held).all() and (result["predictions"]["hi90"] > result["predictions"]["lo90"]).all()
    # held out, not refitted: the final model (which saw every row) predicts its training rows differently
    assert not np.allclose(held, model.predict(CHLORIDES))


def test_cross_conformal_intervals_of_a_fold_never_see_its_residuals():
    from predictor.estimators.calibration import cross_conformal

    rng = np.random.default_rng(0)
    n = 60
    residuals, spread, distance, mean = rng.normal(0, 0.5, n), np.full(n, 0.2), rng.uniform(0, 1, n), rng.normal(-4, 1, n)
    held_out = [np.arange(k, n, 3) for k in range(3)]
    compositions = [parse_formula("Li3YCl6")] * n
    options = {"coverage": 0.9, "min_noise_std": 0.1, "level_term": False}
    before = cross_conformal(residuals, spread, distance, mean, held_out, compositions, **options)
    changed = residuals.copy()
    changed[held_out[0]] *= 10  # fold 0's residuals blow up
    after = cross_conformal(changed, spread, distance, mean, held_out, compositions, **options)
    assert np.array_equal(before["std"][held_out[0]], after["std"][held_out[0]])
    assert (after["std"][held_out[1]] > before["std"][held_out[1]]).all()
    assert np.array_equal(before["fold"][held_out[2]], np.full(len(held_out[2]), 2))


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
        "formula": ["Li3YCl6", "Li3InCl6", "Li2ZrCl6", "Li3ScCl6", "Li3ErCl6", "Li2HfCl6", "Na3YCl6"],
        "log10_sigma": [-3.0, -4.0, -5.0, -3.0, -4.0, -5.0, -6.0], "distance": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 3.0]})
    perfect = held_out_paper_metrics(predictions.assign(predicted=predictions["log10_sigma"], lo90=-20.0, hi90=0.0))
    assert perfect["all"]["mae"] == 0.0 and perfect["all"]["median_within_paper_spearman"] == 1.0
    assert perfect["all"]["papers_with_3"] == 2 and perfect["all"]["coverage90"] == 1.0
    assert perfect["far_quarter"]["n"] == 2 and perfect["per_carrier"]["Na"]["n"] == 1
    assert perfect["reported_elsewhere"]["n"] == 0  # no composition in two papers
    reversed_within = predictions.assign(predicted=[-5.0, -4.0, -3.0, -3.0, -4.0, -5.0, -6.0], lo90=np.nan, hi90=np.nan)
    scores = held_out_paper_metrics(reversed_within)["all"]
    assert scores["median_within_paper_spearman"] == 0.0  # one paper reversed, one right
    assert np.isnan(scores["coverage90"])  # no intervals


def test_other_papers_median_is_what_the_other_papers_report():
    items = pd.DataFrame({
        "paper": ["a", "b", "c", "e", "a", "d", "f"], "anion_family": ["chloride"] * 7, "carrier": ["Li"] * 7,
        # one composition in four papers, written three ways; one that only paper d reports; and one that review f
        # quotes from paper a (the same value: one measurement, not two)
        "formula": ["Li3YCl6", "Li6Y2Cl12", "Li3Y1Cl6", "Li3YCl6", "Li3InCl6", "Li2ZrCl6", "Li3InCl6"],
        "log10_sigma": [-3.0, -4.0, -5.0, -8.0, -3.0, -3.5, -3.01]})
    median = other_papers_median(items)
    assert median[:4].tolist() == [-5.0, -5.0, -4.0, -4.0]  # medians, not means, of the others
    assert np.isnan(median[4:]).all()
    scores = repeat_measurement_scores(items)
    assert scores["n"] == 4 and scores["papers"] == 4 and np.isclose(scores["mae"], (2.0 + 1.0 + 1.0 + 4.0) / 4)
    predicted = items.assign(predicted=[-3.0, -4.0, -5.0, -6.0, -3.0, -3.5, -3.0], lo90=np.nan, hi90=np.nan,
                             distance=1.0)
    assert held_out_paper_metrics(predicted)["reported_elsewhere"]["n"] == 4
