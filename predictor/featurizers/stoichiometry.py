"""Stoichiometric attributes: number of elements and p-norms of the atomic fractions.

Same values and labels as matminer's ``Stoichiometry()`` (Ward et al. 2016), vectorised.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymatgen.core import Composition

from predictor.featurizers.base import BaseFeaturizer, ElementFractions

P_NORMS = (0, 2, 3, 5, 7, 10)


class StoichiometryFeaturizer(BaseFeaturizer):
    """``0-norm`` is the number of elements; ``p-norm`` is (sum_i x_i^p)^(1/p) over atomic fractions x_i."""

    def featurize_many(self, compositions: Sequence[Composition], batch: ElementFractions) -> np.ndarray:
        x = batch.fractions
        columns = [batch.mask.sum(axis=1).astype(float)]
        columns += [(x**p).sum(axis=1) ** (1.0 / p) for p in P_NORMS[1:]]
        return np.stack(columns, axis=1)

    def feature_labels(self) -> list[str]:
        return [f"{p}-norm" for p in P_NORMS]
