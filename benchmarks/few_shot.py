"""Few-shot doping series: how much do a lab's first measurements of a series help?

    python benchmarks/few_shot.py [--models gradient-boosted graph-network average]

Takes the leave-one-paper-out predictions of ``benchmarks/doping_series.py`` (each paper's
compositions predicted by models that never saw the paper; run it first) and, for each paper,
gives k = 1 or 2 of the paper's measured values and predicts the others, averaged over every
choice of the k known compositions. Scores, as in the doping-series benchmark: the median over
papers of the within-paper MAE (log10 S/cm) and Spearman rank correlation, on the compositions
that were not given. Methods, measured in the same run:

- ``model alone``: the predictions, no measurement used (k = 0, scored on the same compositions);
- ``one value for all``: every composition takes the mean of the known values (no model);
- ``residual shift``: the predictions moved by the mean error at the known compositions;
- ``anchored``: :func:`predictor.prediction.anchoring.anchor`, what ``Predictor.with_measurements`` and
  ``--measured`` do, with the residual kernel of the shipped models (fitted on the training
  data's held-out errors, not on these papers) and the shipped model's calibrated std as the
  error scale;
- ``exact paper offset``: the predictions moved by the paper's true mean error over all its
  compositions (what no measurement can give: the bound of any level correction).

Writes ``benchmarks/results/few_shot.json`` (medians and per-paper tables).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from predictor.prediction.anchoring import DEFAULT_LAB_STD, anchor, standardised_descriptors
from predictor.composition import parse_formula
from predictor.featurizers import CompositionFeaturizer
from predictor.prediction.measured import MeasuredValues
from predictor.model_layout import MEASURED_DIR
from predictor.paths import models_dir
from predictor.predictor import Predictor

RESULTS = Path(__file__).parent / "results"
#: The doping-series benchmark's names of the model families.
FAMILIES = {"gradient-boosted": "shipped", "graph-network": "graph", "average": "average"}
METHODS = ("model alone", "one value for all", "residual shift", "anchored", "exact paper offset")


def method_predictions(method: str, part: pd.DataFrame, known: list[int], kernel, lab_std: float) -> np.ndarray:
    """Predicted log10 sigma of every composition of one paper, given its ``known`` rows."""
    y, predicted = part["log10_sigma"].to_numpy(), part["predicted"].to_numpy()
    if method == "model alone":
        return predicted
    if method == "one value for all":
        return np.full(len(part), y[known].mean())
    if method == "residual shift":
        return predicted + (y[known] - predicted[known]).mean()
    if method == "exact paper offset":
        return predicted + (y - predicted).mean()
    z, std = np.stack(part["descriptors"].to_numpy()), part["model_std"].to_numpy()
    return anchor(z, predicted, std, z[known], (y - predicted)[known], std[known], kernel, lab_std)[0]


def score_paper(part: pd.DataFrame, k: int, method: str, kernel, lab_std: float) -> dict:
    """Within-paper MAE and Spearman on the compositions not given, averaged over the choices of k given ones."""
    maes, spearmans = [], []
    y = part["log10_sigma"].to_numpy()
    for known in itertools.combinations(range(len(part)), k):
        rest = [i for i in range(len(part)) if i not in known]
        predicted = method_predictions(method, part, list(known), kernel, lab_std)[rest]
        maes.append(float(np.mean(np.abs(predicted - y[rest]))))
        if len(rest) >= 3:
            spearmans.append(float(spearmanr(y[rest], predicted)[0]) if np.ptp(predicted) > 0 else 0.0)
    return {"mae": float(np.mean(maes)), "spearman": float(np.mean(spearmans)) if spearmans else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(FAMILIES), default=["gradient-boosted"])
    parser.add_argument("--lab-std", type=float, default=DEFAULT_LAB_STD)
    args = parser.parse_args()
    predictions = pd.read_csv(RESULTS / "doping_series_predictions.csv")
    kernel = MeasuredValues.load(models_dir() / MEASURED_DIR).kernel
    if kernel is None:
        raise SystemExit(f"{models_dir()} has no residual kernel: retrain with `predictor train`")
    print(f"residual kernel of the shipped models: correlation {kernel.correlation:.2f}, length {kernel.length:.2f} "
          f"(from {kernel.pairs} same-paper pairs of held-out training errors); lab spread {args.lab_std} log10 S/cm")
    results = {"date": dt.date.today().isoformat(), "kernel": kernel.to_dict(), "lab_std": args.lab_std,
               "families": {}}
    for family in args.models:
        part = predictions[predictions["model"] == FAMILIES[family]].reset_index(drop=True)
        if part.empty:
            raise SystemExit(f"no {family} predictions in doping_series_predictions.csv: run benchmarks/doping_series.py")
        predictor = Predictor.load(model_family=family if family != "average" else None)
        model = predictor.conductivity_model
        domain = getattr(model, "domain_", None) or model.models[0].domain_
        compositions = [parse_formula(f) for f in part["formula"]]
        features = CompositionFeaturizer(tuple(model.feature_sets)).transform(compositions)
        part["descriptors"] = list(standardised_descriptors(domain, features))
        part["model_std"] = model.predict_distribution(compositions, features)["std"]
        table = {}
        for k in (1, 2):
            rows = []
            for paper, series in part.groupby("paper", sort=True):
                series = series.reset_index(drop=True)
                if len(series) <= k:
                    continue
                rows.append({"paper": paper, "n": len(series),
                             **{f"{method}|{metric}": value for method in METHODS
                                for metric, value in score_paper(series, k, method, kernel, args.lab_std).items()}})
            per_paper = pd.DataFrame(rows)
            table[k] = {method: {"median_mae": float(per_paper[f"{method}|mae"].median()),
                                 "median_spearman": float(per_paper[f"{method}|spearman"].median())}
                        for method in METHODS}
            table[k]["papers"] = len(per_paper)
            table[k]["per_paper"] = per_paper.round(4).to_dict(orient="records")
        results["families"][family] = table
        print(f"\n{family}: median within-paper MAE (log10 S/cm) / Spearman on the compositions not given, "
              f"averaged over which are given")
        print(f"  {'method':22s}" + "".join(f"  k={k} ({table[k]['papers']} papers)" for k in (1, 2)))
        for method in METHODS:
            print(f"  {method:22s}" + "".join(f"  {table[k][method]['median_mae']:.2f} / "
                                              f"{table[k][method]['median_spearman']:+.2f}      " for k in (1, 2)))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "few_shot.json"
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(results, indent=1) + "\n")
    temporary.replace(path)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
