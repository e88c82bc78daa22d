"""Compositions as dense element graphs, batched by concatenation (no padding).

A composition with n elements is a graph of n nodes (one per element, carrying its atomic
number and its atomic fraction) and n² directed edges (every ordered pair, self loops
included), as in Roost. A batch concatenates the nodes of its materials; edge indices are
offset by the running node count and ``node_material`` records which material each node
belongs to, so pooling back to materials is an ``index_add_`` over that index.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Composition, Element

from predictor.featurizers.base import as_compositions

MAX_ELEMENTS = 12  # n² edges per material: fine for ordinary formulas, guard against absurd ones
N_Z = 119  # table rows indexed by atomic number, row 0 unused


@lru_cache(maxsize=4)
def element_embedding(name: str = "matscholar200") -> np.ndarray:
    """Element embedding table shipped with matminer, rows indexed by atomic number.

    Parameters
    ----------
    name : {"matscholar200"} or path to a JSON file ``{symbol: [floats]}``
        ``matscholar200``: the 200-dimensional word embeddings of Tshitoyan et al.
        (Nature 571, 95 (2019)) that matminer ships as ``utils/data_files/matscholar_els.json``.

    Returns
    -------
    ndarray, shape (119, n_features), dimensionless
        Zero rows for elements the table does not cover (and for Z = 0).
    """
    if name == "matscholar200":
        text = resources.files("matminer.utils.data_files").joinpath("matscholar_els.json").read_text()
    else:
        text = Path(name).read_text()
    values = json.loads(text)
    width = len(next(iter(values.values())))
    table = np.zeros((N_Z, width), dtype=np.float32)
    for symbol, vector in values.items():
        table[Element(symbol).Z] = np.asarray(vector, dtype=np.float32)
    return table


@dataclass(frozen=True)
class GraphBatch:
    """A batch of composition graphs (all tensors on one device).

    Attributes
    ----------
    z : LongTensor, shape (n_nodes,)
        Atomic number of each node.
    fraction : Tensor, shape (n_nodes, 1)
        Atomic fraction of the node's element in its material (sums to 1 per material).
    self_idx, nbr_idx : LongTensor, shape (n_edges,)
        Receiving and sending node of each edge (batch-global node indices).
    node_material : LongTensor, shape (n_nodes,)
        Index of the material each node belongs to.
    n_materials : int
    """

    z: torch.Tensor
    fraction: torch.Tensor
    self_idx: torch.Tensor
    nbr_idx: torch.Tensor
    node_material: torch.Tensor
    n_materials: int

    def __repr__(self) -> str:
        return f"GraphBatch(n_materials={self.n_materials}, n_nodes={len(self.z)}, n_edges={len(self.self_idx)})"


def composition_arrays(composition: Composition) -> tuple[np.ndarray, np.ndarray]:
    """Atomic numbers and atomic fractions of one composition, in the order written.

    Raises
    ------
    ValueError
        When the composition has more than ``MAX_ELEMENTS`` elements.
    """
    amounts = composition.element_composition.get_el_amt_dict()
    if len(amounts) > MAX_ELEMENTS:
        raise ValueError(f"{composition.formula!r} has {len(amounts)} elements, more than MAX_ELEMENTS={MAX_ELEMENTS}")
    z = np.array([Element(el).Z for el in amounts], dtype=np.int64)
    weights = np.array(list(amounts.values()), dtype=np.float32)
    return z, weights / weights.sum()


class CompositionGraphs:
    """Compositions and optional targets, ready to batch.

    Parameters
    ----------
    formulas : sequence of str or pymatgen.core.Composition, length n_samples
    targets : array-like, shape (n_samples,), optional
        Target values (any unit; the caller standardises them).
    """

    def __init__(self, formulas: Sequence, targets: Sequence[float] | None = None):
        compositions = as_compositions(formulas) if not _all_parsed(formulas) else list(formulas)
        self.graphs = [composition_arrays(c) for c in compositions]
        self.targets = None if targets is None else np.asarray(targets, dtype=np.float32).ravel()
        if self.targets is not None and len(self.targets) != len(self.graphs):
            raise ValueError(f"{len(self.graphs)} formulas but {len(self.targets)} targets")

    def __len__(self) -> int:
        return len(self.graphs)

    def __repr__(self) -> str:
        return f"CompositionGraphs(n_samples={len(self)}, targets={self.targets is not None})"

    def batch(self, indices: Sequence[int] | np.ndarray) -> GraphBatch:
        """The graphs of ``indices`` as one :class:`GraphBatch`."""
        return collate([self.graphs[i] for i in indices])

    def batches(self, batch_size: int, rng: np.random.Generator | None = None):
        """Yield ``(indices, GraphBatch)``; shuffled when ``rng`` is given, else in order."""
        order = rng.permutation(len(self)) if rng is not None else np.arange(len(self))
        for start in range(0, len(self), batch_size):
            indices = order[start:start + batch_size]
            yield indices, self.batch(indices)


def _all_parsed(formulas: Sequence) -> bool:
    return not isinstance(formulas, (str, Composition)) and all(isinstance(f, Composition) for f in formulas)


def collate(graphs: Sequence[tuple[np.ndarray, np.ndarray]]) -> GraphBatch:
    """Concatenate graphs ``(z, fraction)`` into one batch with offset dense edge indices."""
    sizes = np.array([len(z) for z, _ in graphs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    self_idx, nbr_idx = [], []
    for n, offset in zip(sizes, offsets):
        local = np.arange(n, dtype=np.int64) + offset
        self_idx.append(np.repeat(local, n))
        nbr_idx.append(np.tile(local, n))
    return GraphBatch(
        z=torch.from_numpy(np.concatenate([z for z, _ in graphs])),
        fraction=torch.from_numpy(np.concatenate([w for _, w in graphs])).unsqueeze(1),
        self_idx=torch.from_numpy(np.concatenate(self_idx)),
        nbr_idx=torch.from_numpy(np.concatenate(nbr_idx)),
        node_material=torch.from_numpy(np.repeat(np.arange(len(graphs), dtype=np.int64), sizes)),
        n_materials=len(graphs),
    )
