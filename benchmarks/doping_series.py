"""Doping-series benchmark: does the conductivity model rank a held-out paper's series?

Leave one paper out (its compositions and its DOI), fit on everything else, predict the
paper's compositions, score within the paper (Spearman rank correlation and MAE in log10 S/cm);
the medians over papers are the headline (protocol: :mod:`predictor.series_evaluation`). The
reference, measured in the same run on the same folds, is matminer's Magpie descriptors with a
random forest (the descriptors computed by :class:`predictor.featurizers.MagpieFeaturizer`,
identical to matminer's to 1e-9, as the tests check).

    python benchmarks/doping_series.py [--jobs 2] [--models shipped reference]

Writes ``benchmarks/results/doping_series.json`` (medians, per-paper tables, settings, date)
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
from predictor.series_evaluation import doping_series, evaluate_leave_one_paper_out
from predictor.training import TrainConfig

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


MODELS = {"shipped": shipped_model, "reference": MagpieRandomForest}
NAMES = {"shipped": "predictor (gradient-boosted, shipped settings)", "reference": "matminer Magpie + random forest"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="papers fitted at a time, one process each")
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["shipped", "reference"])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    table = load_conductivity_data().table
    series = doping_series()
    print(f"{series['paper'].nunique()} papers, {len(series)} compositions; {len(table)} training labels")
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
    if {"shipped", "reference"} <= set(results):
        a, b = results["shipped"], results["reference"]
        print(f"\nshipped vs reference: Spearman {a['median_spearman']:.2f} vs {b['median_spearman']:.2f}, "
              f"MAE {a['median_mae']:.2f} vs {b['median_mae']:.2f} (ratio {a['median_mae'] / b['median_mae']:.2f})")

    RESULTS.mkdir(exist_ok=True)
    report = {"date": dt.date.today().isoformat(), "machine": f"{platform.system()} {platform.machine()}, "
              f"{os.cpu_count()} cores", "papers": int(series["paper"].nunique()), "compositions": int(len(series)),
              "training_labels": int(len(table)), "results": results}
    for path, write in ((RESULTS / "doping_series.json", lambda p: p.write_text(json.dumps(report, indent=1) + "\n")),
                        (RESULTS / "doping_series_predictions.csv",
                         lambda p: pd.concat(predictions).to_csv(p, index=False, float_format="%.4f"))):
        temporary = path.with_name(path.name + ".tmp")
        write(temporary)
        temporary.replace(path)
    print(f"\nwrote {RESULTS / 'doping_series.json'}")


if __name__ == "__main__":
    main()
