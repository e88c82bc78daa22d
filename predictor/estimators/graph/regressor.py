"""Graph-network (Roost) regressors of conductivity and window limits with calibrated uncertainty.

Why this design: composition-only input, ~1,000 noisy labels. A Roost network learns its own
descriptor from element embeddings and the fractions, optionally starting from a descriptor
pretrained on ~80k Materials Project formation energies (:mod:`predictor.estimators.graph.pretrain`). A
deep ensemble of ``n_members`` networks is trained as a *cross-validation ensemble*: member k
sees every chemical system except those of grouped fold k (each with its own seed and batch
order), so every training composition has one honest held-out prediction. Those out-of-fold
residuals, with the total sigma (aleatoric: the members' heteroscedastic heads; epistemic:
the spread of the member means) and the distance to the training data (the same descriptor
space and :class:`~predictor.estimators.domain.ApplicabilityDomain` as the gradient-boosted models, each
held-out fold measured against its own training rows), calibrate the interval through
:class:`~predictor.estimators.calibration.UncertaintyCalibration`, with the label-noise floor of
the property and capped at the standard deviation of the training targets. At prediction time
all members are averaged. Members are trained in ``n_jobs`` worker processes, one thread each.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from predictor.artifacts import finite_array, finite_state_dict
from predictor.estimators.domain import ApplicabilityDomain
from predictor.errors import ModelLoadError
from predictor.estimators.parallel import run_jobs
from predictor.estimators.base import (
    DISTRIBUTION_KEYS, LOG10_SIGMA_CEILING, DistributionRegressorMixin, calibrated_distribution, check_training_data,
    grouped_folds, load_estimator_files, save_estimator_files,
)
from predictor.estimators.calibration import UncertaintyCalibration, calibration_categories, cross_conformal
from predictor.estimators.trace_elements import TraceElementPinning
from predictor.featurizers import DEFAULT_FEATURE_SETS, CompositionFeaturizer
from predictor.featurizers.base import as_compositions
from predictor.estimators.graph.data import CompositionGraphs
from predictor.estimators.graph.losses import LOSSES
from predictor.estimators.graph.model import Roost
from predictor.estimators.graph.fitting import RoostConfig, predict, train
from predictor.estimators.graph.segments import FRACTION_WEIGHTING

log = logging.getLogger(__name__)

ARTIFACT_KIND = "graph-regressor"


def fit_graph_member(config: RoostConfig, state: dict | None, compositions: list, y: np.ndarray,
                     seed: int) -> dict[str, torch.Tensor]:
    """Train one member on one thread (standardised targets ``y``); its state_dict."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    model = config.build_model()
    if state is not None:
        model.descriptor.load_state_dict(state)
    train(model, CompositionGraphs(compositions, y), config, seed)
    return model.state_dict()


class GraphRegressor(DistributionRegressorMixin, RegressorMixin, BaseEstimator):
    """Deep ensemble of Roost composition networks predicting one property.

    Parameters
    ----------
    n_members : int, default=5
        Ensemble members; each is trained without one grouped fold (by chemical system),
        which gives the out-of-fold predictions that calibrate the uncertainty.
    epochs : int, default=40
    batch_size : int, default=64
    learning_rate : float, default=2e-3
    weight_decay : float, default=1e-4
    loss : {"laplace", "gaussian"}, default="laplace"
    fea_len, n_graph, n_heads, hidden : int, default=32, 3, 2, 64
        Architecture of the descriptor network (must match the pretrained weights).
    out_hidden : tuple of int, default=(64, 32)
    dropout : float, default=0.0
    pretrained : str or Path or None, default=None
        Descriptor weights written by ``python -m predictor.estimators.graph.pretrain``
        (``models/pretrained/roost_mp_formation.pt``); None trains from scratch. A saved
        model records the file's name only.
    calibrate : bool, default=True
        Calibrate on out-of-fold residuals (needs ``n_members >= 2`` and 10 compositions);
        otherwise every member sees all data and std / interval are NaN.
    coverage : float, default=0.9
        Nominal coverage of :meth:`predict_interval`.
    random_state : int, default=0
    n_jobs : int or None, default=None
        Worker processes training the members (one thread each): None or 1 in this process,
        -1 on every core (see :mod:`predictor.estimators.parallel`).
    progress : bool, default=False

    Attributes
    ----------
    members_ : list of Roost
    calibration_ : UncertaintyCalibration or None
    domain_ : ApplicabilityDomain
        On the descriptors ``feature_sets`` (the distance term of the uncertainty and the domain notes).
    target_centre_, target_scale_ : float
        Standardisation of the targets (target unit).
    oof_mean_, oof_sigma_ : ndarray, shape (n_samples,)
        Out-of-fold mean and uncalibrated total sigma of the training compositions (target unit).
    held_out_ : dict of ndarray or None
        The grouped cross-validation of the ensemble from its members' folds
        (:func:`predictor.estimators.calibration.cross_conformal`); None without calibration. Not saved.
    """

    target_name = "y"
    model_family = "graph-network"
    target_unit = ""
    #: Descriptors of the applicability domain only (the network reads the composition itself).
    feature_sets = DEFAULT_FEATURE_SETS
    #: Floor of the noise term of the uncertainty (target unit): the label noise of the property.
    default_noise_floor = 0.0
    #: Let the noise grow below a reference level of the prediction (see calibration module).
    level_term = False

    def __init__(
        self,
        n_members: int = 5,
        epochs: int = 40,
        batch_size: int = 64,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-4,
        loss: str = "laplace",
        fea_len: int = 32,
        n_graph: int = 3,
        n_heads: int = 2,
        hidden: int = 64,
        out_hidden: tuple[int, ...] = (64, 32),
        dropout: float = 0.0,
        pretrained: str | Path | None = None,
        calibrate: bool = True,
        coverage: float = 0.9,
        random_state: int = 0,
        n_jobs: int | None = None,
        progress: bool = False,
    ):
        self.n_members = n_members
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.loss = loss
        self.fea_len = fea_len
        self.n_graph = n_graph
        self.n_heads = n_heads
        self.hidden = hidden
        self.out_hidden = out_hidden
        self.dropout = dropout
        self.pretrained = pretrained
        self.calibrate = calibrate
        self.coverage = coverage
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.progress = progress

    # -- fitting -------------------------------------------------------------------------
    def _config(self) -> RoostConfig:
        return RoostConfig(
            epochs=int(self.epochs), batch_size=int(self.batch_size), learning_rate=float(self.learning_rate),
            weight_decay=float(self.weight_decay), loss=self.loss, fea_len=int(self.fea_len),
            n_graph=int(self.n_graph), n_heads=int(self.n_heads), hidden=int(self.hidden),
            out_hidden=tuple(self.out_hidden), dropout=float(self.dropout),
        )

    def _validate_parameters(self) -> RoostConfig:
        if int(self.n_members) < 1:
            raise ValueError(f"n_members={self.n_members} must be at least 1")
        if not 0 < self.coverage < 1:
            raise ValueError(f"coverage={self.coverage} must be between 0 and 1")
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r} must be one of {tuple(LOSSES)}")
        if self.pretrained is not None and not Path(self.pretrained).is_file():
            raise ValueError(f"pretrained={str(self.pretrained)!r} is not a file; run `python -m predictor.estimators.graph.pretrain`")
        return self._config()

    def _pretrained_state(self, config: RoostConfig) -> dict[str, torch.Tensor] | None:
        if self.pretrained is None:
            return None
        from predictor.estimators.graph.pretrain import load_pretrained

        state, settings = load_pretrained(self.pretrained)
        if settings.get("architecture") != config.architecture():
            raise ValueError(
                f"pretrained={str(self.pretrained)!r} has architecture {settings.get('architecture')}, "
                f"this estimator has {config.architecture()}; pretrain again with `python -m predictor.estimators.graph.pretrain`"
            )
        return state

    def _splits(self, n: int, groups: np.ndarray) -> list[np.ndarray]:
        """Held-out indices of each member (empty arrays when not calibrating)."""
        k = int(self.n_members)
        folds = grouped_folds(n, groups, k if self.calibrate else 0, self.random_state)
        return [held for _, held in folds] if folds else [np.zeros(0, dtype=int)] * k

    def fit(self, X: Sequence, y, groups: Sequence | None = None) -> "GraphRegressor":
        """Train the ensemble, its applicability domain, and calibrate its uncertainty.

        Parameters
        ----------
        X : sequence of str or pymatgen.core.Composition, length n_samples
        y : array-like, shape (n_samples,), target unit
        groups : sequence, length n_samples, optional
            Groups of the held-out folds; default: the chemical system of each formula.

        Returns
        -------
        self
        """
        config = self._validate_parameters()
        torch.set_num_threads(1)
        compositions, y, groups = check_training_data(X, y, groups)
        self.target_centre_, self.target_scale_ = float(y.mean()), float(max(y.std(), 1e-6))
        standardised = (y - self.target_centre_) / self.target_scale_
        state = self._pretrained_state(config)
        held_out = self._splits(len(y), groups)

        jobs = []
        for k, held in enumerate(held_out):
            keep = np.setdiff1d(np.arange(len(y)), held)
            jobs.append((config, state, [compositions[i] for i in keep], standardised[keep],
                         int(self.random_state) * 1000 + k))
        bar = tqdm(total=len(jobs), desc=f"fitting {type(self).__name__}", unit="member", disable=not self.progress)
        states = run_jobs(fit_graph_member, jobs, self.n_jobs, lambda: bar.update(1),
                          preload=("torch", "predictor.estimators.graph.fitting"))
        bar.close()
        self.members_ = [self._member(config.build_model(), member_state) for member_state in states]

        features = CompositionFeaturizer(tuple(self.feature_sets)).transform(compositions)
        elements = [{e.symbol for e in c.elements} for c in compositions]
        self.domain_ = ApplicabilityDomain().fit(features, elements)
        self.train_y_range_ = (float(y.min()), float(y.max()))
        self.calibration_ = self.held_out_ = None
        if all(len(h) for h in held_out):
            self._calibrate(compositions, features, elements, y, held_out)
        return self

    @staticmethod
    def _member(model, state: dict):
        model.load_state_dict(state)
        model.eval()
        return model

    def _member_outputs(self, graphs: CompositionGraphs) -> tuple[np.ndarray, np.ndarray]:
        """Means and aleatoric stds of every member, shape (n_members, n_samples), target unit."""
        outputs = [predict(m, graphs) for m in self.members_]
        means = np.stack([o[0] for o in outputs]) * self.target_scale_ + self.target_centre_
        stds = np.stack([o[1] for o in outputs]) * self.target_scale_
        return means, stds

    def _calibrate(self, compositions, features, elements, y: np.ndarray, held_out: list[np.ndarray]) -> None:
        means, stds = self._member_outputs(CompositionGraphs(compositions))
        epistemic = means.std(axis=0)
        oof_mean, oof_sigma, distance = np.zeros(len(y)), np.zeros(len(y)), np.zeros(len(y))
        for k, held in enumerate(held_out):
            oof_mean[held] = means[k, held]
            oof_sigma[held] = np.sqrt(stds[k, held] ** 2 + epistemic[held] ** 2)
            keep = np.setdiff1d(np.arange(len(y)), held)
            domain = ApplicabilityDomain().fit(features[keep], [elements[i] for i in keep])
            distance[held] = domain.distance(features[held])
        self.oof_mean_, self.oof_sigma_ = oof_mean, oof_sigma
        self.oof_residuals_ = y - oof_mean
        options = {"coverage": self.coverage, "max_std": float(np.std(y)), "min_noise_std": self.default_noise_floor,
                   "level_term": self.level_term}
        self.held_out_ = cross_conformal(self.oof_residuals_, oof_sigma, distance, oof_mean, held_out, compositions,
                                         getattr(self, "interval_ceiling", None), **options)
        self.calibration_ = UncertaintyCalibration.fit(self.oof_residuals_, oof_sigma, distance, oof_mean,
                                                       categories=calibration_categories(compositions), **options)

    # -- prediction ----------------------------------------------------------------------
    def _features(self, X, features: np.ndarray | None = None) -> tuple[np.ndarray, list]:
        check_is_fitted(self, "members_")
        compositions = as_compositions(X)
        if features is None:
            features = CompositionFeaturizer(tuple(self.feature_sets)).transform(compositions)
        if len(features) != len(compositions):
            raise ValueError(f"features has {len(features)} rows for {len(compositions)} formulas")
        return features, compositions

    def _outputs(self, compositions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, spread of the member means and uncalibrated total sigma (target unit)."""
        means, stds = self._member_outputs(CompositionGraphs(compositions))
        mean, epistemic = means.mean(axis=0), means.std(axis=0)
        return mean, epistemic, np.sqrt((stds**2).mean(axis=0) + epistemic**2)

    def predict_distribution(self, X, features: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Mean, calibrated std, interval, ensemble spread and domain distance of formulas X.

        ``features``: the descriptors ``feature_sets`` of X, when already computed.

        Returns
        -------
        dict of ndarray, each shape (n_samples,)
            ``mean``, ``std``, ``lo``, ``hi`` (calibrated ``coverage`` interval) and
            ``ensemble_std`` (spread of the member means) in the target unit; ``sigma_total``
            (uncalibrated, aleatoric and epistemic combined, the spread term of the
            calibration); ``distance`` to the training data (relative, see
            :class:`~predictor.estimators.domain.ApplicabilityDomain`).
        """
        features, compositions = self._features(X, features)
        if len(compositions) == 0:
            return {k: np.zeros(0) for k in (*DISTRIBUTION_KEYS, "sigma_total")}
        mean, epistemic, total = self._outputs(compositions)
        result = calibrated_distribution(self.calibration_, mean, total, self.domain_.distance(features), compositions)
        return {**result, "ensemble_std": epistemic, "sigma_total": total}

    def predict_mean(self, X, features: np.ndarray | None = None) -> np.ndarray:
        """The ensemble's mean prediction of formulas X, shape (n_samples,)."""
        check_is_fitted(self, "members_")
        compositions = as_compositions(X)
        return self._outputs(compositions)[0] if compositions else np.zeros(0)

    def domain_notes(self, X, features: np.ndarray | None = None,
                     distribution: dict | None = None) -> list[tuple[str, ...]]:
        """Reasons each composition lies outside the training domain (empty when inside)."""
        features, compositions = self._features(X, features)
        distance = None if distribution is None else distribution["distance"]
        return self.domain_.notes(features, [{e.symbol for e in c.elements} for c in compositions], distance=distance)

    # -- persistence ---------------------------------------------------------------------
    def save(self, folder: str | Path, target: str | None = None) -> Path:
        """Write member state_dicts (``torch.save``), settings JSON, the domain and a hashed manifest
        naming the ``target`` (default ``target_name``; :class:`~predictor.estimators.window.WindowRegressor` names each limit)."""
        check_is_fitted(self, "members_")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for i, model in enumerate(self.members_):
            name = f"member_{i:02d}.pt"
            torch.save(model.state_dict(), folder / name)
            files.append(name)
        params = self.get_params()
        if params["pretrained"] is not None:  # the file name only: no path of this machine in the model
            params["pretrained"] = Path(params["pretrained"]).name
        save_estimator_files(
            self, folder, ARTIFACT_KIND, files, params=params, target=target,
            model_params={k: list(v) if isinstance(v, tuple) else v for k, v in self.members_[0].model_params.items()},
            target_centre=self.target_centre_, target_scale=self.target_scale_, fraction_weighting=FRACTION_WEIGHTING,
        )
        return folder

    @classmethod
    def load(cls, folder: str | Path, expected: tuple[str, str] | None = None) -> "GraphRegressor":
        """Load a model written by :meth:`save`, verifying hashes (``torch.load(weights_only=True)``), that
        its weights and target scaling are finite numbers and (when given) that it holds ``expected``."""
        folder = Path(folder)
        model, manifest, settings = load_estimator_files(cls, folder, ARTIFACT_KIND, expected)
        check_fraction_weighting(settings.get("fraction_weighting"), folder)
        architecture = {k: tuple(v) if isinstance(v, list) else v for k, v in settings["model_params"].items()}
        model.members_ = []
        for name in sorted(n for n in manifest["files"] if n.startswith("member_")):
            member = Roost(**architecture)
            member.load_state_dict(finite_state_dict(torch.load(folder / name, map_location="cpu", weights_only=True),
                                                     folder / name))
            member.eval()
            model.members_.append(member)
        centre, scale = finite_array([settings["target_centre"], settings["target_scale"]], folder / "estimator.json",
                                     "target_centre and target_scale", (2,))
        if scale <= 0:
            raise ModelLoadError(f"{folder / 'estimator.json'}: target_scale {scale} is not positive")
        model.target_centre_, model.target_scale_ = float(centre), float(scale)
        return model


def check_fraction_weighting(recorded: str | None, folder: Path) -> None:
    """Refuse networks saved under another attention weighting: their weights compute other numbers here.

    Raises
    ------
    ModelLoadError
        When ``recorded`` (from the saved settings) is not :data:`~predictor.estimators.graph.segments.FRACTION_WEIGHTING`.
    """
    if recorded != FRACTION_WEIGHTING:
        raise ModelLoadError(
            f"{folder}: graph network saved with attention weighting {recorded or 'fraction ** (1 + softplus(pow)), free gates'!r}, "
            f"this version computes {FRACTION_WEIGHTING!r}; retrain it (`predictor train`)"
        )


class GraphConductivityRegressor(TraceElementPinning, GraphRegressor):
    """Graph-network ensemble predicting log10 of the room-temperature conductivity (S/cm).

    A trace element moves the prediction by a trace only (:mod:`predictor.estimators.trace_elements`); intervals
    stop at 0.1 S/cm (:data:`predictor.estimators.base.LOG10_SIGMA_CEILING`).
    """

    target_name = "log10_sigma"
    target_unit = "log10(S/cm)"
    #: Spread of repeated measurements of one composition, as for the gradient-boosted model.
    default_noise_floor = 0.4
    level_term = True
    interval_ceiling = LOG10_SIGMA_CEILING


class GraphWindowLimitRegressor(GraphRegressor):
    """Graph-network ensemble predicting one window limit, in V vs Li+/Li or Na+/Na."""

    target_name = "limit_V"
    target_unit = "V"
    #: Spread between published DFT windows of one composition, as for the gradient-boosted model.
    default_noise_floor = 0.1
