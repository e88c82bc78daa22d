"""Small fully connected networks (aviary ``networks.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class SimpleNetwork(nn.Module):
    """MLP: Linear → activation for each hidden width, then a final Linear.

    Parameters
    ----------
    input_dim, output_dim : int
    hidden_layer_dims : sequence of int
    activation : type of nn.Module, default=nn.LeakyReLU
    """

    def __init__(self, input_dim: int, output_dim: int, hidden_layer_dims: Sequence[int],
                 activation: type[nn.Module] = nn.LeakyReLU):
        super().__init__()
        dims = [input_dim, *hidden_layer_dims]
        self.input_dim, self.output_dim, self.hidden_layer_dims = input_dim, output_dim, tuple(hidden_layer_dims)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.acts = nn.ModuleList(activation() for _ in hidden_layer_dims)
        self.fc_out = nn.Linear(dims[-1], output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer, act in zip(self.layers, self.acts):
            x = act(layer(x))
        return self.fc_out(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(input_dim={self.input_dim}, hidden={self.hidden_layer_dims}, output_dim={self.output_dim})"


class ResidualNetwork(nn.Module):
    """MLP with a residual (skip) connection around every hidden layer.

    Parameters
    ----------
    input_dim, output_dim : int
    hidden_layer_dims : sequence of int
    activation : type of nn.Module, default=nn.LeakyReLU
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    """

    def __init__(self, input_dim: int, output_dim: int, hidden_layer_dims: Sequence[int],
                 activation: type[nn.Module] = nn.LeakyReLU, dropout: float = 0.0):
        super().__init__()
        dims = [input_dim, *hidden_layer_dims]
        self.input_dim, self.output_dim, self.hidden_layer_dims = input_dim, output_dim, tuple(hidden_layer_dims)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.skips = nn.ModuleList(
            nn.Identity() if a == b else nn.Linear(a, b, bias=False) for a, b in zip(dims[:-1], dims[1:])
        )
        self.acts = nn.ModuleList(activation() for _ in hidden_layer_dims)
        self.dropout = nn.Dropout(dropout)
        self.fc_out = nn.Linear(dims[-1], output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer, skip, act in zip(self.layers, self.skips, self.acts):
            x = self.dropout(act(layer(x))) + skip(x)
        return self.fc_out(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(input_dim={self.input_dim}, hidden={self.hidden_layer_dims}, output_dim={self.output_dim})"
