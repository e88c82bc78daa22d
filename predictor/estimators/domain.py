"""Applicability domain: is a composition like the ones a model was trained on?

Two checks: every element of the composition occurs in the training data, and the
composition's descriptor vector lies no farther from its k nearest training neighbours than
the training compositions themselves typically do (95th percentile of their leave-one-out
distances). Distances are measured on standardised descriptors and reported relative to the
median training distance, so 1.0 means "as close as a typical training point".
"""

from __future__ import annotations

import numpy as np

#: Query rows compared with the training set at a time (bounds memory: rows x training size).
CHUNK = 1024


def mean_knn_distance(query: np.ndarray, reference: np.ndarray, k: int, skip_nearest: bool = False) -> np.ndarray:
    """Mean Euclidean distance of each query row to its ``k`` nearest reference rows.

    Brute force with one matrix product per chunk: for the few thousand training rows of
    these models it is faster than a tree, and it has no per-call start-up cost, which
    matters for single-formula predictions. ``skip_nearest`` drops the nearest neighbour
    (the point itself, for leave-one-out distances of the reference set).
    """
    reference = np.asarray(reference, dtype=np.float64)
    squared_reference = np.einsum("ij,ij->i", reference, reference)
    result = np.empty(len(query))
    first = 1 if skip_nearest else 0
    for start in range(0, len(query), CHUNK):
        block = np.asarray(query[start:start + CHUNK], dtype=np.float64)
        squared = np.einsum("ij,ij->i", block, block)[:, None] + squared_reference[None, :] - 2.0 * block @ reference.T
        nearest = np.partition(np.maximum(squared, 0.0), first + k - 1, axis=1)[:, : first + k]
        nearest.sort(axis=1)
        result[start:start + CHUNK] = np.sqrt(nearest[:, first:]).mean(axis=1)
    return result


class ApplicabilityDomain:
    """k-nearest-neighbour distance in standardised descriptor space plus an element check.

    Parameters
    ----------
    n_neighbors : int, default=5
    quantile : float, default=0.95
        Training-distance quantile above which a composition is out of domain.
    """

    def __init__(self, n_neighbors: int = 5, quantile: float = 0.95):
        self.n_neighbors = n_neighbors
        self.quantile = quantile

    def fit(self, features: np.ndarray, elements: list[set[str]]) -> "ApplicabilityDomain":
        features = np.asarray(features, dtype=float)
        self.center_ = np.nanmedian(features, axis=0)
        self.center_ = np.where(np.isfinite(self.center_), self.center_, 0.0)
        scale = np.nanstd(features, axis=0)
        self.scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        self.reference_ = self._standardise(features).astype(np.float32)
        self.elements_ = sorted(set().union(*elements)) if elements else []
        k = min(self.n_neighbors, len(features) - 1)
        if k >= 1:
            loo = mean_knn_distance(self.reference_, self.reference_, k, skip_nearest=True)
        else:
            loo = np.ones(len(features))
        self.typical_distance_ = float(np.median(loo)) or 1.0
        self.threshold_ = float(np.quantile(loo / self.typical_distance_, self.quantile))
        return self

    def _standardise(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, dtype=float) - self.center_) / self.scale_
        return np.where(np.isfinite(z), z, 0.0)

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Mean distance to the k nearest training compositions, relative to the typical one."""
        k = min(self.n_neighbors, len(self.reference_))
        query = self._standardise(features).astype(np.float32)
        return mean_knn_distance(query, self.reference_, k) / self.typical_distance_

    def notes(self, features: np.ndarray, elements: list[set[str]],
              distance: np.ndarray | None = None) -> list[tuple[str, ...]]:
        """For each composition, the reasons it is out of domain (empty tuple when inside).

        ``distance``: the result of :meth:`distance` for these features, when already computed.
        """
        known = set(self.elements_)
        distance = self.distance(features) if distance is None else distance
        result = []
        for d, els in zip(distance, elements):
            reasons = []
            unseen = sorted(els - known)
            if unseen:
                reasons.append(f"elements not in the training data: {', '.join(unseen)}")
            if d > self.threshold_:
                reasons.append(f"far from the training compositions (distance {d:.2f} > {self.threshold_:.2f})")
            result.append(tuple(reasons))
        return result

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "center": self.center_, "scale": self.scale_, "reference": self.reference_,
            "elements": np.array(self.elements_, dtype="U3"),
            "params": np.array([self.n_neighbors, self.quantile, self.typical_distance_, self.threshold_]),
        }

    @classmethod
    def from_arrays(cls, arrays) -> "ApplicabilityDomain":
        n_neighbors, quantile, typical, threshold = arrays["params"]
        domain = cls(n_neighbors=int(n_neighbors), quantile=float(quantile))
        domain.center_, domain.scale_ = arrays["center"], arrays["scale"]
        domain.reference_ = arrays["reference"].astype(np.float32)
        domain.elements_ = [str(e) for e in arrays["elements"]]
        domain.typical_distance_, domain.threshold_ = float(typical), float(threshold)
        return domain
