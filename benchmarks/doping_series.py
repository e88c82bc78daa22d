"""Doping-series benchmark: does the conductivity model rank a held-out paper's series?

Leave one paper out (its compositions and its DOI), fit on everything else, predict the
paper's compositions, score within the paper (Spearman rank correlation and MAE in log10 S/cm);
the medians over papers are the headline (the protocol: below). The reference, measured in the
same run on the same folds, is matminer's Magpie descriptors with a random forest (the
descriptors computed by :class:`predictor.featurizers.MagpieFeaturizer`, identical to
matminer's to 1e-9, as the tests check).

    python benchmarks/doping_series.py [--jobs 2] [--models shipped graph reference]

``graph`` is the graph-network family (shipped settings, pretrained descriptor); with both
``shipped`` and ``graph`` in the results, ``average`` (the mean of their predictions, the
family average of ``benchmarks/model_families.py``) is scored too. A run of some models keeps
the saved results of the others.

It also prints what lab-to-lab noise alone allows: the spread between two papers' values of one
composition (:func:`inter_lab_spread`) and the scores of a model that knew every composition's
value, measured against a lab with that noise (:func:`noise_ceiling`).

Writes ``benchmarks/results/doping_series.json`` (medians, per-paper tables, noise ceiling, date)
and ``benchmarks/results/doping_series_predictions.csv``. Needs the third-party data directory
(the training data); the uncertainty calibration is skipped (it does not change the mean).

The protocol (:func:`evaluate_leave_one_paper_out`, defined here with :func:`doping_series`,
:func:`inter_lab_spread` and :func:`noise_ceiling`; ``tests/test_benchmark_protocols.py`` tests
them): a user's doping series (Li3-xY1-xZrxCl6, Li3InBr6-xClx, ...) comes from a lab the model has
never seen. For each paper of the curated dataset that reports a series (at least
``min_compositions`` distinct room-temperature compositions spanning at least ``min_span``
decades), drop the paper (every composition it reports and every training row that shares its
DOI: :func:`predictor.training.held_out_papers.training_without_paper`), fit on everything else,
predict the paper's compositions and score within the paper
(:func:`predictor.training.held_out_papers.series_metrics`): Spearman rank correlation (does the
model order the series?) and MAE (log10 S/cm, against the paper's own values). The reports that
count are those of the held-out-papers protocol (:mod:`predictor.training.held_out_papers`), but
review tables (rows whose reference is a review's table rather than a primary paper) are left
out, since their compositions come from many labs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor

from predictor.composition import composition_key, parse_formula
from predictor.featurizers import MagpieFeaturizer
from predictor.loaders.combined import load_conductivity_data
from predictor.paths import models_dir
from predictor.training.evaluation import training_labels
from predictor.training.held_out_papers import room_temperature_reports, series_metrics, training_without_paper
from predictor.training.pipeline import TrainConfig, pretrained_weights

log = logging.getLogger(__name__)

RESULTS = Path(__file__).parent / "results"
MIN_COMPOSITIONS = 4
MIN_SPAN_LOG10 = 0.3


# -- the protocol -----------------------------------------------------------------------------

def doping_series(table: pd.DataFrame | None = None, min_compositions: int = MIN_COMPOSITIONS,
                  min_span: float = MIN_SPAN_LOG10) -> pd.DataFrame:
    """The papers' series of the curated conductivity table, one row per paper and composition.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        The curated conductivity reports (default: ``datasets/halide_conductivity.csv``).
    min_compositions : int, default=4
        Distinct room-temperature compositions a paper needs to count as a series.
    min_span : float, default=0.3
        Spread (max - min of log10 sigma, decades) a series needs.

    Returns
    -------
    pandas.DataFrame
        Columns ``paper`` (DOI or reference), ``doi``, ``formula``, ``composition_key``,
        ``log10_sigma`` (log10 S/cm at room temperature: the median of the paper's reports of
        that composition) and ``n_reports``.
    """
    reports = room_temperature_reports(table)
    first_key: dict[int, str] = {}
    for group, formula in zip(reports["composition_group"], reports["formula"]):
        if group not in first_key:
            first_key[group] = composition_key(parse_formula(formula))
    reports = reports.assign(composition_key=[first_key[g] for g in reports["composition_group"]])
    rows = []
    for paper, group in reports.groupby("paper", sort=True):
        per_composition = group.groupby("composition_key", sort=False)
        values = per_composition["log10_sigma_25"].median()
        if len(values) < min_compositions or values.max() - values.min() < min_span:
            continue
        for key, value in values.items():
            members = per_composition.get_group(key)
            rows.append({"paper": paper, "doi": str(members["doi"].iloc[0] or ""), "formula": members["formula"].iloc[0],
                         "composition_key": key, "log10_sigma": float(value), "n_reports": len(members)})
    return pd.DataFrame(rows, columns=["paper", "doi", "formula", "composition_key", "log10_sigma", "n_reports"])


def inter_lab_spread(table: pd.DataFrame | None = None) -> dict[str, float]:
    """How much two papers' values of the same composition differ (log10 S/cm).

    Over the compositions of the curated table that at least two papers report at room
    temperature (each paper's median report), every pair of papers' values: ``median_difference``
    is the median absolute difference, ``sd`` the standard deviation of Gaussian lab-to-lab
    noise with that median difference (median |difference| = 0.954 sd), robust to the outlying
    reports that processing produces; ``compositions`` and ``pairs`` count what it rests on.
    """
    reports = room_temperature_reports(table)
    per_paper = reports.groupby(["composition_group", "paper"])["log10_sigma_25"].median()
    differences = []
    for _, values in per_paper.groupby(level="composition_group"):
        v = values.to_numpy()
        differences += [abs(a - b) for i, a in enumerate(v) for b in v[i + 1:]]
    n_compositions = int((per_paper.groupby(level="composition_group").size() >= 2).sum())
    median = float(np.median(differences)) if differences else float("nan")
    return {"median_difference": median, "sd": median / 0.954, "compositions": n_compositions,
            "pairs": len(differences)}


def noise_ceiling(series: pd.DataFrame, sd: float, n_draws: int = 2000, seed: int = 0) -> dict[str, float]:
    """What a model that knew every composition's value would score against a lab with noise ``sd``.

    Each draw adds independent Gaussian noise of standard deviation ``sd`` (log10 S/cm) to
    every composition of every series (another lab measuring the same compositions) and scores
    the noiseless values against the noisy ones with :func:`series_metrics`; returns the mean
    over draws of the median within-paper Spearman and MAE, and the 5-95 % range of the
    median Spearman: the scores a perfect composition model would get, limited by lab noise alone.
    """
    rng = np.random.default_rng(seed)
    papers = [part["log10_sigma"].to_numpy(dtype=float) for _, part in series.groupby("paper", sort=False)]
    spearmans, maes = np.empty(n_draws), np.empty(n_draws)
    for draw in range(n_draws):
        scores = [series_metrics(values + rng.normal(0.0, sd, len(values)), values) for values in papers]
        spearmans[draw] = np.median([score["spearman"] for score in scores])
        maes[draw] = np.median([score["mae"] for score in scores])
    return {"sd": float(sd), "median_spearman": float(spearmans.mean()), "median_mae": float(maes.mean()),
            "median_spearman_5": float(np.quantile(spearmans, 0.05)),
            "median_spearman_95": float(np.quantile(spearmans, 0.95))}


def _fit_and_predict(make_model: Callable, training: pd.DataFrame, series: pd.DataFrame,
                     censored_log10_sigma: float | None) -> np.ndarray:
    train = training_without_paper(training, series)
    model = make_model().fit(train["formula"].tolist(), training_labels(train, censored_log10_sigma),
                             groups=train["group"])
    return np.asarray(model.predict(series["formula"].tolist()), dtype=float)


def evaluate_leave_one_paper_out(make_model: Callable, training: pd.DataFrame, series: pd.DataFrame | None = None,
                                 censored_log10_sigma: float | None = None, n_jobs: int = 1) -> dict:
    """Leave each paper out, fit on the rest, score the paper's series.

    Parameters
    ----------
    make_model : callable
        Returns a fresh, unfitted regressor with ``fit(formulas, y, groups=...)`` and
        ``predict(formulas)`` (log10 S/cm). Must be picklable when ``n_jobs > 1``.
    training : pandas.DataFrame
        The training table of :func:`predictor.loaders.combined.load_conductivity_data`.
    series : pandas.DataFrame, optional
        The output of :func:`doping_series` (default: computed from the curated table).
    censored_log10_sigma : float or None, default=None
        Training label of below-detection entries; None: their detection bound (as in
        :mod:`predictor.training.pipeline`).
    n_jobs : int, default=1
        Papers fitted at a time, each in its own process.

    Returns
    -------
    dict
        ``per_paper`` (DataFrame: paper, n, spearman, mae, spans), ``predictions`` (the series
        with a ``predicted`` column), ``median_spearman`` and ``median_mae`` over papers.
    """
    series = doping_series() if series is None else series
    papers = list(dict.fromkeys(series["paper"]))
    parts = [series[series["paper"] == paper] for paper in papers]
    if n_jobs > 1:
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            futures = [pool.submit(_fit_and_predict, make_model, training, part, censored_log10_sigma) for part in parts]
            predicted = [f.result() for f in futures]
    else:
        predicted = [_fit_and_predict(make_model, training, part, censored_log10_sigma) for part in parts]
    rows, frames = [], []
    for paper, part, values in zip(papers, parts, predicted):
        metrics = series_metrics(part["log10_sigma"].to_numpy(), values)
        rows.append({"paper": paper, **metrics})
        frames.append(part.assign(predicted=values))
        log.info("%s: Spearman %.2f, MAE %.2f", paper[:60], metrics["spearman"], metrics["mae"])
    per_paper = pd.DataFrame(rows)
    return {
        "per_paper": per_paper,
        "predictions": pd.concat(frames, ignore_index=True),
        "median_spearman": float(per_paper["spearman"].median()),
        "median_mae": float(per_paper["mae"].median()),
    }


# -- the benchmark ----------------------------------------------------------------------------

class MagpieRandomForest(RegressorMixin, BaseEstimator):
    """The reference: matminer's Magpie statistics and a scikit-learn random forest (500 trees)."""

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    def fit(self, X, y, groups=None):
        features = np.nan_to_num(MagpieFeaturizer().transform(X))
        self.forest_ = RandomForestRegressor(n_estimators=500, random_state=self.random_state, n_jobs=1).fit(features, y)
        return self

    def predict(self, X):
        return self.forest_.predict(np.nan_to_num(MagpieFeaturizer().transform(X)))


def shipped_model():
    """The shipped conductivity settings, one thread, without the (mean-neutral) calibration."""
    return TrainConfig().make_model().set_params(calibration_folds=0, n_jobs=1)


def graph_model():
    """The graph-network family's conductivity settings, one process, without the (mean-neutral) calibration."""
    return TrainConfig().make_graph_model(pretrained_weights(models_dir())).set_params(calibrate=False, n_jobs=1)


MODELS = {"shipped": shipped_model, "graph": graph_model, "reference": MagpieRandomForest}
NAMES = {"shipped": "predictor (gradient-boosted, shipped settings)", "graph": "predictor (graph network, shipped settings)",
         "average": "predictor (mean of gradient-boosted and graph network)",
         "reference": "matminer Magpie + random forest"}


def average_result(predictions: pd.DataFrame) -> dict:
    """Scores of the mean of the gradient-boosted and graph-network predictions, per paper."""
    both = predictions[predictions["model"].isin(["shipped", "graph"])]
    mean = both.groupby(["paper", "formula"], sort=False).agg(
        {**{c: "first" for c in both.columns if c not in ("paper", "formula", "predicted", "model")},
         "predicted": "mean"}).reset_index()
    rows = [{"paper": paper, **series_metrics(part["log10_sigma"].to_numpy(), part["predicted"].to_numpy())}
            for paper, part in mean.groupby("paper", sort=False)]
    per_paper = pd.DataFrame(rows)
    return {"model": NAMES["average"], "median_spearman": float(per_paper["spearman"].median()),
            "median_mae": float(per_paper["mae"].median()), "per_paper": per_paper.round(4).to_dict(orient="records")}, \
        mean.assign(model="average")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="papers fitted at a time, one process each")
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["shipped", "graph", "reference"])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    table = load_conductivity_data().table
    series = doping_series()
    print(f"{series['paper'].nunique()} papers, {len(series)} compositions; {len(table)} training labels")
    spread = inter_lab_spread()
    ceiling = noise_ceiling(series, spread["sd"])
    print(f"two papers' values of one composition differ by {spread['median_difference']:.2f} decades (median over "
          f"{spread['pairs']} pairs, {spread['compositions']} compositions): lab noise sd {spread['sd']:.2f}; a model that "
          f"knew every value would score median Spearman {ceiling['median_spearman']:.2f} "
          f"(5-95 %: {ceiling['median_spearman_5']:.2f}-{ceiling['median_spearman_95']:.2f}), "
          f"median MAE {ceiling['median_mae']:.2f}")
    results, predictions = {}, []
    for name in args.models:
        start = time.perf_counter()
        result = evaluate_leave_one_paper_out(MODELS[name], table, series, n_jobs=args.jobs)
        seconds = time.perf_counter() - start
        per_paper = result["per_paper"]
        results[name] = {"model": NAMES[name], "median_spearman": result["median_spearman"],
                         "median_mae": result["median_mae"], "seconds": round(seconds, 1),
                         "per_paper": per_paper.round(4).to_dict(orient="records")}
        predictions.append(result["predictions"].assign(model=name))
        print(f"\n{NAMES[name]} ({seconds:.0f} s): median within-paper Spearman {result['median_spearman']:.2f}, "
              f"median within-paper MAE {result['median_mae']:.2f} log10(S/cm)")
        shown = per_paper.assign(paper=per_paper["paper"].str.slice(0, 48))
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    saved = RESULTS / "doping_series.json"
    if saved.is_file() and (RESULTS / "doping_series_predictions.csv").is_file():  # keep the other models' results
        previous = json.loads(saved.read_text())["results"]
        old = pd.read_csv(RESULTS / "doping_series_predictions.csv")
        for name, result in previous.items():
            if name not in results and name != "average":
                results[name] = result
                predictions.append(old[old["model"] == name])
    if {"shipped", "graph"} <= set(results):
        results["average"], averaged = average_result(pd.concat(predictions))
        predictions = [p for p in predictions if not (p["model"] == "average").all()] + [averaged]
        print(f"\n{NAMES['average']}: median within-paper Spearman {results['average']['median_spearman']:.2f}, "
              f"median within-paper MAE {results['average']['median_mae']:.2f} log10(S/cm)")
    if {"shipped", "reference"} <= set(results):
        a, b = results["shipped"], results["reference"]
        print(f"\nshipped vs reference: Spearman {a['median_spearman']:.2f} vs {b['median_spearman']:.2f}, "
              f"MAE {a['median_mae']:.2f} vs {b['median_mae']:.2f} (ratio {a['median_mae'] / b['median_mae']:.2f})")

    RESULTS.mkdir(exist_ok=True)
    report = {"date": dt.date.today().isoformat(), "machine": f"{platform.system()} {platform.machine()}, "
              f"{os.cpu_count()} cores", "papers": int(series["paper"].nunique()), "compositions": int(len(series)),
              "training_labels": int(len(table)), "inter_lab_spread": spread, "noise_ceiling": ceiling,
              "results": results}
    write_results(report, RESULTS / "doping_series.json", pd.concat(predictions), RESULTS / "doping_series_predictions.csv")


def write_results(report: dict, report_path: Path, predictions: pd.DataFrame, predictions_path: Path) -> None:
    """Write a benchmark's report (JSON) and predictions (CSV), each to a temporary name renamed when complete."""
    for path, write in ((report_path, lambda p: p.write_text(json.dumps(report, indent=1) + "\n")),
                        (predictions_path, lambda p: predictions.to_csv(p, index=False, float_format="%.4f"))):
        temporary = path.with_name(path.name + ".tmp")
        write(temporary)
        temporary.replace(path)
    print(f"\nwrote {report_path}")


if __name__ == "__main__":
    main()
