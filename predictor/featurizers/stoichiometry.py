"""Stoichiometric attributes: number of elements and p-norms of the atomic fractions.

Same values and labels as matminer's ``Stoichiometry()`` (Ward et al. 2016), vectorised.
The number of elements (the 0-norm) jumps when a trace element appears; the p-norms with
p >= 2 are continuous in the fractions (the 2-norm already measures how many elements
matter: 1 / (2-norm)^2 is the effective number of elements), so the continuous preset
(``"stoichiometry_continuous"``) leaves the 0-norm out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymatgen.core import Composition

from predictor.featurizers.base import BaseFeaturizer, ElementFractions

P_NORMS = (0, 2, 3, 5, 7, 10)
CONTINUOUS_P_NORMS = (2, 3, 5, 7, 10)


class StoichiometryFeaturizer(BaseFeaturizer):
    """``0-norm`` is the number of elements; ``p-norm`` is (sum_i x_i^p)^(1/p) over atomic fractions x_i.

    Parameters
    ----------
    p_norms : tuple of int, default=(0, 2, 3, 5, 7, 10)
        Which norms, in column order (matminer's by default).
    """

    def __init__(self, p_norms: tuple[int, ...] = P_NORMS):
        self.p_norms = p_norms

    def featurize_many(self, compositions: Sequence[Composition], batch: ElementFractions) -> np.ndarray:
        x = batch.fractions
        columns = [batch.mask.sum(axis=1).astype(float) if p == 0 else (x**p).sum(axis=1) ** (1.0 / p)
                   for p in self.p_norms]
        return np.stack(columns, axis=1).reshape(len(batch), len(self.p_norms))

    def feature_labels(self) -> list[str]:
        return [f"{p}-norm" for p in self.p_norms]
