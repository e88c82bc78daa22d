"""Graph layers of Roost with plain PyTorch segment operations (no torch_scatter).

Segment reductions use ``Tensor.scatter_reduce`` (max) and ``Tensor.index_add_`` (sum) over an
index that assigns each row to a segment (an edge to its receiving node, a node to its material).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from predictor.nn.networks import SimpleNetwork


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


#: How the fractions weight the attention: ``fraction ** (1 + softplus(pow))``. The exponent is
#: kept above 1 so that a trace element's weight goes to 0 with its fraction (Roost's plain
#: learnt power went negative, -1.9, in pretraining: a 0.1 % dopant then outweighed the host and
#: jumped the prediction).
FRACTION_WEIGHTING = "1 + softplus(pow)"


class WeightedAttentionPooling(nn.Module):
    """Attention pooling of rows into segments, weighted by fractions raised to a learnt power.

    The power is ``1 + softplus(pow)`` > 1 (:data:`FRACTION_WEIGHTING`), so that predictions
    are continuous as an element's fraction goes to zero.

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
        gate = segment_softmax(self.gate_nn(x), index, n_segments, weights ** self.exponent())
        return segment_sum(gate * self.message_nn(x), index, n_segments)

    def exponent(self) -> torch.Tensor:
        """The power of the fractions in the attention weights (> 1)."""
        return 1.0 + nn.functional.softplus(self.pow)

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
