"""Graph layers of Roost with plain PyTorch segment operations (no torch_scatter).

Segment reductions use ``Tensor.scatter_reduce`` (max) and ``Tensor.index_add_`` (sum) over an
index that assigns each row to a segment (an edge to its receiving node, a node to its material).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from predictor.estimators.graph.networks import SimpleNetwork


def segment_sum(values: torch.Tensor, index: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Sum of the rows of ``values`` per segment; shape (n_segments, *values.shape[1:])."""
    out = values.new_zeros((n_segments, *values.shape[1:]))
    return out.index_add_(0, index, values)


def segment_softmax(logits: torch.Tensor, index: torch.Tensor, n_segments: int,
                    weights: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax of ``logits`` (shape (n, 1)) within each segment, optionally weighted.

    With ``weights`` the normalised quantity is ``weights · exp(logits)``, as in Roost's
    weighted attention (a weight of zero removes a row).
    """
    maximum = logits.new_full((n_segments, 1), float("-inf"))
    maximum = maximum.scatter_reduce(0, index.unsqueeze(1), logits, reduce="amax", include_self=True)
    scores = torch.exp(logits - maximum[index].detach())
    if weights is not None:
        scores = weights * scores
    return scores / (segment_sum(scores, index, n_segments)[index] + 1e-10)


#: Bound on the attention logits: each gate is ``GATE_BOUND * tanh(logit / GATE_BOUND)``, so no
#: element is favoured over another by more than ``exp(2 * GATE_BOUND)`` (about 400) at equal
#: fractions.
GATE_BOUND = 3.0
#: Smallest power of the fractions in the attention weights.
MIN_FRACTION_POWER = 2.0
#: How the fractions weight the attention (recorded with the weights; a network saved under
#: another weighting is refused when loaded). A trace element of fraction f beside a host of
#: fraction F gets at most ``exp(2 * GATE_BOUND) * (f / F) ** MIN_FRACTION_POWER`` of the
#: host's weight: about 4e-4 for 0.1 % of the atoms. Roost's plain learnt power went negative
#: (-1.9) in pretraining, and with a power above 1 but unbounded gates the network still jumped
#: (a 0.001 formula-unit dopant moved log10 sigma by more than 0.05 in 11 % of the 12,814 pairs
#: of the trace-dopant grid of ``tests/test_chemistry.py``, up to 2.0).
FRACTION_WEIGHTING = "2 + softplus(pow), gates 3 tanh(logit / 3)"


class WeightedAttentionPooling(nn.Module):
    """Attention pooling of rows into segments, weighted by fractions raised to a learnt power.

    The power is ``2 + softplus(pow)`` > 2 and the gate logits are bounded
    (:data:`FRACTION_WEIGHTING`), so that an element's weight vanishes with its fraction
    whatever the gate network says about it, and predictions move by a trace with a trace dopant.

    Parameters
    ----------
    input_dim, output_dim : int
    gate_hidden, message_hidden : sequence of int
        Hidden widths of the gate network (to one logit) and the message network.
    """

    def __init__(self, input_dim: int, output_dim: int, gate_hidden: Sequence[int], message_hidden: Sequence[int]):
        super().__init__()
        self.input_dim, self.output_dim = input_dim, output_dim
        self.gate_nn = SimpleNetwork(input_dim, 1, gate_hidden)
        self.message_nn = SimpleNetwork(input_dim, output_dim, message_hidden)
        self.pow = nn.Parameter(torch.randn(1))

    def forward(self, x: torch.Tensor, index: torch.Tensor, n_segments: int, weights: torch.Tensor) -> torch.Tensor:
        """Pool ``x`` (n, input_dim) into (n_segments, output_dim); ``weights`` (n, 1) ≥ 0."""
        logits = GATE_BOUND * torch.tanh(self.gate_nn(x) / GATE_BOUND)
        gate = segment_softmax(logits, index, n_segments, weights ** self.exponent())
        return segment_sum(gate * self.message_nn(x), index, n_segments)

    def exponent(self) -> torch.Tensor:
        """The power of the fractions in the attention weights (> MIN_FRACTION_POWER)."""
        return MIN_FRACTION_POWER + nn.functional.softplus(self.pow)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(input_dim={self.input_dim}, output_dim={self.output_dim}, "
                f"exponent={float(self.exponent()):.3f})")


class MessageLayer(nn.Module):
    """One round of message passing over the dense element graph, with a residual update.

    Each edge (i ← j) carries the concatenated features of i and j; ``n_heads`` attention
    pooling heads (weighted by the fraction of j) reduce the edges into node i; the heads are
    averaged and added to the input features.

    Parameters
    ----------
    fea_len : int
        Node feature width (input and output).
    n_heads : int
    gate_hidden, message_hidden : sequence of int
    """

    def __init__(self, fea_len: int, n_heads: int, gate_hidden: Sequence[int], message_hidden: Sequence[int]):
        super().__init__()
        self.fea_len, self.n_heads = fea_len, n_heads
        self.heads = nn.ModuleList(
            WeightedAttentionPooling(2 * fea_len, fea_len, gate_hidden, message_hidden) for _ in range(n_heads)
        )

    def forward(self, fea: torch.Tensor, fraction: torch.Tensor, self_idx: torch.Tensor,
                nbr_idx: torch.Tensor) -> torch.Tensor:
        """Updated node features, shape (n_nodes, fea_len)."""
        edges = torch.cat([fea[self_idx], fea[nbr_idx]], dim=1)
        weights = fraction[nbr_idx]
        update = torch.stack([head(edges, self_idx, len(fea), weights) for head in self.heads]).mean(dim=0)
        return update + fea

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fea_len={self.fea_len}, n_heads={self.n_heads})"
