"""Within-paper scores and training sets without a paper (:mod:`predictor.training.held_out_papers`), which the
Ea model's leave-one-paper-out and the doping-series benchmark use (the benchmark's own protocol:
tests/test_benchmark_protocols.py)."""

import numpy as np
import pandas as pd
import pytest

from predictor.training.held_out_papers import series_metrics, training_without_paper


def test_series_metrics_score_order_and_level():
    observed = np.array([-5.0, -4.0, -3.0, -2.0])
    assert series_metrics(observed, observed + 1.0) == pytest.approx(
        {"n": 4, "spearman": 1.0, "mae": 1.0, "span_observed": 3.0, "span_predicted": 3.0})
    assert series_metrics(observed, -observed)["spearman"] == pytest.approx(-1.0)
    assert series_metrics(observed, np.full(4, -3.5))["spearman"] == 0.0  # a flat prediction ranks nothing


def test_training_without_paper_drops_its_compositions_and_dois():
    training = pd.DataFrame({"formula": ["Li3YCl6", "Li6Y2Cl12", "Li3InCl6", "Li2ZrCl6"],
                             "doi": ["", "", "10.1/abc; 10.2/x", ""]})
    part = pd.DataFrame({"formula": ["Li3YCl6"], "doi": ["10.1/ABC"]})
    assert training_without_paper(training, part)["formula"].tolist() == ["Li2ZrCl6"]
