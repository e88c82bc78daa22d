"""Graph network (Roost ensemble) vs gradient boosting vs their average, on conductivity.

    python benchmarks/graph_network.py [--protocol obelix_split|grouped_cv|both] [--folds 5]

Each protocol uses one core, so the two can run side by side on a 2-core machine
(``--protocol obelix_split`` and ``--protocol grouped_cv`` in two shells); results go to
``benchmarks/results/graph_network_<protocol>.json``.

Measures MAE, R², Spearman and 90 % interval coverage (log10 S/cm) on the OBELiX official
split (training on OBELiX train plus the leakage-filtered other sources) and by grouped CV
(chemical systems) over all conductivity labels, for

(a) ``GraphConductivityRegressor()`` trained from scratch,
(b) the same starting from the MP-pretrained descriptor (``models/pretrained/roost_mp_formation.pt``),
(c) ``ConductivityRegressor()`` (gradient boosting, default parameters),
(d) ``AveragedConductivityRegressor`` (mean of (b) and (c), re-calibrated interval).

(d) is evaluated as its own estimator, but to save time its two members are not refitted:
its ``_fit_members`` returns the (c) and (b) models already fitted on the identical training
rows of the same split / fold (every fit is seeded, so a refit would give the same models).
Run (a)-(c) before (d). Single thread per protocol.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from predictor import ConductivityRegressor
from predictor.estimators.averaged import AveragedConductivityRegressor
from predictor.estimators.graph import GraphConductivityRegressor
from predictor.evaluation import evaluate_grouped_cv, evaluate_obelix_split
from predictor.loaders.combined import load_conductivity_data
from predictor.nn.pretrain import pretrained_path

CENSORED = -15.0
FITTED: dict[tuple[str, str], object] = {}
FIT_SECONDS: dict[str, list[float]] = {}


def _key(X, y) -> str:
    digest = hashlib.sha256("\n".join(map(str, X)).encode())
    digest.update(np.asarray(y, dtype=float).tobytes())
    return digest.hexdigest()


def recorded(name: str, factory):
    """A ``make_model`` whose fitted models are kept (for the combination) and timed."""

    def make():
        model = factory()
        fit = model.fit

        def timed_fit(X, y, groups=None):
            start = time.perf_counter()
            fit(X, y, groups=groups)
            FIT_SECONDS.setdefault(name, []).append(round(time.perf_counter() - start, 1))
            FITTED[(name, _key(X, y))] = model
            return model

        model.fit = timed_fit
        return model

    return make


class ReusingAverage(AveragedConductivityRegressor):
    """The combination, with members taken from the runs of (c) and (b) on the same rows."""

    def _fit_members(self, X, y, groups):
        key = _key(X, y)
        return FITTED[("gbm", key)], FITTED[("graph_pretrained", key)]


def _metrics(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "predictions"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--protocol", choices=("obelix_split", "grouped_cv", "both"), default="both")
    parser.add_argument("--output", type=Path, help="default: benchmarks/results/graph_network_<protocol>.json")
    args = parser.parse_args()
    protocols = ("obelix_split", "grouped_cv") if args.protocol == "both" else (args.protocol,)
    output = args.output or Path(__file__).parent / "results" / f"graph_network_{args.protocol}.json"
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    if not pretrained_path().is_file():
        raise SystemExit(f"no pretrained weights at {pretrained_path()}; run `python -m predictor.nn.pretrain` first")
    table = load_conductivity_data().table.reset_index(drop=True)
    models = {
        "graph_scratch": recorded("graph_scratch", lambda: GraphConductivityRegressor()),
        "graph_pretrained": recorded("graph_pretrained", lambda: GraphConductivityRegressor(pretrained=str(pretrained_path()))),
        "gbm": recorded("gbm", lambda: ConductivityRegressor(n_jobs=1)),
        "average_gbm_graph": lambda: ReusingAverage(weight=0.5),
    }
    results: dict = {"settings": {"censored_log10_sigma": CENSORED, "folds": args.folds, "n_labels": len(table),
                                  "graph": GraphConductivityRegressor().get_params(), "combination_weight_gbm": 0.5,
                                  "threads": 1}}
    for protocol in protocols:
        results[protocol] = {}
        for name, make in models.items():
            start = time.perf_counter()
            if protocol == "obelix_split":
                result = evaluate_obelix_split(make, table, CENSORED, extra_sources=True)
            else:
                result = evaluate_grouped_cv(make, table, CENSORED, n_splits=args.folds)
            results[protocol][name] = {**_metrics(result), "seconds": round(time.perf_counter() - start, 1)}
            m = result["all"]
            print(f"{protocol:13s} {name:18s} MAE {m['mae']:.3f}  R2 {m['r2']:.3f}  Spearman {m['spearman']:.3f}  "
                  f"cov90 {m['coverage90']:.3f}  width {m['interval_width90']:.2f}  "
                  f"({results[protocol][name]['seconds']:.0f} s)", flush=True)
    results["fit_seconds"] = FIT_SECONDS
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=1, default=float) + "\n")

    print(f"\n{'protocol':13s} {'model':18s} {'MAE':>6s} {'R2':>6s} {'Spear':>6s} {'cov90':>6s}")
    for protocol in protocols:
        for name in models:
            m = results[protocol][name]["all"]
            print(f"{protocol:13s} {name:18s} {m['mae']:6.3f} {m['r2']:6.3f} {m['spearman']:6.3f} {m['coverage90']:6.3f}")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
