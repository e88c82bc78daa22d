"""New-papers benchmark: how well each model family predicts halides from papers it has never seen.

A user's composition comes from a new paper: a new dopant in Li2ZrCl6, a new oxychloride, a Na
solid solution. The protocol (:func:`predictor.training.held_out_papers.evaluate_held_out_papers`):
the curated dataset's papers are dealt into 10 folds; each fold's papers are removed from
training (every composition they report, every training row citing them), the model is refitted
with its default settings on the rest, and the fold's room-temperature halide compositions
(chloride, bromide, iodide, fluoride, mixed-halide, oxyhalide) are predicted, each against the
paper's own value. Scores (:func:`~predictor.training.held_out_papers.held_out_paper_metrics`): MAE,
median and 90th percentile of the absolute error, Spearman, median within-paper Spearman, 90 %
coverage and width, per anion family and carrier, on the quarter of compositions farthest from
their training data, and on the compositions that another paper also reports, beside the other
papers' median of each (:func:`~predictor.training.held_out_papers.other_papers_median`): the
scale of the scatter between labs.

Then the OBELiX official split, scored with below-detection labels at their bound: trained on
OBELiX ``train`` only, and on ``train`` plus the other sources (without the test compositions
and their papers).

    python benchmarks/new_papers.py                         # every family, then the table
    python benchmarks/new_papers.py --families gradient-boosted reference

Families: ``gradient-boosted`` and ``graph-network`` (the shipped settings,
:class:`predictor.training.pipeline.TrainConfig`; the graph network from the pretrained descriptor in
the model folder), ``average`` (their mean, scored when both ran) and ``reference`` (matminer's
Magpie descriptors with a random forest, no intervals). A run of some families keeps the saved
results of the others. Writes ``benchmarks/results/new_papers.json`` and
``benchmarks/results/new_papers_predictions.csv`` (the curated compositions with each family's
predictions). Needs the third-party data directory (the training data). About 20 minutes on
2 cores.
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

from doping_series import MagpieRandomForest, write_results
from predictor.training.evaluation import obelix_split, regression_metrics, training_labels
from predictor.loaders.combined import load_conductivity_data
from predictor.model_layout import GRADIENT_BOOSTED, GRAPH_NETWORK
from predictor.paths import models_dir
from predictor.training.held_out_papers import (evaluate_held_out_papers, held_out_paper_items, held_out_paper_metrics,
                                                repeat_measurement_scores)
from predictor.training.pipeline import TrainConfig, pretrained_weights

RESULTS = Path(__file__).parent / "results"
AVERAGE, REFERENCE = "average", "reference"
FAMILIES = (GRADIENT_BOOSTED, GRAPH_NETWORK, REFERENCE)


def make_model(family: str):
    """A fresh model of ``family`` with the shipped settings (a callable for the protocols)."""
    config = TrainConfig()
    if family == GRADIENT_BOOSTED:
        return config.make_model
    if family == GRAPH_NETWORK:
        weights = pretrained_weights(models_dir())
        return lambda: config.make_graph_model(weights)
    return MagpieRandomForest


def obelix_scores(family: str, table: pd.DataFrame) -> dict:
    """MAE and Spearman on the OBELiX test set, trained on its training part only and with the other sources.

    Labels below detection ("<1e-10") take their bound, in training and in scoring.
    """
    censored = TrainConfig().censored_log10_sigma
    scores = {}
    for name, extra in (("obelix_train_only", False), ("with_other_sources", True)):
        train, test = obelix_split(table, extra_sources=extra)
        model = make_model(family)().fit(train["formula"].tolist(), training_labels(train, censored),
                                         groups=train["group"])
        predicted = np.asarray(model.predict(test["formula"].tolist()), dtype=float)
        metrics = regression_metrics(training_labels(test, censored), predicted)
        scores[name] = {"n_train": int(len(train)), **{k: metrics[k] for k in ("n", "mae", "spearman")}}
    return scores


def average_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    """The mean of the gradient-boosted and graph-network predictions and bounds, per composition."""
    both = [predictions[predictions["model"] == f].reset_index(drop=True) for f in (GRADIENT_BOOSTED, GRAPH_NETWORK)]
    mean = both[0].copy()
    for column in ("predicted", "lo90", "hi90"):
        mean[column] = (both[0][column] + both[1][column]) / 2
    return mean.assign(model=AVERAGE)


def same_compositions(predicted: pd.DataFrame, items: pd.DataFrame) -> bool:
    """Whether saved predictions are of the same papers' compositions as this run's."""
    return sorted(zip(predicted["paper"], predicted["formula"])) == sorted(zip(items["paper"], items["formula"]))


def table_line(name: str, m: dict) -> str:
    return (f"{name:<18} {m['n']:>4} {m['mae']:6.2f} {m['median_abs_error']:7.2f} {m['abs_error_q90']:7.2f} "
            f"{m['spearman']:9.2f} {m['median_within_paper_spearman']:12.2f} {m['coverage90']:9.2f} "
            f"{m['interval_width90']:7.2f}")


HEADER = (f"{'':<18} {'n':>4} {'MAE':>6} {'median':>7} {'90 %':>7} {'Spearman':>9} {'within-paper':>12} "
          f"{'coverage':>9} {'width':>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    parser.add_argument("--folds", type=int, default=10, help="folds of papers")
    parser.add_argument("--seed", type=int, default=0, help="order in which the papers are dealt into folds")
    parser.add_argument("--no-obelix", action="store_true", help="skip the OBELiX split")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    table = load_conductivity_data(require_all=True).table
    items = held_out_paper_items()
    print(f"{len(items)} halide compositions from {items['paper'].nunique()} papers, {args.folds} folds; "
          f"{len(table)} training labels")
    results, predictions = {}, []
    for family in args.families:
        start = time.perf_counter()
        predicted = evaluate_held_out_papers(make_model(family), table, items, args.folds, args.seed,
                                             TrainConfig().censored_log10_sigma)
        held_out_seconds = time.perf_counter() - start
        results[family] = {"held_out_papers": held_out_paper_metrics(predicted), "seconds": round(held_out_seconds, 1)}
        if not args.no_obelix:
            start = time.perf_counter()
            results[family]["obelix_split"] = obelix_scores(family, table)
            results[family]["obelix_seconds"] = round(time.perf_counter() - start, 1)
        predictions.append(predicted.assign(model=family))
        print(f"{family}: {held_out_seconds:.0f} s; " + ", ".join(
            f"OBELiX {k} MAE {v['mae']:.3f}" for k, v in results[family].get("obelix_split", {}).items()))

    saved, saved_predictions = RESULTS / "new_papers.json", RESULTS / "new_papers_predictions.csv"
    if saved.is_file() and saved_predictions.is_file():  # keep the other families' results
        previous = json.loads(saved.read_text())
        if previous.get("folds") == args.folds and previous.get("seed") == args.seed:
            old = pd.read_csv(saved_predictions, keep_default_na=False, na_values=[""])
            for family, result in previous["results"].items():
                kept = old[old["model"] == family]
                if family not in results and family != AVERAGE and same_compositions(kept, items):
                    results[family] = {**result, "held_out_papers": held_out_paper_metrics(kept)}
                    predictions.append(kept)
    results = {family: results[family] for family in FAMILIES if family in results}
    predictions = pd.concat(predictions, ignore_index=True)
    if {GRADIENT_BOOSTED, GRAPH_NETWORK} <= set(results):
        averaged = average_predictions(predictions)
        results[AVERAGE] = {"held_out_papers": held_out_paper_metrics(averaged)}
        predictions = pd.concat([predictions, averaged], ignore_index=True)

    print(f"\nheld-out halide papers (log10 S/cm)\n{HEADER}")
    for family, result in results.items():
        print(table_line(family, result["held_out_papers"]["all"]))
    print(f"\nthe quarter farthest from the training data\n{HEADER}")
    for family, result in results.items():
        print(table_line(family, result["held_out_papers"]["far_quarter"]))
    repeat = repeat_measurement_scores(items)
    print(f"\nthe compositions another paper also reports\n{HEADER}")
    for family, result in results.items():
        print(table_line(family, result["held_out_papers"]["reported_elsewhere"]))
    print(table_line("other papers", repeat))
    for family in (GRADIENT_BOOSTED,):
        if family in results:
            groups = results[family]["held_out_papers"]
            print(f"\n{family}, per anion family and carrier\n{HEADER}")
            for name, m in {**groups["per_anion_family"], **groups["per_carrier"]}.items():
                print(table_line(name, m))
    if {GRADIENT_BOOSTED, REFERENCE} <= set(results):
        a, b = (results[f]["held_out_papers"]["all"]["mae"] for f in (GRADIENT_BOOSTED, REFERENCE))
        print(f"\ngradient-boosted vs reference MAE: {a:.2f} vs {b:.2f} (ratio {a / b:.2f})")

    RESULTS.mkdir(exist_ok=True)
    report = {"date": dt.date.today().isoformat(),
              "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
              "protocol": "held-out halide papers: curated papers in folds, each fold's compositions and every "
                          "training row citing its papers removed, shipped settings refitted on the rest",
              "folds": args.folds, "seed": args.seed, "compositions": int(len(items)),
              "papers": int(items["paper"].nunique()), "training_labels": int(len(table)),
              "repeat_measurements": repeat, "results": results}
    write_results(report, saved, predictions, saved_predictions)


if __name__ == "__main__":
    main()
