"""The "average" model family: the mean of fitted models of other families for one property.

Nothing is fitted or stored for it: it averages the shipped gradient-boosted and graph-network
models of a property. The mean, standard deviation and interval bounds are the means of the
members' (each calibrated on its own grouped out-of-fold residuals). Averaging bounds is not a
calibration in itself; what it gives on unseen chemical systems is measured by
``benchmarks/model_families.py`` (grouped 5-fold CV): 90 % coverage 0.93-0.95 for conductivity
and both window limits.
"""

from __future__ import annotations

import numpy as np

from predictor.estimators.base import DISTRIBUTION_KEYS


class FamilyAverage:
    """Mean of fitted property models of several families (the protocol of :class:`.base.PropertyRegressor`).

    Parameters
    ----------
    models : sequence of fitted regressors
        Of the same property (same ``target_name``), e.g. a ``ConductivityRegressor`` and a
        ``GraphConductivityRegressor``.
    """

    model_family = "average"

    def __init__(self, models):
        self.models = list(models)
        if len(self.models) < 2:
            raise ValueError(f"an average needs at least 2 models, got {len(self.models)}")
        targets = {m.target_name for m in self.models}
        if len(targets) != 1:
            raise ValueError(f"the models predict different targets: {', '.join(sorted(targets))}")
        self.target_name, self.target_unit = self.models[0].target_name, self.models[0].target_unit

    @property
    def feature_sets(self) -> tuple[str, ...]:
        """The members' descriptor sets (``features`` are passed on only when they all share them)."""
        return tuple(self.models[0].feature_sets)

    def _member_features(self, model, features):
        return features if tuple(model.feature_sets) == self.feature_sets else None

    @property
    def calibration_(self):
        """The first member's calibration, or None when any member is uncalibrated."""
        calibrations = [getattr(m, "calibration_", None) for m in self.models]
        return None if any(c is None for c in calibrations) else calibrations[0]

    def predict_distribution(self, X, features: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The members' mean ``mean``, ``std``, ``lo``, ``hi`` and ``distance``; ``ensemble_std``
        combines their spreads with their disagreement (target unit)."""
        results = [m.predict_distribution(X, self._member_features(m, features)) for m in self.models]
        average = {k: np.mean([r[k] for r in results], axis=0) for k in DISTRIBUTION_KEYS}
        means = np.array([r["mean"] for r in results])
        spread = np.array([r["ensemble_std"] for r in results])
        average["ensemble_std"] = np.sqrt((spread**2).mean(axis=0) + means.var(axis=0))
        return average

    def predict_mean(self, X, features: np.ndarray | None = None) -> np.ndarray:
        return np.mean([m.predict_mean(X, self._member_features(m, features)) for m in self.models], axis=0)

    def domain_notes(self, X, features: np.ndarray | None = None,
                     distribution: dict | None = None) -> list[tuple[str, ...]]:
        """Every member's notes, each once."""
        per_model = [m.domain_notes(X, self._member_features(m, features)) for m in self.models]
        return [tuple(dict.fromkeys(note for notes in row for note in notes)) for row in zip(*per_model)]
