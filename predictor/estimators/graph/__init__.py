"""Composition graph network (Roost: Goodall & Lee, Nat. Commun. 11, 6280 (2020)) in plain PyTorch:
the graph-network family.

:mod:`.regressor` holds the estimators with the scikit-learn interface (a deep ensemble with
calibrated uncertainty, saved without pickle). The network follows aviary's ``roost/``: :mod:`.data` (composition to graph, batching),
:mod:`.segments` (message and pooling layers), :mod:`.networks` (MLPs), :mod:`.losses`
(pure functions), :mod:`.model` (the network), :mod:`.fitting` (the frozen training settings
and the loop) and :mod:`.pretrain` (``python -m predictor.estimators.graph.pretrain``).
"""

from predictor.estimators.graph.data import CompositionGraphs, collate
from predictor.estimators.graph.fitting import RoostConfig
from predictor.estimators.graph.model import Roost

__all__ = ["CompositionGraphs", "Roost", "RoostConfig", "collate"]
