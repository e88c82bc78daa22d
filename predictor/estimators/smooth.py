"""A smooth surrogate of the boosted trees, so that predictions move continuously with composition.

Why: a tree ensemble is a step function of its descriptors. Even with descriptors that are
continuous in the element amounts, a trace dopant can carry a composition across a split
point that lies between two nearby training compositions, and the prediction jumps (measured
on 400 trace-dopant pairs: log10 sigma moved by more than 0.05 in 16 % of them, up to 0.6).
A network with smooth activations cannot jump.

How: the bag of boosted trees (the *teacher*) is evaluated on the training compositions and on
their neighbourhood: each composition with a small amount of another element substituted in
(between 2 % and 50 % of one element's amount) and mixed with another training composition
(2 % to 50 %). A small multilayer perceptron (the *student*; SiLU activations) is fitted to the
teacher's mean and the logarithm of its ensemble spread on those points, and that is what
predicts. The student keeps what the teacher learnt from the labels, and its smoothness makes
it fill the gaps between compositions without steps. Training uses PyTorch; prediction is a
few matrix products in NumPy (no PyTorch import when predicting).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
from pymatgen.core import Composition

#: Substituted or mixed-in amounts, as a fraction of the element (or composition) they replace.
NEIGHBOUR_FRACTIONS = (0.02, 0.5)
#: Rows per optimisation step.
BATCH_SIZE = 512


def neighbourhood(compositions: Sequence[Composition], n_per_composition: int, seed: int) -> list[Composition]:
    """Compositions near the given ones: substitutions and mixtures (see module docstring).

    Parameters
    ----------
    compositions : sequence of Composition
    n_per_composition : int
        Neighbours made for each composition (half substitutions, half mixtures).
    seed : int

    Returns
    -------
    list of Composition, length ``n_per_composition * len(compositions)``
    """
    rng = random.Random(seed)
    amounts = [c.fractional_composition.get_el_amt_dict() for c in compositions]
    elements = sorted({el for a in amounts for el in a})
    low, high = np.log10(NEIGHBOUR_FRACTIONS[0]), np.log10(NEIGHBOUR_FRACTIONS[1])
    result = []
    for k, base in enumerate(amounts):
        for j in range(n_per_composition):
            t = 10 ** rng.uniform(low, high)
            if j % 2 == 0:
                host = rng.choice(sorted(base))
                guest = rng.choice(elements)
                new = dict(base)
                new[host] -= t * base[host]
                new[guest] = new.get(guest, 0.0) + t * base[host]
            else:
                other = amounts[rng.randrange(len(amounts))]
                new = {el: (1 - t) * base.get(el, 0.0) + t * other.get(el, 0.0) for el in sorted(set(base) | set(other))}
            result.append(Composition({el: a for el, a in new.items() if a > 1e-9}))
    return result


class SmoothSurrogate:
    """Multilayer perceptron fitted to another model's outputs; continuous in its inputs.

    Parameters
    ----------
    hidden : tuple of int, default=(256, 128)
        Widths of the hidden layers (SiLU activations).
    epochs : int, default=300
    learning_rate : float, default=3e-3
    weight_decay : float, default=1e-5
    input_noise : float, default=0.08
        Standard deviation of the Gaussian noise added to the standardised descriptors while
        training: the network cannot resolve, so does not learn, changes finer than this (in
        units of each descriptor's spread over the training set), which bounds its slopes.
    seed : int, default=0

    Attributes
    ----------
    weights_, biases_ : list of ndarray
        The layers, applied as ``x @ W + b``.
    """

    def __init__(self, hidden: tuple[int, ...] = (256, 128), epochs: int = 300, learning_rate: float = 3e-3,
                 weight_decay: float = 1e-5, input_noise: float = 0.08, seed: int = 0):
        self.hidden = tuple(hidden)
        self.input_noise = input_noise
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.seed = seed

    def _standardise(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, dtype=float) - self.center_) / self.scale_
        return np.where(np.isfinite(z), np.clip(z, -10.0, 10.0), 0.0)

    def fit(self, features: np.ndarray, targets: np.ndarray) -> "SmoothSurrogate":
        """Fit to ``targets`` (shape (n_samples, n_outputs)) of ``features`` (n_samples, n_features)."""
        import torch

        features, targets = np.asarray(features, dtype=float), np.asarray(targets, dtype=float)
        self.center_ = np.nan_to_num(np.nanmean(features, axis=0))
        scale = np.nanstd(features, axis=0)
        self.scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        self.target_center_, self.target_scale_ = targets.mean(axis=0), targets.std(axis=0) + 1e-12

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            torch.manual_seed(self.seed)
            generator = torch.Generator().manual_seed(self.seed)
            x = torch.tensor(self._standardise(features), dtype=torch.float32)
            y = torch.tensor((targets - self.target_center_) / self.target_scale_, dtype=torch.float32)
            dims = [x.shape[1], *self.hidden, y.shape[1]]
            layers = []
            for a, b in zip(dims[:-1], dims[1:]):
                layers += [torch.nn.Linear(a, b), torch.nn.SiLU()]
            network = torch.nn.Sequential(*layers[:-1])
            optimiser = torch.optim.AdamW(network.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
            steps_per_epoch = max(1, int(np.ceil(len(x) / BATCH_SIZE)))
            schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=self.learning_rate,
                                                           total_steps=self.epochs * steps_per_epoch)
            for _ in range(int(self.epochs)):
                for batch in torch.randperm(len(x), generator=generator).split(BATCH_SIZE):
                    optimiser.zero_grad()
                    inputs = x[batch] + self.input_noise * torch.randn(len(batch), x.shape[1], generator=generator)
                    loss = torch.nn.functional.mse_loss(network(inputs), y[batch])
                    loss.backward()
                    optimiser.step()
                    schedule.step()
        finally:
            torch.set_num_threads(threads)
        linear = [m for m in network if isinstance(m, torch.nn.Linear)]
        self.weights_ = [m.weight.detach().numpy().T.astype(np.float64) for m in linear]
        self.biases_ = [m.bias.detach().numpy().astype(np.float64) for m in linear]
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The fitted outputs, shape (n_samples, n_outputs)."""
        h = self._standardise(features)
        for k, (w, b) in enumerate(zip(self.weights_, self.biases_)):
            h = h @ w + b
            if k < len(self.weights_) - 1:
                h = h / (1.0 + np.exp(-h))  # SiLU
        return h * self.target_scale_ + self.target_center_

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        arrays = {f"{prefix}center": self.center_, f"{prefix}scale": self.scale_,
                  f"{prefix}target_center": self.target_center_, f"{prefix}target_scale": self.target_scale_}
        for k, (w, b) in enumerate(zip(self.weights_, self.biases_)):
            arrays[f"{prefix}weight_{k}"], arrays[f"{prefix}bias_{k}"] = w, b
        return arrays

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "") -> "SmoothSurrogate":
        surrogate = cls()
        surrogate.center_, surrogate.scale_ = arrays[f"{prefix}center"], arrays[f"{prefix}scale"]
        surrogate.target_center_ = arrays[f"{prefix}target_center"]
        surrogate.target_scale_ = arrays[f"{prefix}target_scale"]
        n_layers = sum(1 for key in arrays if key.startswith(f"{prefix}weight_"))
        surrogate.weights_ = [arrays[f"{prefix}weight_{k}"] for k in range(n_layers)]
        surrogate.biases_ = [arrays[f"{prefix}bias_{k}"] for k in range(n_layers)]
        surrogate.hidden = tuple(w.shape[1] for w in surrogate.weights_[:-1])
        return surrogate
