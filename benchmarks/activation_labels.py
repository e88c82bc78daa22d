"""What the Laskowski labels change in the activation-energy model: grouped CV before and after.

    python benchmarks/activation_labels.py

Fits the shipped Ea settings (:meth:`predictor.training.pipeline.TrainConfig.make_activation_model`) on
the labels of the curated and Liverpool sources, then on those plus the Laskowski table, and
scores each by its grouped 5-fold CV by chemical system (the folds that calibrate it,
:func:`predictor.training.activation.activation_cv_scores`): MAE (eV), Spearman and 90 %
coverage on all labels and on the halide-family rows, beside the training-median baseline, and
for the second model also on the rows of the first label set (the same compositions, so the
two are comparable). Writes ``benchmarks/results/activation_labels.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from predictor.training.activation import activation_cv_scores
from predictor.loaders.activation_labels import load_activation_labels
from predictor.training.pipeline import TrainConfig

RESULTS = Path(__file__).parent / "results" / "activation_labels.json"
BEFORE, AFTER = ("curated", "liiondb"), ("curated", "liiondb", "laskowski")


def scores(y: np.ndarray, predicted: np.ndarray) -> dict:
    return {"n": int(len(y)), "mae": float(np.mean(np.abs(predicted - y))), "spearman": float(spearmanr(y, predicted)[0])}


def main() -> None:
    warnings.filterwarnings("ignore")
    config, results = TrainConfig(), {"date": dt.date.today().isoformat()}
    for name, sources in (("before", BEFORE), ("after", AFTER)):
        labels = load_activation_labels(sources).table
        model = config.make_activation_model().fit(labels["formula"].tolist(), labels["Ea_eV"].to_numpy(float),
                                                   groups=labels["group"])
        cv = activation_cv_scores(model, labels)
        cv.pop("predictions")
        results[name] = {"sources": list(sources), **cv}
        if name == "after":
            y, held = labels["Ea_eV"].to_numpy(float), model.held_out_["mean"]
            first = (labels["source"] != "laskowski").to_numpy()
            halide = (labels["anion_family"] != "non-halide").to_numpy()
            results[name]["on_the_labels_before"] = scores(y[first], held[first])
            results[name]["on_the_halide_labels_before"] = scores(y[first & halide], held[first & halide])
    print("grouped 5-fold CV by chemical system, Ea in eV: n, MAE, Spearman, 90 % coverage (training median MAE)")
    for name in ("before", "after"):
        r = results[name]
        for key, baseline in (("all", "median_baseline"), ("halides", "halides_median_baseline")):
            m = r[key]
            print(f"  {name:6s} {key:8s} n={m['n']:4d}  MAE {m['mae']:.3f}  Spearman {m['spearman']:.2f}  "
                  f"coverage {m['coverage90']:.2f}  (median: {r[baseline]['mae']:.3f})")
    for key in ("on_the_labels_before", "on_the_halide_labels_before"):
        m = results["after"][key]
        print(f"  after, {key.replace('_', ' ')}: n={m['n']}  MAE {m['mae']:.3f}  Spearman {m['spearman']:.2f}")
    RESULTS.parent.mkdir(exist_ok=True)
    temporary = RESULTS.with_name(RESULTS.name + ".tmp")
    temporary.write_text(json.dumps(results, indent=1) + "\n")
    temporary.replace(RESULTS)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
