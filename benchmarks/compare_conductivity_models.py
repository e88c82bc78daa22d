"""Compare conductivity-model settings by grouped CV, without touching the OBELiX test split.

The shipped settings (Huber loss, LightGBM random split thresholds, 31 leaves, 2 rows per
leaf, censored labels at -15) were first explored against the OBELiX test split; this script
checks the choice on data that excludes that split: grouped K-fold CV by chemical system over
OBELiX train plus the other sources (minus OBELiX test compositions and papers).

    python benchmarks/compare_conductivity_models.py [--folds 5]
"""

from __future__ import annotations

import argparse
import time
import warnings

from predictor import ConductivityRegressor
from predictor.training.evaluation import obelix_split
from predictor.loaders.combined import load_conductivity_data
from protocols import evaluate_grouped_cv

CONFIGS = {
    "shipped (huber, extra_trees, 31 leaves)": {},
    "plain LightGBM (l2, 15 leaves, 5 per leaf)": {"objective": "l2", "extra_trees": False, "num_leaves": 15,
                                                   "min_child_samples": 5},
    "huber without extra_trees": {"extra_trees": False},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    table = load_conductivity_data().table
    train, _ = obelix_split(table, extra_sources=True)
    train = train.reset_index(drop=True)
    print(f"grouped {args.folds}-fold CV on {len(train)} labels (OBELiX test split excluded)")
    for name, params in CONFIGS.items():
        start = time.perf_counter()
        result = evaluate_grouped_cv(lambda: ConductivityRegressor(**params, calibration_folds=args.folds), train, -15.0)
        m = result["all"]
        print(f"  {name:45s} MAE {m['mae']:.3f}  R2 {m['r2']:.3f}  Spearman {m['spearman']:.3f}  "
              f"coverage {m['coverage90']:.3f}  ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
