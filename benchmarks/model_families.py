"""Model-family benchmark: gradient-boosted vs graph network (vs their average), same folds.

For conductivity (all room-temperature labels) and both window limits (all window labels),
each family is evaluated by grouped 5-fold cross-validation by chemical system, the folds of
the model card (:func:`evaluate_grouped_cv` of ``benchmarks/protocols.py`` and
:func:`~predictor.training.evaluation.evaluate_window_cv`), with the shipped training settings
(:class:`predictor.training.pipeline.TrainConfig`). The "average" family averages the two families'
out-of-fold means and interval bounds. Scores: MAE (target unit), Spearman rank correlation,
coverage of the 90 % interval (censored conductivity labels as in the model card).

    python benchmarks/model_families.py                     # every property and family, then the table
    python benchmarks/model_families.py --property windows --family graph-network
    python benchmarks/model_families.py --combine           # only the table, from the saved runs

Each run writes its out-of-fold predictions to ``benchmarks/results/oof/`` (not committed:
they hold third-party labels) with its wall time; the table goes to
``benchmarks/results/model_families.json``. Needs the third-party data directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.training.evaluation import detection_bounds, evaluate_window_cv, regression_metrics
from predictor.loaders.combined import load_conductivity_data
from predictor.loaders.window_labels import load_window_labels
from predictor.model_layout import GRADIENT_BOOSTED, GRAPH_NETWORK
from predictor.paths import models_dir
from predictor.training.pipeline import TrainConfig, pretrained_weights
from protocols import evaluate_grouped_cv

RESULTS = Path(__file__).parent / "results"
OOF = RESULTS / "oof"
PROPERTIES = ("conductivity", "windows")
FAMILIES = (GRADIENT_BOOSTED, GRAPH_NETWORK)
AVERAGE = "average"
LIMITS = ("reduction_limit_V", "oxidation_limit_V")


def oof_path(prop: str, family: str) -> Path:
    return OOF / f"{prop}_{family}.csv"


def run(prop: str, family: str, config: TrainConfig) -> Path:
    """Cross-validate one family on one property; write its out-of-fold predictions."""
    pretrained = pretrained_weights(models_dir())
    start = time.perf_counter()
    if prop == "conductivity":
        data = load_conductivity_data(config.sources)
        table = data.table
        make = config.make_model if family == GRADIENT_BOOSTED else lambda: config.make_graph_model(pretrained)
        cv = evaluate_grouped_cv(make, table, config.censored_log10_sigma)
        frame = cv["predictions"].rename(columns={"observed": "log10_sigma", "predicted": "log10_sigma_predicted",
                                                  "lo90": "log10_sigma_lo90", "hi90": "log10_sigma_hi90"})
        frame["detection_bound"] = detection_bounds(table)
    else:
        labels = load_window_labels()
        make = (config.make_window_model if family == GRADIENT_BOOSTED
                else lambda: config.make_graph_window_model(pretrained))
        frame = evaluate_window_cv(make, labels, config.cv_folds)["predictions"]
    frame["seconds"] = time.perf_counter() - start
    OOF.mkdir(parents=True, exist_ok=True)
    path = oof_path(prop, family)
    temporary = path.with_suffix(".csv.tmp")
    frame.to_csv(temporary, index=False)
    temporary.replace(path)
    print(f"{prop} {family}: {frame['seconds'].iloc[0]:.0f} s, wrote {path}")
    return path


def _targets(prop: str) -> tuple[str, ...]:
    return ("log10_sigma",) if prop == "conductivity" else LIMITS


def scores(frames: dict[str, pd.DataFrame], prop: str) -> dict:
    """Metrics of every family (and their average) on each target of ``prop``."""
    result = {}
    first = next(iter(frames.values()))
    for target in _targets(prop):
        y = first[target].to_numpy(float)
        bounds = first["detection_bound"].to_numpy(float) if "detection_bound" in first else None
        columns = {}
        for family, frame in frames.items():
            if not np.array_equal(frame["formula"].to_numpy(), first["formula"].to_numpy()):
                raise ValueError(f"{prop}: the runs of {family} and {next(iter(frames))} hold different rows")
            columns[family] = {k: frame[f"{target}_{s}"].to_numpy(float) for k, s in
                               (("mean", "predicted"), ("lo", "lo90"), ("hi", "hi90"))}
        if len(columns) == len(FAMILIES):
            columns[AVERAGE] = {k: np.mean([columns[f][k] for f in FAMILIES], axis=0) for k in ("mean", "lo", "hi")}
        result[target] = {family: {k: v for k, v in regression_metrics(y, c["mean"], c["lo"], c["hi"], bounds).items()
                                   if k in ("n", "mae", "spearman", "coverage90", "interval_width90")}
                          for family, c in columns.items()}
    return result


def combine() -> dict:
    """The table of every saved run: ``benchmarks/results/model_families.json``."""
    report = {"protocol": "grouped 5-fold CV by chemical system (the model card's folds), shipped training "
                          "settings; average: mean of both families' out-of-fold means and 90 % bounds",
              "date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "results": {}, "seconds": {}}
    for prop in PROPERTIES:
        frames = {f: pd.read_csv(oof_path(prop, f)) for f in FAMILIES if oof_path(prop, f).is_file()}
        if not frames:
            continue
        report["results"].update(scores(frames, prop))
        report["seconds"][prop] = {f: round(float(frame["seconds"].iloc[0]), 1) for f, frame in frames.items()}
    path = RESULTS / "model_families.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(report, indent=1) + "\n")
    temporary.replace(path)
    print(table(report))
    return report


def table(report: dict) -> str:
    """The table of docs/method.md: one row per target, MAE / Spearman / 90 % coverage per family."""
    families = [f for f in (*FAMILIES, AVERAGE) if any(f in r for r in report["results"].values())]
    lines = ["| target (n) | " + " | ".join(families) + " |", "|---|" + "---|" * len(families)]
    for target, result in report["results"].items():
        n = next(iter(result.values()))["n"]
        cells = [f"{m['mae']:.3f} / {m['spearman']:.3f} / {m['coverage90']:.3f}" if (m := result.get(f)) else ""
                 for f in families]
        lines.append(f"| {target} ({n}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--property", choices=PROPERTIES, action="append", help="default: both")
    parser.add_argument("--family", choices=FAMILIES, action="append", help="default: both")
    parser.add_argument("--combine", action="store_true", help="only combine the saved runs into the table")
    args = parser.parse_args(argv)
    if not args.combine:
        config = TrainConfig()
        for prop in args.property or PROPERTIES:
            for family in args.family or FAMILIES:
                run(prop, family, config)
    combine()


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
