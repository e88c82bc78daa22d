"""Time of one calibrated conductivity fit, idle and beside a CPU-bound process.

    python benchmarks/fit_scaling.py [--members 8] [--rows 0]

Fits ``ConductivityRegressor`` (the shipped settings: 8 members x 500 rounds, 5 calibration
folds) on the combined conductivity labels, three ways:

1. ``n_jobs=1``: every model in this process, one thread each;
2. ``n_jobs=-1``: the models spread over one process per core (this project's default for
   training), idle;
3. ``n_jobs=-1`` while a second CPU-bound process (a busy loop) runs beside it.

The reference, measured in the same run: the bag's LightGBM models (final bag and calibration
folds) fitted the way the project did before, one after the other with two OpenMP threads
each, idle and beside the same busy process. On a busy 2-core machine those
threads wait on each other.

Targets (issue 12): one calibrated fit <= 30 s on 2 cores; beside a CPU-bound process
<= 2x the idle time. Results are printed and written to ``benchmarks/results/fit_scaling.json``.
Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "fit_scaling.json"


def busy_loop(stop) -> None:
    """A CPU-bound neighbour: spins until ``stop`` is set."""
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


class Neighbour:
    """Context manager running :func:`busy_loop` in another process."""

    def __enter__(self):
        self.stop = multiprocessing.Event()
        self.process = multiprocessing.Process(target=busy_loop, args=(self.stop,), daemon=True)
        self.process.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.process.join(timeout=10)


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=8, help="bag size (default: the shipped 8)")
    parser.add_argument("--rows", type=int, default=0, help="use only the first ROWS labels (0: all)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import lightgbm as lgb

    from predictor.estimators import ConductivityRegressor
    from predictor.training.evaluation import training_labels
    from predictor.featurizers import CompositionFeaturizer
    from predictor.loaders.combined import load_conductivity_data

    table = load_conductivity_data().table
    if args.rows:
        table = table.iloc[: args.rows]
    formulas, y, groups = table["formula"].tolist(), training_labels(table, -15.0), table["group"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{len(y)} labels, {cores} cores, bag of {args.members}")

    def fit(n_jobs):
        return lambda: ConductivityRegressor(n_members=args.members, n_jobs=n_jobs).fit(formulas, y, groups=groups)

    # the reference: the same LightGBM models, serially, two OpenMP threads each
    model = ConductivityRegressor(n_members=args.members)
    features = CompositionFeaturizer(model.feature_sets).transform(formulas)
    features = features + (1.0 - np.nanmin(features, axis=0))
    folds = model._calibration_splits(len(y), groups.to_numpy())
    rows = [np.arange(len(y))] + [train for train, _ in folds]

    def reference():
        for k, train in enumerate(rows):
            for member in range(args.members):
                params = {**model._lgbm_params(1000 * k + member), "num_threads": 2}
                data = lgb.Dataset(features[train], label=y[train], params={"verbosity": -1, "min_data_in_bin": 3})
                lgb.train(params, data, num_boost_round=model.n_estimators)

    results = {}
    for name, function, beside in [
        ("serial_1_process", fit(1), False),
        ("processes_idle", fit(-1), False),
        ("processes_beside_busy_process", fit(-1), True),
        ("reference_threads_idle_trees_only", reference, False),
        ("reference_threads_beside_busy_process_trees_only", reference, True),
    ]:
        if beside:
            with Neighbour():
                seconds = timed(function)
        else:
            seconds = timed(function)
        results[name] = round(seconds, 1)
        print(f"{name:52s} {seconds:7.1f} s", flush=True)

    ratios = {
        "speedup_processes_vs_serial": results["serial_1_process"] / results["processes_idle"],
        "busy_vs_idle_processes": results["processes_beside_busy_process"] / results["processes_idle"],
        "busy_vs_idle_reference_threads": results["reference_threads_beside_busy_process_trees_only"]
        / results["reference_threads_idle_trees_only"],
    }
    for name, value in ratios.items():
        print(f"{name:52s} {value:7.2f}x")
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": {"cores": cores, "platform": platform.platform()},
        "labels": len(y), "members": args.members, "seconds": results,
        "ratios": {k: round(v, 2) for k, v in ratios.items()},
        "targets": {"calibrated_fit_s": 30, "busy_vs_idle": 2.0},
    }
    RESULTS.parent.mkdir(exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, RESULTS)
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
