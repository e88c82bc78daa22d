"""Composition featurizers (scikit-learn transformers over formulas or Compositions)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
from pymatgen.core import Composition

from predictor.featurizers.base import BaseFeaturizer, ElementFractions, as_compositions
from predictor.featurizers.halide import HalideFeaturizer
from predictor.featurizers.magpie import CONTINUOUS_STATS, MagpieFeaturizer
from predictor.featurizers.stoichiometry import CONTINUOUS_P_NORMS, StoichiometryFeaturizer

#: Name of each featurizer that :class:`CompositionFeaturizer` can combine. The ``_continuous``
#: sets are continuous functions of the element amounts (a trace dopant moves them by a
#: trace); ``magpie`` and ``stoichiometry`` are matminer's, which jump when an element appears.
FEATURIZERS = {
    "magpie": MagpieFeaturizer,
    "magpie_continuous": partial(MagpieFeaturizer, stats=CONTINUOUS_STATS),
    "stoichiometry": StoichiometryFeaturizer,
    "stoichiometry_continuous": partial(StoichiometryFeaturizer, p_norms=CONTINUOUS_P_NORMS),
    "halide": HalideFeaturizer,
}
DEFAULT_FEATURE_SETS = ("magpie_continuous", "stoichiometry_continuous", "halide")


class CompositionFeaturizer(BaseFeaturizer):
    """The descriptor vector of the conductivity and window models: several featurizers side by side.

    Parameters
    ----------
    feature_sets : tuple of str, default=("magpie_continuous", "stoichiometry_continuous", "halide")
        Names from :data:`FEATURIZERS`, in column order.
    """

    def __init__(self, feature_sets: tuple[str, ...] = DEFAULT_FEATURE_SETS):
        self.feature_sets = feature_sets

    def _parts(self) -> list[BaseFeaturizer]:
        unknown = [name for name in self.feature_sets if name not in FEATURIZERS]
        if unknown:
            raise ValueError(f"feature_sets={self.feature_sets!r}: unknown {unknown}; choose from {sorted(FEATURIZERS)}")
        return [FEATURIZERS[name]() for name in self.feature_sets]

    def featurize_many(self, compositions: Sequence[Composition], batch: ElementFractions) -> np.ndarray:
        if not len(compositions):
            return np.zeros((0, len(self.feature_labels())))
        return np.hstack([part.featurize_many(compositions, batch) for part in self._parts()])

    def feature_labels(self) -> list[str]:
        return [label for part in self._parts() for label in part.feature_labels()]

    def citations(self) -> list[str]:
        return [c for part in self._parts() for c in part.citations()]


__all__ = [
    "BaseFeaturizer",
    "CompositionFeaturizer",
    "ElementFractions",
    "FEATURIZERS",
    "HalideFeaturizer",
    "MagpieFeaturizer",
    "StoichiometryFeaturizer",
    "as_compositions",
]
