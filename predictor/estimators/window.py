"""Regressor of the electrochemical stability window: reduction and oxidation limits.

One :class:`GBMRegressor` per limit, on the same composition descriptors as the conductivity
model, each with its own calibrated uncertainty; the thermodynamic rules of
:mod:`.window_rules` (binary carrier halides stable against the metal, F > Cl > Br > I, mixtures
between their end members) are applied on top. Limits are in V vs the metal of the mobile
ion (Li+/Li or Na+/Na).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from predictor.errors import ModelLoadError
from predictor.estimators.base import check_targets_given, formula_input_tags
from predictor.estimators.gbm import GBMRegressor
from predictor.estimators.window_rules import apply_window_rules
from predictor.featurizers import CompositionFeaturizer, as_compositions

LIMITS = ("reduction_limit_V", "oxidation_limit_V")


class WindowLimitRegressor(GBMRegressor):
    """Gradient-boosted regressor of one window limit, in V vs Li+/Li or Na+/Na."""

    target_name = "limit_V"
    target_unit = "V"
    #: Spread between published DFT windows of one composition (different phase diagrams).
    default_noise_floor = 0.1


class WindowRegressor(RegressorMixin, BaseEstimator):
    """Predicts both limits of the electrochemical window with calibrated uncertainty.

    Both limits are gradient-boosted models (:class:`WindowLimitRegressor`), fitted with the
    same settings; the thermodynamic rules of :mod:`.window_rules` hold on their predictions.

    Parameters
    ----------
    limit_params : dict or None, default=None
        Keyword arguments of :class:`GBMRegressor` (``n_members``, ``n_estimators``,
        ``calibration_folds``, ...), used for both limit models; None: its defaults.

    Attributes
    ----------
    models_ : dict of str to WindowLimitRegressor
        The fitted model of each limit, keyed by ``reduction_limit_V`` and ``oxidation_limit_V``.

    Examples
    --------
    >>> model = WindowRegressor(limit_params={"n_members": 2}).fit(formulas, Y)  # doctest: +SKIP
    >>> model.predict(["Li3YCl6"])  # [[reduction_limit_V, oxidation_limit_V]] in V  # doctest: +SKIP
    """

    model_family = WindowLimitRegressor.model_family

    def __init__(self, limit_params: dict | None = None):
        self.limit_params = limit_params

    def __sklearn_tags__(self):
        tags = formula_input_tags(super().__sklearn_tags__())
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

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
        params = dict(self.limit_params or {})
        self.models_ = {limit: WindowLimitRegressor(**params).fit(X, Y[:, k], groups=groups)
                        for k, limit in enumerate(LIMITS)}
        return self

    def predict(self, X) -> np.ndarray:
        """Reduction and oxidation limits (V), shape (n_samples, 2), the thermodynamic rules applied."""
        result = self.predict_distribution(X)
        return np.column_stack([result[limit]["mean"] for limit in LIMITS])

    def predict_from_features(self, features: np.ndarray, compositions=None) -> dict[str, dict[str, np.ndarray]]:
        """Per limit, the dict of :meth:`GBMRegressor.predict_from_features` (V).

        With ``compositions`` (the compositions the features were computed from), the
        thermodynamic rules of :mod:`.window_rules` are applied to the means, and the
        interval bounds move with them; without, the regressors' raw predictions.
        """
        result = {limit: model.predict_from_features(features) for limit, model in self.models_.items()}
        if compositions is None or len(features) == 0:
            return result
        reduction, oxidation = apply_window_rules(
            compositions, result["reduction_limit_V"]["mean"], result["oxidation_limit_V"]["mean"], self._predict_means
        )
        for limit, mean in (("reduction_limit_V", reduction), ("oxidation_limit_V", oxidation)):
            shift = mean - result[limit]["mean"]
            result[limit] = {**result[limit], "mean": mean, "lo": result[limit]["lo"] + shift,
                             "hi": result[limit]["hi"] + shift}
        return result

    def _predict_means(self, compositions: list) -> tuple[np.ndarray, np.ndarray]:
        features = CompositionFeaturizer(self.feature_sets).transform(compositions)
        return tuple(self.models_[limit].predict_mean_from_features(features) for limit in LIMITS)

    def domain_notes_from_features(self, features: np.ndarray, elements: list[set[str]],
                                   predictions: dict[str, dict[str, np.ndarray]] | None = None) -> list[tuple[str, ...]]:
        """Reasons each composition lies outside the training domain of either limit's model.

        ``predictions``: the result of :meth:`predict_from_features` for these features, whose
        domain distances are then reused.
        """
        per_limit = [
            model.domain_.notes(features, elements, None if predictions is None else predictions[limit]["distance"])
            for limit, model in self.models_.items()
        ]
        return [tuple(dict.fromkeys(note for notes in row for note in notes)) for row in zip(*per_limit)]

    def predict_distribution(self, X, rules: bool = True) -> dict[str, dict[str, np.ndarray]]:
        """Per limit: mean, calibrated std, interval bounds, spread and domain distance (V).

        ``rules=False`` gives the regressors' raw predictions, without the thermodynamic rules.
        """
        check_is_fitted(self, "models_")
        compositions = as_compositions(X)
        features = CompositionFeaturizer(self.feature_sets).transform(compositions)
        return self.predict_from_features(features, compositions if rules else None)

    @property
    def feature_sets(self) -> tuple[str, ...]:
        return tuple(self.models_[LIMITS[0]].feature_sets)

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        for limit, model in self.models_.items():
            model.save(folder / limit)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "WindowRegressor":
        folder = Path(folder)
        models = {limit: WindowLimitRegressor.load(folder / limit) for limit in LIMITS}
        if len({m.feature_sets for m in models.values()}) != 1:
            raise ModelLoadError(f"{folder}: the two limit models use different descriptor sets")
        regressor = cls(limit_params=models[LIMITS[0]].get_params())
        regressor.models_ = models
        return regressor
