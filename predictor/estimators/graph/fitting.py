"""Training settings (one frozen dataclass) and the training loop of :class:`~predictor.estimators.graph.model.Roost`."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from tqdm.auto import tqdm

from predictor.estimators.graph.data import CompositionGraphs
from predictor.estimators.graph.losses import LOSSES
from predictor.estimators.graph.model import Roost

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoostConfig:
    """Settings of one training run.

    Parameters
    ----------
    epochs : int, default=40
    batch_size : int, default=64
    learning_rate : float, default=2e-3
        Peak learning rate of AdamW (cosine decay to 1 % of it).
    weight_decay : float, default=1e-4
    loss : {"laplace", "gaussian"}, default="laplace"
        Heteroscedastic negative log-likelihood, see :mod:`predictor.estimators.graph.losses`.
    fea_len, n_graph, n_heads, hidden : int
        Architecture of :class:`~predictor.estimators.graph.model.DescriptorNetwork`.
    out_hidden : tuple of int, default=(64, 32)
    dropout : float, default=0.0
    embedding : str, default="matscholar200"
    """

    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    loss: str = "laplace"
    fea_len: int = 32
    n_graph: int = 3
    n_heads: int = 2
    hidden: int = 64
    out_hidden: tuple[int, ...] = (64, 32)
    dropout: float = 0.0
    embedding: str = "matscholar200"

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r} must be one of {tuple(LOSSES)}")
        for name in ("epochs", "batch_size", "fea_len", "n_graph", "n_heads", "hidden"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be at least 1")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate={self.learning_rate} must be strictly positive")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout={self.dropout} must be in [0, 1)")
        object.__setattr__(self, "out_hidden", tuple(int(v) for v in self.out_hidden))

    def build_model(self) -> Roost:
        """A freshly initialised network with this architecture (seed torch first)."""
        return Roost(self.embedding, self.fea_len, self.n_graph, self.n_heads, self.hidden, self.out_hidden, self.dropout)

    def architecture(self) -> dict:
        """The architecture fields only: two configs with equal architectures share weights."""
        from predictor.estimators.graph.segments import FRACTION_WEIGHTING

        fields_ = ("fea_len", "n_graph", "n_heads", "hidden", "embedding")
        return {**{k: v for k, v in asdict(self).items() if k in fields_}, "fraction_weighting": FRACTION_WEIGHTING}

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> "RoostConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names})


def train(model: Roost, data: CompositionGraphs, config: RoostConfig, seed: int, progress: bool = False,
          description: str = "training") -> list[float]:
    """Fit ``model`` in place on ``data`` (targets already standardised).

    Parameters
    ----------
    model : Roost
    data : CompositionGraphs
        With targets, in standardised units (zero mean, unit variance).
    config : RoostConfig
    seed : int
        Seeds the order of the batches (and, through torch, dropout).
    progress : bool, default=False
        Show a tqdm bar over epochs.

    Returns
    -------
    list of float
        Mean training loss per epoch.
    """
    if data.targets is None:
        raise ValueError("data has no targets")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    targets = torch.from_numpy(data.targets)
    loss_fn = LOSSES[config.loss]
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, foreach=True)
    steps = config.epochs * int(np.ceil(len(data) / config.batch_size))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(steps, 1),
                                                          eta_min=config.learning_rate / 100)
    history = []
    model.train()
    epochs = tqdm(range(config.epochs), desc=description, unit="epoch", disable=not progress, leave=False)
    for _ in epochs:
        total = 0.0
        for indices, batch in data.batches(config.batch_size, rng):
            mean, log_std = model(batch)
            loss = loss_fn(mean, log_std, targets[indices])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(indices)
        history.append(total / len(data))
        epochs.set_postfix(loss=f"{history[-1]:.3f}")
    model.eval()
    return history


@torch.no_grad()
def predict(model: Roost, data: CompositionGraphs, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (standardised units) of every composition in ``data``.

    Runs on one thread: the batches are small, and PyTorch's default of one thread per core
    waits on other work sharing the cores (measured: a single-formula prediction of the shipped
    models took 1.7 s instead of 0.09 s beside a busy process). Parallelise in processes instead.
    """
    if model.training:
        model.eval()
    means, stds = [], []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _, batch in data.batches(batch_size):
            mean, log_std = model(batch)
            means.append(mean.numpy())
            stds.append(np.exp(log_std.numpy()))
    finally:
        torch.set_num_threads(threads)
    if not means:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(means).astype(float), np.concatenate(stds).astype(float)
