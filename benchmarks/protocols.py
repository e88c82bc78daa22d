"""Evaluation protocols that several benchmark scripts share (not part of the package).

The scripts run as ``python benchmarks/NAME.py``, so this folder is on the import path and they
import it as ``from protocols import ...``; the tests find it through ``pythonpath`` in
``pyproject.toml`` (``tests/test_benchmark_protocols.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from predictor.training.evaluation import grouped_cv_scores, training_labels


def evaluate_grouped_cv(make_model: Callable, table: pd.DataFrame, censored_log10_sigma: float | None = None) -> dict:
    """K-fold cross-validation grouped by chemical system over the whole table (one fit).

    The model's own calibration folds (``make_model()``'s ``calibration_folds``, or the
    members of a graph network) are the K folds: see
    :func:`predictor.training.evaluation.grouped_cv_scores`.
    """
    y = training_labels(table, censored_log10_sigma)
    model = make_model().fit(table["formula"].tolist(), y, groups=table["group"])
    return grouped_cv_scores(model, table, y)
