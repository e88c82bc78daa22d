"""Composition graph network (Roost: Goodall & Lee, Nat. Commun. 11, 6280 (2020)) in plain PyTorch.

Layout follows aviary's ``roost/``: :mod:`.data` (composition to graph, batching),
:mod:`.segments` (message and pooling layers), :mod:`.networks` (MLPs), :mod:`.losses`
(pure functions), :mod:`.model` (the network), :mod:`.fitting` (the frozen training settings
and the loop) and :mod:`.pretrain` (``python -m predictor.nn.pretrain``).
"""

from predictor.nn.data import CompositionGraphs, collate
from predictor.nn.fitting import RoostConfig
from predictor.nn.model import Roost

__all__ = ["CompositionGraphs", "Roost", "RoostConfig", "collate"]
