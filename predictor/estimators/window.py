"""Regressor of the electrochemical stability window: reduction and oxidation limits.

One regressor per limit (gradient-boosted by default, :class:`WindowLimitRegressor`; or any
model of the protocol in :mod:`.base`, e.g. the graph network), each with its own calibrated
uncertainty; the thermodynamic rules of
:mod:`.window_rules` (binary carrier halides stable against the metal, F > Cl > Br > I, mixtures
between their end members, trace anions pinned to the composition without them) are applied on top. Limits are in V vs the metal of the mobile
ion (Li+/Li or Na+/Na).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from predictor.errors import ModelLoadError
from predictor.estimators.base import check_targets_given, formula_input_tags
from predictor.estimators.gbm.model import GBMRegressor
from predictor.estimators.window_rules import apply_window_rules
from predictor.featurizers import as_compositions
from predictor.model_layout import WINDOW_LIMITS, part_holds

LIMITS = WINDOW_LIMITS


class WindowLimitRegressor(GBMRegressor):
    """Gradient-boosted regressor of one window limit, in V vs Li+/Li or Na+/Na."""

    target_name = "limit_V"
    target_unit = "V"
    #: Spread between published DFT windows of one composition (different phase diagrams).
    default_noise_floor = 0.1


class WindowRegressor(RegressorMixin, BaseEstimator):
    """Predicts both limits of the electrochemical window with calibrated uncertainty.

    Both limits are fitted with the same settings: gradient-boosted models
    (:class:`WindowLimitRegressor`) by default, or clones of ``estimator``; the thermodynamic
    rules of :mod:`.window_rules` hold on their predictions.

    Parameters
    ----------
    limit_params : dict or None, default=None
        Keyword arguments of :class:`WindowLimitRegressor` (``n_members``, ``n_estimators``,
        ``calibration_folds``, ...), used for both limit models; None: its defaults.
    estimator : regressor or None, default=None
        An unfitted limit regressor of another family (e.g.
        :class:`~predictor.estimators.graph.regressor.GraphWindowLimitRegressor`), cloned for each limit;
        give either this or ``limit_params``.

    Attributes
    ----------
    models_ : dict of str to regressor
        The fitted model of each limit, keyed by ``reduction_limit_V`` and ``oxidation_limit_V``.

    Examples
    --------
    >>> model = WindowRegressor(limit_params={"n_members": 2}).fit(formulas, Y)  # doctest: +SKIP
    >>> model.predict(["Li3YCl6"])  # [[reduction_limit_V, oxidation_limit_V]] in V  # doctest: +SKIP
    """

    target_unit = "V"

    def __init__(self, limit_params: dict | None = None, estimator=None):
        self.limit_params = limit_params
        self.estimator = estimator

    def __sklearn_tags__(self):
        tags = formula_input_tags(super().__sklearn_tags__())
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    def _limit_model(self):
        if self.estimator is not None:
            if self.limit_params:
                raise ValueError("give either estimator or limit_params, not both (set the estimator's own parameters)")
            return clone(self.estimator)
        return WindowLimitRegressor(**dict(self.limit_params or {}))

    @property
    def model_family(self) -> str:
        """The family of the limit models ("gradient-boosted", "graph-network", ...)."""
        models = getattr(self, "models_", None)
        return (models[LIMITS[0]] if models else self._limit_model()).model_family

    def fit(self, X, Y, groups=None) -> "WindowRegressor":
        """Fit both limits.

        Parameters
        ----------
        X : sequence of str or Composition, length n_samples
        Y : array-like of shape (n_samples, 2), unit V
            Columns: reduction limit, oxidation limit (vs Li+/Li or Na+/Na). A DataFrame with
            columns ``reduction_limit_V`` and ``oxidation_limit_V`` is read by those names.
        groups : sequence, optional
            Calibration groups (default: chemical systems).

        Raises
        ------
        ValueError
            When ``Y`` is not two columns of finite numbers, one row per formula.
        """
        check_targets_given(Y)
        if hasattr(Y, "columns") and set(LIMITS) <= set(Y.columns):
            Y = Y[list(LIMITS)]
        Y = np.asarray(Y, dtype=float)
        if Y.ndim != 2 or Y.shape[1] != len(LIMITS):
            raise ValueError(f"Y must have shape (n_samples, 2): columns {', '.join(LIMITS)}; got shape {Y.shape}")
        self.models_ = {limit: self._limit_model().fit(X, Y[:, k], groups=groups) for k, limit in enumerate(LIMITS)}
        return self

    def predict(self, X) -> np.ndarray:
        """Reduction and oxidation limits (V), shape (n_samples, 2), the thermodynamic rules applied."""
        result = self.predict_distribution(X)
        return np.column_stack([result[limit]["mean"] for limit in LIMITS])

    def predict_distribution(self, X, features: np.ndarray | None = None,
                             rules: bool = True) -> dict[str, dict[str, np.ndarray]]:
        """Per limit: mean, calibrated std, interval bounds, spread and domain distance (V).

        ``features``: the descriptors ``feature_sets`` of X, when already computed.
        ``rules=False`` gives the regressors' raw predictions, without the thermodynamic rules
        of :mod:`.window_rules`; with them, the interval bounds move with the means.
        """
        check_is_fitted(self, "models_")
        compositions = as_compositions(X)
        result = {limit: model.predict_distribution(compositions, features) for limit, model in self.models_.items()}
        if not rules or not compositions:
            return result
        reduction, oxidation = apply_window_rules(
            compositions, result["reduction_limit_V"]["mean"], result["oxidation_limit_V"]["mean"], self._predict_means
        )
        for limit, mean in (("reduction_limit_V", reduction), ("oxidation_limit_V", oxidation)):
            shift = mean - result[limit]["mean"]  # the interval moves with the mean; no limit is below 0 V
            result[limit] = {**result[limit], "mean": mean, "lo": np.maximum(result[limit]["lo"] + shift, 0.0),
                             "hi": np.maximum(result[limit]["hi"] + shift, 0.0)}
        return result

    def _predict_means(self, compositions: list) -> tuple[np.ndarray, np.ndarray]:
        return tuple(self.models_[limit].predict_mean(compositions) for limit in LIMITS)

    def domain_notes(self, X, features: np.ndarray | None = None,
                     distribution: dict | None = None) -> list[tuple[str, ...]]:
        """Reasons each composition lies outside the training domain of either limit's model.

        ``distribution``: the result of :meth:`predict_distribution` for X, whose domain
        distances are then reused.
        """
        compositions = as_compositions(X)
        per_limit = [model.domain_notes(compositions, features, None if distribution is None else distribution[limit])
                     for limit, model in self.models_.items()]
        return [tuple(dict.fromkeys(note for notes in row for note in notes)) for row in zip(*per_limit)]

    @property
    def feature_sets(self) -> tuple[str, ...]:
        return tuple(self.models_[LIMITS[0]].feature_sets)

    def save(self, folder: str | Path) -> Path:
        """Write each limit's model into ``folder/<limit>``, its manifest naming the limit."""
        folder = Path(folder)
        for limit, model in self.models_.items():
            model.save(folder / limit, target=limit)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "WindowRegressor":
        """Load both limits, each of the class its manifest names (any registered family).

        Each limit's manifest must name it (a swapped or copied limit folder is refused).
        """
        from predictor.estimators.registry import load_saved

        folder = Path(folder)
        models = {limit: load_saved(folder / limit, holds=part_holds(limit)) for limit in LIMITS}
        classes = {type(m) for m in models.values()}
        if len(classes) != 1:
            raise ModelLoadError(f"{folder}: the two limit models are of different classes "
                                 f"({', '.join(sorted(c.__name__ for c in classes))})")
        if len({tuple(m.feature_sets) for m in models.values()}) != 1:
            raise ModelLoadError(f"{folder}: the two limit models use different descriptor sets")
        first = models[LIMITS[0]]
        if isinstance(first, WindowLimitRegressor):
            regressor = cls(limit_params=first.get_params())
        else:
            regressor = cls(estimator=clone(first))
        regressor.models_ = models
        return regressor
