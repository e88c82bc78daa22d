"""What every conductivity and window regressor shares on top of its ``predict_distribution``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from predictor.composition import chemical_system
from predictor.featurizers.base import as_compositions


#: Keys of every ``predict_distribution`` result (arrays of shape (n_samples,)).
DISTRIBUTION_KEYS = ("mean", "std", "lo", "hi", "ensemble_std", "distance")

#: Upper bound (log10 S/cm) of every conductivity interval: the fastest solid ion conductors
#: known reach 1e-2 to 3e-2 S/cm at room temperature, so an interval reaching above 0.1 S/cm
#: would claim what no composition has shown.
LOG10_SIGMA_CEILING = -1.0


@runtime_checkable
class PropertyRegressor(Protocol):
    """What every property model implements, so that :class:`~predictor.Predictor` can serve any family.

    A model takes formulas (str or pymatgen Composition); its descriptors, when it uses any,
    are computed inside, or passed in as ``features`` (computed once per batch by the
    caller for every model using the same ``feature_sets``).

    Attributes
    ----------
    model_family : str
        Reported in the predictor's ``*_model`` columns ("gradient-boosted", "graph-network").
    target_name, target_unit : str
        E.g. "log10_sigma" in "log10(S/cm)", "limit_V" in "V".
    feature_sets : tuple of str
        The descriptor families of ``features`` (:data:`predictor.featurizers.FEATURIZERS`).
    """

    model_family: str
    target_name: str
    target_unit: str
    feature_sets: tuple[str, ...]

    def fit(self, X, y, groups=None) -> "PropertyRegressor":
        """Fit on formulas X and targets y (target unit); ``groups`` of the calibration folds."""

    def predict_distribution(self, X, features: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """:data:`DISTRIBUTION_KEYS`: ``mean``, calibrated ``std``, ``lo``/``hi`` (the calibrated
        ``coverage`` interval), ``ensemble_std`` (target unit) and ``distance`` (to the training
        data, 1 = a typical training point)."""

    def predict_mean(self, X, features: np.ndarray | None = None) -> np.ndarray:
        """The mean alone (cheaper when the model has a cheaper path), shape (n_samples,)."""

    def domain_notes(self, X, features: np.ndarray | None = None,
                     distribution: dict | None = None) -> list[tuple[str, ...]]:
        """Why each composition lies outside the training domain (empty tuples when inside);
        ``distribution`` (this model's result for X) avoids computing the distances twice."""

    def save(self, folder: str | Path, target: str | None = None) -> Path:
        """Write the model as plain files with a manifest naming its ``kind``, class, property and
        ``target`` (default ``target_name``; a window limit model is saved under its limit)."""


def calibrated_distribution(calibration, mean: np.ndarray, spread: np.ndarray, distance: np.ndarray,
                            compositions=None) -> dict[str, np.ndarray]:
    """The :data:`DISTRIBUTION_KEYS` of a prediction: std and interval NaN when uncalibrated.

    ``calibration`` is an :class:`~predictor.estimators.calibration.UncertaintyCalibration`
    or None; ``spread`` the model's uncalibrated ensemble spread, ``distance`` its domain
    distance; ``compositions`` (the predicted ones) choose each row's conformal factor by its
    family (the pooled factor when None).
    """
    if calibration is None:
        std = half = np.full(len(mean), np.nan)
    else:
        factors = None if compositions is None else calibration.factors(compositions)
        std = calibration.std(spread, distance, mean, factors)
        half = calibration.half_width(spread, distance, mean, factors)
    return {"mean": mean, "std": std, "lo": mean - half, "hi": mean + half, "ensemble_std": spread,
            "distance": distance}


ESTIMATOR_FILE = "estimator.json"
DOMAIN_FILE = "domain.npz"


def save_estimator_files(model, folder: Path, kind: str, files: list[str], params: dict | None = None,
                         target: str | None = None, **settings) -> Path:
    """Write what every saved property model has beside its own files, then the manifest.

    ``domain.npz`` (its :class:`~predictor.estimators.domain.ApplicabilityDomain`), ``estimator.json``
    (class, parameters, calibration, training target range and the descriptor labels, plus
    ``settings``; ``params`` replaces ``model.get_params()``) and ``manifest.json`` listing ``files`` (the model's own, already written)
    and these, with the class (:mod:`.registry` loads by that name), the ``target`` (default the
    model's ``target_name``; a window limit model names its limit) and its property named
    (:func:`predictor.model_layout.part_holds`).

    Raises
    ------
    ValueError
        For a target that no part of a model folder holds (such a folder would never load).
    """
    import json

    from predictor.artifacts import write_manifest
    from predictor.featurizers import CompositionFeaturizer
    from predictor.model_layout import part_holds

    folder = Path(folder)
    holds = part_holds(target or model.target_name)
    np.savez_compressed(folder / DOMAIN_FILE, **model.domain_.to_arrays())
    document = {
        "class": type(model).__name__,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in (params or model.get_params()).items()},
        "calibration": model.calibration_.to_dict() if model.calibration_ else None,
        "train_y_range": list(model.train_y_range_),
        "feature_labels": CompositionFeaturizer(tuple(model.feature_sets)).feature_labels(),
        **settings,
    }
    (folder / ESTIMATOR_FILE).write_text(json.dumps(document, indent=1) + "\n")
    write_manifest(folder, kind, [*files, DOMAIN_FILE, ESTIMATOR_FILE], holds=holds, estimator=type(model).__name__)
    return folder


def load_estimator_files(cls, folder: Path, kind: str, expected: tuple[str, str] | None = None):
    """A model of class ``cls`` with what :func:`save_estimator_files` wrote; its manifest and settings.

    The manifest is verified (hashes, versions, the ``(property, target)`` ``expected`` where it
    is loaded, when given), the descriptor labels must be those this
    version computes, the arrays of ``domain.npz`` and the numbers of ``estimator.json`` finite
    and of the shapes the model needs; ``domain_``, ``calibration_``, ``train_y_range_`` and
    ``manifest_`` are set.

    Raises
    ------
    ModelLoadError
    """
    from predictor.artifacts import finite_array, read_estimator_settings
    from predictor.estimators.domain import ApplicabilityDomain
    from predictor.errors import ModelLoadError
    from predictor.estimators.calibration import UncertaintyCalibration
    from predictor.featurizers import CompositionFeaturizer

    folder = Path(folder)
    manifest, settings = read_estimator_settings(folder, kind, cls.__name__, expected)
    model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings["params"].items()})
    labels = CompositionFeaturizer(tuple(model.feature_sets)).feature_labels()
    if settings.get("feature_labels") != labels:
        raise ModelLoadError(f"{folder} was trained on a different descriptor set than this version of predictor "
                             "computes; retrain with `predictor train`")
    with np.load(folder / DOMAIN_FILE, allow_pickle=False) as arrays:
        model.domain_ = ApplicabilityDomain.from_arrays(domain_arrays(arrays, folder / DOMAIN_FILE, len(labels)))
    calibration = settings["calibration"]
    model.calibration_ = UncertaintyCalibration.from_dict(calibration) if calibration else None
    if model.calibration_ is not None:
        numbers = model.calibration_.to_dict()
        categories = numbers.pop("category_quantiles")
        finite_array([*numbers.values(), *categories.values()], folder / ESTIMATOR_FILE, "calibration")
    y_range = finite_array(settings["train_y_range"], folder / ESTIMATOR_FILE, "train_y_range", (2,))
    model.train_y_range_ = tuple(float(y) for y in y_range)
    model.manifest_ = manifest
    return model, manifest, settings


def domain_arrays(arrays, file: Path, n_features: int) -> dict[str, np.ndarray]:
    """The arrays of a saved applicability domain (``domain.npz``), checked before use.

    ``center`` and ``scale`` (positive) of shape (n_features,), ``reference`` (the standardised
    training descriptors, shape (n_train, n_features)) and ``params`` (neighbours, quantile,
    typical distance, threshold) finite; ``elements`` element symbols.

    Raises
    ------
    ModelLoadError
        Naming the file and the array: missing, not finite or of the wrong shape.
    """
    from predictor.artifacts import finite_array
    from predictor.errors import ModelLoadError

    missing = [name for name in ("center", "scale", "reference", "elements", "params") if name not in arrays]
    if missing:
        raise ModelLoadError(f"{file} has no array {', '.join(missing)}")
    checked = {"center": finite_array(arrays["center"], file, "center", (n_features,)),
               "scale": finite_array(arrays["scale"], file, "scale", (n_features,)),
               "reference": finite_array(arrays["reference"], file, "reference", (None, n_features)),
               "params": finite_array(arrays["params"], file, "params", (4,))}
    elements = arrays["elements"]
    if elements.ndim != 1 or (elements.size and elements.dtype.kind != "U"):
        raise ModelLoadError(f"{file}: elements is not a list of element symbols")
    if not (checked["scale"] > 0).all() or len(checked["reference"]) == 0 or checked["params"][2] <= 0:
        raise ModelLoadError(f"{file}: not the arrays of an applicability domain (a scale or typical distance "
                             "at or below 0, or no training compositions)")
    return {**checked, "elements": elements}


def formula_input_tags(tags):
    """scikit-learn estimator tags of a model whose X is a sequence of formulas.

    X is one-dimensional (one formula, a string or pymatgen Composition, per sample), never a
    2-D numeric array; the descriptors are computed inside the model. With these tags
    scikit-learn's common checks, which feed 2-D numeric arrays, skip the estimator.
    """
    tags.input_tags.one_d_array = True
    tags.input_tags.two_d_array = False
    tags.input_tags.string = True
    return tags


class DistributionRegressorMixin:
    """``predict`` and ``predict_interval`` from ``predict_distribution(X)``, and formula-input tags.

    ``predict_distribution`` returns a dict of arrays of shape (n_samples,) with at least
    ``mean``, ``std`` (calibrated standard deviation) and ``lo``, ``hi`` (bounds of the
    calibrated ``coverage`` interval), in the target's unit.
    """

    def __sklearn_tags__(self):
        return formula_input_tags(super().__sklearn_tags__())

    def predict(self, X, return_std: bool = False):
        """Predicted target.

        Parameters
        ----------
        X : sequence of str or Composition, length n_samples
        return_std : bool, default=False
            Also return the calibrated standard deviation.

        Returns
        -------
        y_mean : ndarray, shape (n_samples,)
        y_std : ndarray, shape (n_samples,), only when ``return_std``
        """
        result = self.predict_distribution(X)
        return (result["mean"], result["std"]) if return_std else result["mean"]

    def predict_interval(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the calibrated ``coverage`` interval, each shape (n_samples,)."""
        result = self.predict_distribution(X)
        return result["lo"], result["hi"]


def check_training_data(X, y, groups=None) -> tuple[list, np.ndarray, np.ndarray]:
    """Parsed compositions, float targets and group labels of a training set.

    ``groups`` defaults to the chemical system of each formula, so that held-out folds hold
    unseen chemical systems. Raises ValueError (or CompositionError naming the formula) on
    a missing y, mismatched lengths, fewer than 2 rows or non-finite targets.
    """
    check_targets_given(y)
    compositions = as_compositions(X)
    y = np.asarray(y, dtype=float).ravel()
    if len(y) != len(compositions):
        raise ValueError(f"X has {len(compositions)} formulas but y has {len(y)} values")
    if len(y) < 2:
        raise ValueError(f"need at least 2 training compositions, got {len(y)}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"y has {int((~np.isfinite(y)).sum())} non-finite values")
    groups = np.asarray(groups if groups is not None else [chemical_system(c) for c in compositions])
    return compositions, y, groups


def check_targets_given(y) -> None:
    """Refuse ``fit(X, None)`` with scikit-learn's wording (a regressor needs its targets)."""
    if y is None:
        raise ValueError("this regressor requires y to be passed, but the target y is None")


def grouped_folds(n: int, groups, n_folds: int, random_state: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, held-out) index pairs of the folds that calibrate a model's uncertainty.

    Grouped (``GroupKFold``), so that held-out rows are unseen groups (chemical systems);
    when there are fewer groups than folds, shuffled ungrouped folds with a warning. Empty
    when ``n_folds < 2`` or ``n < 10`` (too few rows to calibrate).
    """
    from sklearn.model_selection import GroupKFold, KFold

    n_folds = int(n_folds)
    if n_folds < 2 or n < 10:
        return []
    groups = np.asarray(groups)
    if len(set(groups.tolist())) >= n_folds:
        return list(GroupKFold(n_splits=n_folds).split(np.zeros(n), groups=groups))
    logging.getLogger(__name__).warning(
        "only %d groups for %d calibration folds: calibrating on ungrouped folds", len(set(groups.tolist())), n_folds)
    return list(KFold(n_splits=n_folds, shuffle=True, random_state=int(random_state)).split(np.zeros(n)))
