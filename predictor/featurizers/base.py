"""The featurizer contract: scikit-learn transformers over compositions, computed per batch.

Like matminer's ``BaseFeaturizer`` a featurizer has ``featurize`` (one composition),
``feature_labels``, ``citations`` and ``implementors``; unlike matminer, the work is done by
``featurize_many`` on a whole batch at once (array operations over an element-fraction
matrix), which is what training and prediction call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
from pymatgen.core import Composition
from sklearn.base import BaseEstimator, TransformerMixin

from predictor.composition import parse_formula


def as_compositions(formulas: Sequence) -> list[Composition]:
    """Parse formulas (strings or Compositions) with :func:`predictor.parse_formula`."""
    if isinstance(formulas, (str, Composition)):
        formulas = [formulas]
    return [f if isinstance(f, Composition) else parse_formula(f) for f in formulas]


class ElementFractions:
    """A batch of compositions as padded arrays of atomic numbers and amounts.

    Attributes
    ----------
    Z : ndarray of int, shape (n_samples, max_elements)
        Atomic numbers, 0 in padding slots.
    amounts : ndarray of float, shape (n_samples, max_elements)
        Amounts as written in the formula (atoms per formula unit), 0 in padding slots.
    fractions : ndarray of float, shape (n_samples, max_elements)
        Atomic fractions (rows sum to 1), 0 in padding slots.
    mask : ndarray of bool, shape (n_samples, max_elements)
        True where a slot holds an element.
    """

    def __init__(self, compositions: Sequence[Composition]):
        width = max((len(c) for c in compositions), default=1)
        n = len(compositions)
        self.Z = np.zeros((n, width), dtype=int)
        self.amounts = np.zeros((n, width))
        for i, composition in enumerate(compositions):
            for j, (element, amount) in enumerate(composition.element_composition.items()):
                self.Z[i, j] = element.Z
                self.amounts[i, j] = amount
        self.mask = self.Z > 0
        totals = self.amounts.sum(axis=1, keepdims=True)
        self.fractions = np.divide(self.amounts, totals, out=np.zeros_like(self.amounts), where=totals > 0)

    def __len__(self) -> int:
        return len(self.Z)


class BaseFeaturizer(TransformerMixin, BaseEstimator, ABC):
    """Base class: subclasses implement ``featurize_many``, ``feature_labels`` and ``citations``.

    ``transform`` accepts formula strings or pymatgen Compositions and returns an array of
    shape (n_samples, n_features). Options are set in ``__init__`` only, as in scikit-learn.
    """

    def fit(self, X=None, y=None):
        return self

    def transform(self, X) -> np.ndarray:
        compositions = as_compositions(X)
        return self.featurize_many(compositions, ElementFractions(compositions))

    def featurize(self, composition) -> np.ndarray:
        """Features of one composition, shape (n_features,)."""
        return self.transform([composition])[0]

    @abstractmethod
    def featurize_many(self, compositions: Sequence[Composition], batch: ElementFractions) -> np.ndarray:
        """Features of a batch, shape (n_samples, n_features)."""

    @abstractmethod
    def feature_labels(self) -> list[str]:
        """Stable names of the features, in column order."""

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(self.feature_labels(), dtype=object)

    def citations(self) -> list[str]:
        return []

    def implementors(self) -> list[str]:
        return ["predictor developers"]
