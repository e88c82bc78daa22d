"""Heteroscedastic losses on a predicted mean and log standard deviation (pure functions).

Both are negative log-likelihoods up to a constant, averaged over the batch; ``log_std`` is the
natural log of the predicted standard deviation, in the (standardised) target units.
"""

from __future__ import annotations

import math

import torch


def robust_l1_loss(mean: torch.Tensor, log_std: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Laplace NLL: √2·|target − mean|·exp(−log_std) + log_std (Roost's robust L1)."""
    return (math.sqrt(2.0) * torch.abs(target - mean) * torch.exp(-log_std) + log_std).mean()


def robust_l2_loss(mean: torch.Tensor, log_std: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gaussian NLL: ½·(target − mean)²·exp(−2·log_std) + log_std."""
    return (0.5 * (target - mean) ** 2 * torch.exp(-2.0 * log_std) + log_std).mean()


LOSSES = {"laplace": robust_l1_loss, "gaussian": robust_l2_loss}
