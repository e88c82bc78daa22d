"""Graph-network (Roost) regressor of log10 ionic conductivity with calibrated uncertainty.

Why this design: composition-only input, ~1,000 noisy labels. A Roost network learns its own
descriptor from element embeddings and the fractions, optionally starting from a descriptor
pretrained on ~80k Materials Project formation energies (:mod:`predictor.nn.pretrain`). A
deep ensemble of ``n_members`` networks is trained as a *cross-validation ensemble*: member k
sees every chemical system except those of grouped fold k (each with its own seed and batch
order), so every training composition has one honest held-out prediction. Those out-of-fold
residuals, with the total sigma (aleatoric: the members' heteroscedastic heads; epistemic:
the spread of the member means), calibrate the interval through
:class:`~predictor.estimators.calibration.UncertaintyCalibration`, capped at the standard
deviation of the training targets. At prediction time all members are averaged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from predictor.artifacts import read_estimator_settings, write_manifest
from predictor.estimators.base import DistributionRegressorMixin, check_training_data, grouped_folds
from predictor.estimators.calibration import UncertaintyCalibration
from predictor.estimators.gbm import ConductivityRegressor
from predictor.featurizers.base import as_compositions
from predictor.nn.data import CompositionGraphs
from predictor.nn.losses import LOSSES
from predictor.nn.model import Roost
from predictor.nn.fitting import RoostConfig, predict, train

log = logging.getLogger(__name__)

ARTIFACT_KIND = "graph-regressor"
KEYS = ("mean", "std", "lo", "hi", "ensemble_std", "distance")


class GraphConductivityRegressor(DistributionRegressorMixin, RegressorMixin, BaseEstimator):
    """Deep ensemble of Roost composition networks predicting log10 conductivity (S/cm).

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
        Descriptor weights written by ``python -m predictor.nn.pretrain``
        (``models/pretrained/roost_mp_formation.pt``); None trains from scratch.
    calibrate : bool, default=True
        Calibrate on out-of-fold residuals (needs ``n_members >= 2`` and 10 compositions);
        otherwise every member sees all data and std / interval are NaN.
    coverage : float, default=0.9
        Nominal coverage of :meth:`predict_interval`.
    random_state : int, default=0
    progress : bool, default=False

    Attributes
    ----------
    members_ : list of Roost
    calibration_ : UncertaintyCalibration or None
    target_centre_, target_scale_ : float
        Standardisation of the targets, log10(S/cm).
    oof_mean_, oof_sigma_ : ndarray, shape (n_samples,)
        Out-of-fold mean and uncalibrated total sigma of the training compositions, log10(S/cm).
    """

    target_name = "log10_sigma"
    model_family = "graph-network"
    target_unit = "log10(S/cm)"

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
            raise ValueError(f"pretrained={str(self.pretrained)!r} is not a file; run `python -m predictor.nn.pretrain`")
        return self._config()

    def _pretrained_state(self, config: RoostConfig) -> dict[str, torch.Tensor] | None:
        if self.pretrained is None:
            return None
        from predictor.nn.pretrain import load_pretrained

        state, settings = load_pretrained(self.pretrained)
        if settings.get("architecture") != config.architecture():
            raise ValueError(
                f"pretrained={str(self.pretrained)!r} has architecture {settings.get('architecture')}, "
                f"this estimator has {config.architecture()}"
            )
        return state

    def _splits(self, n: int, groups: np.ndarray) -> list[np.ndarray]:
        """Held-out indices of each member (empty arrays when not calibrating)."""
        k = int(self.n_members)
        folds = grouped_folds(n, groups, k if self.calibrate else 0, self.random_state)
        return [held for _, held in folds] if folds else [np.zeros(0, dtype=int)] * k

    def fit(self, X: Sequence, y, groups: Sequence | None = None) -> "GraphConductivityRegressor":
        """Train the ensemble and calibrate its uncertainty.

        Parameters
        ----------
        X : sequence of str or pymatgen.core.Composition, length n_samples
        y : array-like, shape (n_samples,), log10(S/cm)
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

        self.members_ = []
        bar = tqdm(total=len(held_out), desc=f"fitting {type(self).__name__}", unit="member", disable=not self.progress)
        for k, held in enumerate(held_out):
            seed = int(self.random_state) * 1000 + k
            torch.manual_seed(seed)
            model = config.build_model()
            if state is not None:
                model.descriptor.load_state_dict(state)
            keep = np.setdiff1d(np.arange(len(y)), held)
            train(model, CompositionGraphs([compositions[i] for i in keep], standardised[keep]), config, seed)
            self.members_.append(model)
            bar.update(1)
        bar.close()
        self.train_y_range_ = (float(y.min()), float(y.max()))
        self.calibration_ = None
        if all(len(h) for h in held_out):
            self._calibrate(compositions, y, held_out)
        return self

    def _member_outputs(self, graphs: CompositionGraphs) -> tuple[np.ndarray, np.ndarray]:
        """Means and aleatoric stds of every member, shape (n_members, n_samples), log10(S/cm)."""
        outputs = [predict(m, graphs) for m in self.members_]
        means = np.stack([o[0] for o in outputs]) * self.target_scale_ + self.target_centre_
        stds = np.stack([o[1] for o in outputs]) * self.target_scale_
        return means, stds

    def _calibrate(self, compositions, y: np.ndarray, held_out: list[np.ndarray]) -> None:
        means, stds = self._member_outputs(CompositionGraphs(compositions))
        epistemic = means.std(axis=0)
        oof_mean, oof_sigma = np.zeros(len(y)), np.zeros(len(y))
        for k, held in enumerate(held_out):
            oof_mean[held] = means[k, held]
            oof_sigma[held] = np.sqrt(stds[k, held] ** 2 + epistemic[held] ** 2)
        self.oof_mean_, self.oof_sigma_ = oof_mean, oof_sigma
        self.oof_residuals_ = y - oof_mean
        self.calibration_ = UncertaintyCalibration.fit(
            self.oof_residuals_, oof_sigma, np.zeros(len(y)), oof_mean, coverage=self.coverage, max_std=float(np.std(y)),
            min_noise_std=ConductivityRegressor.default_noise_floor,  # the same label noise as for the trees
        )

    # -- prediction ----------------------------------------------------------------------
    def predict_distribution(self, X) -> dict[str, np.ndarray]:
        """Mean, calibrated std, interval, ensemble spread and distance of formulas X.

        Returns
        -------
        dict of ndarray, each shape (n_samples,)
            ``mean``, ``std``, ``lo``, ``hi`` (calibrated ``coverage`` interval) and
            ``ensemble_std`` (spread of the member means) in log10(S/cm); ``sigma_total``
            (uncalibrated, aleatoric and epistemic combined) in log10(S/cm); ``distance``
            (zeros: this model has no applicability-domain distance).
        """
        check_is_fitted(self, "members_")
        compositions = as_compositions(X)
        if len(compositions) == 0:
            return {k: np.zeros(0) for k in (*KEYS, "sigma_total")}
        means, stds = self._member_outputs(CompositionGraphs(compositions))
        mean, epistemic = means.mean(axis=0), means.std(axis=0)
        total = np.sqrt((stds**2).mean(axis=0) + epistemic**2)
        distance = np.zeros(len(mean))
        if self.calibration_ is None:
            std = half = np.full(len(mean), np.nan)
        else:
            std = self.calibration_.std(total, distance, mean)
            half = self.calibration_.half_width(total, distance, mean)
        return {"mean": mean, "std": std, "lo": mean - half, "hi": mean + half, "ensemble_std": epistemic,
                "distance": distance, "sigma_total": total}

    # -- persistence ---------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write member state_dicts (``torch.save``), settings JSON and a hashed manifest."""
        check_is_fitted(self, "members_")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for i, model in enumerate(self.members_):
            name = f"member_{i:02d}.pt"
            torch.save(model.state_dict(), folder / name)
            files.append(name)
        params = {k: (list(v) if isinstance(v, tuple) else str(v) if isinstance(v, Path) else v)
                  for k, v in self.get_params().items()}
        settings = {
            "class": type(self).__name__,
            "params": params,
            "model_params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.members_[0].model_params.items()},
            "calibration": self.calibration_.to_dict() if self.calibration_ else None,
            "target_centre": self.target_centre_,
            "target_scale": self.target_scale_,
            "train_y_range": list(self.train_y_range_),
        }
        (folder / "estimator.json").write_text(json.dumps(settings, indent=1) + "\n")
        files.append("estimator.json")
        write_manifest(folder, ARTIFACT_KIND, files, estimator=type(self).__name__, target=self.target_name)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "GraphConductivityRegressor":
        """Load a model written by :meth:`save`, verifying hashes (``torch.load(weights_only=True)``)."""
        folder = Path(folder)
        manifest, settings = read_estimator_settings(folder, ARTIFACT_KIND, cls.__name__)
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings["params"].items()})
        architecture = {k: tuple(v) if isinstance(v, list) else v for k, v in settings["model_params"].items()}
        model.members_ = []
        for name in sorted(n for n in manifest["files"] if n.startswith("member_")):
            member = Roost(**architecture)
            member.load_state_dict(torch.load(folder / name, map_location="cpu", weights_only=True))
            member.eval()
            model.members_.append(member)
        calibration = settings["calibration"]
        model.calibration_ = UncertaintyCalibration.from_dict(calibration) if calibration else None
        model.target_centre_, model.target_scale_ = settings["target_centre"], settings["target_scale"]
        model.train_y_range_ = tuple(settings["train_y_range"])
        model.manifest_ = manifest
        return model
