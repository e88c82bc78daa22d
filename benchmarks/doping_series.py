"""Doping-series benchmark: does the conductivity model rank a held-out paper's series?

Leave one paper out (its compositions and its DOI), fit on everything else, predict the
paper's compositions, score within the paper (Spearman rank correlation and MAE in log10 S/cm);
the medians over papers are the headline (protocol: :mod:`predictor.series_evaluation`). The
reference, measured in the same run on the same folds, is matminer's Magpie descriptors with a
random forest (the descriptors computed by :class:`predictor.featurizers.MagpieFeaturizer`,
identical to matminer's to 1e-9, as the tests check).

    python benchmarks/doping_series.py [--jobs 2] [--models shipped graph reference]

``graph`` is the graph-network family (shipped settings, pretrained descriptor); with both
``shipped`` and ``graph`` in the results, ``average`` (the mean of their predictions, the
family average of ``benchmarks/model_families.py``) is scored too. A run of some models keeps
the saved results of the others.

It also prints what lab-to-lab noise alone allows: the spread between two papers' values of one
composition (:func:`predictor.series_evaluation.inter_lab_spread`) and the scores of a model
that knew every composition's value, measured against a lab with that noise
(:func:`predictor.series_evaluation.noise_ceiling`).

Writes ``benchmarks/results/doping_series.json`` (medians, per-paper tables, noise ceiling, date)
and ``benchmarks/results/doping_series_predictions.csv``. Needs the third-party data directory
(the training data); the uncertainty calibration is skipped (it does not change the mean).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor

from predictor.featurizers import MagpieFeaturizer
from predictor.loaders.combined import load_conductivity_data
from predictor.paths import models_dir
from predictor.series_evaluation import (doping_series, evaluate_leave_one_paper_out, inter_lab_spread, noise_ceiling,
                                         series_metrics)
from predictor.training import TrainConfig, pretrained_weights

RESULTS = Path(__file__).parent / "results"


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
