"""Average of the gradient-boosted and graph-network conductivity models, re-calibrated.

An estimator that fits both members and calibrates their combination anew (measured in
``benchmarks/graph_network.py``). The shipped "average" model family is another thing:
:mod:`.family_average` averages the already fitted, separately calibrated models of a model
folder, for any property, without fitting anything.

The combined mean is ``weight · GBM + (1 − weight) · graph network``. Its interval is
calibrated afresh on the members' out-of-fold predictions (both members already produce
them for their own calibration, grouped by chemical system), with
:class:`~predictor.estimators.calibration.UncertaintyCalibration` fed the disagreement of the
two means (as the spread term) and the graph network's uncalibrated total sigma (aleatoric +
epistemic, in the slot of the distance term), capped at the standard deviation of the targets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from predictor.estimators.base import DistributionRegressorMixin
from predictor.estimators.calibration import UncertaintyCalibration
from predictor.estimators.gbm import ConductivityRegressor, GBMRegressor
from predictor.estimators.graph import GraphConductivityRegressor


class AveragedConductivityRegressor(DistributionRegressorMixin, RegressorMixin, BaseEstimator):
    """Weighted average of a GBM and a graph-network regressor with a re-calibrated interval.

    Parameters
    ----------
    gbm : GBMRegressor or None, default=None
        Unfitted template (cloned in ``fit``); None: ``ConductivityRegressor()``. Its
        ``calibration_folds`` must be ≥ 2 (out-of-fold residuals are needed).
    graph : GraphConductivityRegressor or None, default=None
        Unfitted template; None: ``GraphConductivityRegressor()``.
    weight : float, default=0.5
        Weight of the GBM mean (dimensionless, in [0, 1]).
    coverage : float, default=0.9

    Attributes
    ----------
    gbm_, graph_ : the fitted members
    calibration_ : UncertaintyCalibration
    """

    target_name = "log10_sigma"
    model_family = "gradient-boosted + graph-network"
    target_unit = "log10(S/cm)"

    def __init__(self, gbm: GBMRegressor | None = None, graph: GraphConductivityRegressor | None = None,
                 weight: float = 0.5, coverage: float = 0.9):
        self.gbm = gbm
        self.graph = graph
        self.weight = weight
        self.coverage = coverage

    def _fit_members(self, X, y, groups) -> tuple[GBMRegressor, GraphConductivityRegressor]:
        gbm = clone(self.gbm) if self.gbm is not None else ConductivityRegressor()
        graph = clone(self.graph) if self.graph is not None else GraphConductivityRegressor()
        return gbm.fit(X, y, groups=groups), graph.fit(X, y, groups=groups)

    def fit(self, X: Sequence, y, groups: Sequence | None = None) -> "AveragedConductivityRegressor":
        """Fit both members, then calibrate the combination on their out-of-fold predictions.

        Parameters
        ----------
        X : sequence of str or Composition, length n_samples
        y : array-like, shape (n_samples,), log10(S/cm)
        groups : sequence, optional
            Passed to both members (default: chemical systems).
        """
        if not 0 <= self.weight <= 1:
            raise ValueError(f"weight={self.weight} must be in [0, 1]")
        if not 0 < self.coverage < 1:
            raise ValueError(f"coverage={self.coverage} must be between 0 and 1")
        y = np.asarray(y, dtype=float).ravel()
        self.gbm_, self.graph_ = self._fit_members(X, y, groups)
        if getattr(self.gbm_, "oof_residuals_", None) is None or getattr(self.graph_, "oof_mean_", None) is None:
            raise ValueError("both members need out-of-fold predictions: set calibration_folds >= 2 and calibrate=True")
        gbm_oof = y - self.gbm_.oof_residuals_
        mean = self.weight * gbm_oof + (1 - self.weight) * self.graph_.oof_mean_
        self.oof_residuals_ = y - mean
        self.calibration_ = UncertaintyCalibration.fit(
            self.oof_residuals_, np.abs(gbm_oof - self.graph_.oof_mean_), self.graph_.oof_sigma_, mean,
            coverage=self.coverage, max_std=float(np.std(y)),
        )
        return self

    def predict_distribution(self, X) -> dict[str, np.ndarray]:
        """``mean``, ``std``, ``lo``, ``hi``, ``ensemble_std``, ``distance`` (GBM's), each shape (n_samples,)."""
        check_is_fitted(self, "calibration_")
        a, b = self.gbm_.predict_distribution(X), self.graph_.predict_distribution(X)
        mean = self.weight * a["mean"] + (1 - self.weight) * b["mean"]
        disagreement = np.abs(a["mean"] - b["mean"])
        half = self.calibration_.half_width(disagreement, b["sigma_total"], mean)
        spread = np.sqrt((a["ensemble_std"] ** 2 + b["ensemble_std"] ** 2) / 2 + (disagreement / 2) ** 2)
        return {"mean": mean, "std": self.calibration_.std(disagreement, b["sigma_total"], mean),
                "lo": mean - half, "hi": mean + half, "ensemble_std": spread, "distance": a["distance"]}
