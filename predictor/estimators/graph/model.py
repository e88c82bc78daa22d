"""Roost: a message-passing network on the dense element graph of a composition.

``DescriptorNetwork`` (element embedding → ``n_graph`` message layers → attention pooling)
gives a learnt material descriptor; ``Roost`` adds a residual output network predicting a
mean and a log standard deviation (robust, heteroscedastic head). Pretraining transfers the
descriptor network only (see :mod:`predictor.estimators.graph.pretrain`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from predictor.estimators.graph.data import GraphBatch, element_embedding
from predictor.estimators.graph.networks import ResidualNetwork
from predictor.estimators.graph.segments import MessageLayer, WeightedAttentionPooling


class DescriptorNetwork(nn.Module):
    """Element embedding, message passing and pooling to one vector per material.

    Parameters
    ----------
    embedding : str, default="matscholar200"
        Fixed element embedding (see :func:`predictor.estimators.graph.data.element_embedding`), followed
        by a learnt linear map to ``fea_len - 1`` features; the fraction is the last feature.
    fea_len : int, default=64
    n_graph : int, default=3
        Number of message-passing layers.
    n_heads : int, default=3
        Attention heads per message layer and in the final pooling.
    gate_hidden, message_hidden : tuple of int
    """

    def __init__(self, embedding: str = "matscholar200", fea_len: int = 64, n_graph: int = 3, n_heads: int = 3,
                 gate_hidden: Sequence[int] = (128,), message_hidden: Sequence[int] = (128,)):
        super().__init__()
        self.embedding, self.fea_len, self.n_graph, self.n_heads = embedding, fea_len, n_graph, n_heads
        table = torch.from_numpy(element_embedding(embedding))
        self.register_buffer("element_table", table, persistent=False)
        self.embed = nn.Linear(table.shape[1], fea_len - 1)
        self.graphs = nn.ModuleList(
            MessageLayer(fea_len, n_heads, gate_hidden, message_hidden) for _ in range(n_graph)
        )
        self.pool = nn.ModuleList(
            WeightedAttentionPooling(fea_len, fea_len, gate_hidden, message_hidden) for _ in range(n_heads)
        )

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        """Material descriptors, shape (n_materials, fea_len)."""
        fea = torch.cat([self.embed(self.element_table[batch.z]), batch.fraction], dim=1)
        for layer in self.graphs:
            fea = layer(fea, batch.fraction, batch.self_idx, batch.nbr_idx)
        pooled = [head(fea, batch.node_material, batch.n_materials, batch.fraction) for head in self.pool]
        return torch.stack(pooled).mean(dim=0)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(embedding={self.embedding!r}, fea_len={self.fea_len}, "
                f"n_graph={self.n_graph}, n_heads={self.n_heads})")


class Roost(nn.Module):
    """Composition network predicting a mean and a log standard deviation per material.

    Parameters
    ----------
    embedding, fea_len, n_graph, n_heads : see :class:`DescriptorNetwork`
    hidden : int, default=128
        Hidden width of the gate and message networks of every attention head.
    out_hidden : tuple of int, default=(128, 64)
        Hidden widths of the residual output network.
    dropout : float, default=0.0

    Attributes
    ----------
    model_params : dict
        The constructor arguments, to rebuild the model from a checkpoint.
    """

    def __init__(self, embedding: str = "matscholar200", fea_len: int = 64, n_graph: int = 3, n_heads: int = 3,
                 hidden: int = 128, out_hidden: Sequence[int] = (128, 64), dropout: float = 0.0):
        super().__init__()
        self.model_params = {"embedding": embedding, "fea_len": fea_len, "n_graph": n_graph, "n_heads": n_heads,
                             "hidden": hidden, "out_hidden": tuple(out_hidden), "dropout": dropout}
        self.descriptor = DescriptorNetwork(embedding, fea_len, n_graph, n_heads, (hidden,), (hidden,))
        self.output = ResidualNetwork(fea_len, 2, out_hidden, dropout=dropout)

    def forward(self, batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log standard deviation, each shape (n_materials,), in standardised target units."""
        mean, log_std = self.output(self.descriptor(batch)).chunk(2, dim=1)
        return mean.squeeze(1), log_std.squeeze(1)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.model_params.items())
        return f"{type(self).__name__}({fields})"
