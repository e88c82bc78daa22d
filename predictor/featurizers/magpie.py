"""Magpie element-property statistics, vectorised over a batch.

Two sets of statistics over the same 22 Magpie element properties (matminer's own tables):

- ``MATMINER_STATS`` (minimum, maximum, range, mean, avg_dev, mode): the same numbers and
  labels as matminer's ``ElementProperty.from_preset("magpie")`` (checked to 1e-9 in the
  tests), computed as array operations over the batch instead of a loop per composition.
- ``CONTINUOUS_STATS`` (mean, avg_dev, low_tail, high_tail, tail_range, soft_mode): every
  statistic a continuous function of the element amounts. Minimum, maximum, range and mode
  jump as soon as an element appears at any fraction (0.1 % of Bi in Na3YCl6 moves the
  minimum electronegativity from Y's to Bi's), so a model built on them jumps too. The
  continuous replacements weight each element by its atomic fraction:

  ``low_tail``
      mean value of the lowest ``TAIL_FRACTION`` (10 %) of the atoms: the fraction-weighted
      lower tail of the element-value distribution (a smooth minimum; a trace element
      contributes in proportion to its fraction).
  ``high_tail``
      the same over the highest 10 % of the atoms (a smooth maximum).
  ``tail_range``
      ``high_tail - low_tail``.
  ``soft_mode``
      mean weighted by the fourth power of the atomic fractions: the value of the most
      abundant element when one dominates, shared smoothly when two are close.

The continuous set is what the shipped models use (``"magpie_continuous"`` in
:data:`predictor.featurizers.FEATURIZERS`); the matminer set stays available as ``"magpie"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from pymatgen.core import Composition, Element

from predictor.composition import MAX_Z
from predictor.featurizers.base import BaseFeaturizer, ElementFractions

MAGPIE_PROPERTIES = (
    "Number", "MendeleevNumber", "AtomicWeight", "MeltingT", "Column", "Row", "CovalentRadius",
    "Electronegativity", "NsValence", "NpValence", "NdValence", "NfValence", "NValence",
    "NsUnfilled", "NpUnfilled", "NdUnfilled", "NfUnfilled", "NUnfilled", "GSvolume_pa",
    "GSbandgap", "GSmagmom", "SpaceGroupNumber",
)
MATMINER_STATS = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")
CONTINUOUS_STATS = ("mean", "avg_dev", "low_tail", "high_tail", "tail_range", "soft_mode")
#: Share of the atoms averaged by ``low_tail`` and ``high_tail``.
TAIL_FRACTION = 0.1
#: Exponent of the atomic fractions in ``soft_mode``.
SOFT_MODE_POWER = 4


@lru_cache(maxsize=None)
def magpie_table(properties: tuple[str, ...] = MAGPIE_PROPERTIES) -> np.ndarray:
    """Element property table from matminer's Magpie data, shape (MAX_Z + 1, n_properties).

    Row Z holds element Z (row 0 is unused); missing values are NaN.
    """
    from matminer.utils.data import MagpieData

    data = MagpieData()
    table = np.full((MAX_Z + 1, len(properties)), np.nan)
    for z in range(1, MAX_Z + 1):
        symbol = Element.from_Z(z).symbol
        for k, name in enumerate(properties):
            table[z, k] = data.all_elemental_props[name].get(symbol, np.nan)
    return table


def weighted_stats(values: np.ndarray, amounts: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Fraction-weighted statistics of element values, as matminer's ``PropertyStats``.

    Parameters
    ----------
    values : ndarray, shape (n_samples, max_elements, n_properties)
    amounts : ndarray, shape (n_samples, max_elements)
        Element amounts (weights); 0 in padding slots.
    mask : ndarray of bool, shape (n_samples, max_elements)

    Returns
    -------
    dict of str to ndarray, shape (n_samples, n_properties)
        minimum, maximum, range, mean, avg_dev and mode (the value of the most abundant
        element; the smallest value among equally abundant ones), as matminer; and the
        continuous low_tail, high_tail, tail_range and soft_mode (module docstring).
    """
    m = mask[:, :, None]
    w = (amounts / amounts.sum(axis=1, keepdims=True))[:, :, None]
    minimum = np.where(m, values, np.inf).min(axis=1)
    maximum = np.where(m, values, -np.inf).max(axis=1)
    mean = np.where(m, w * values, 0.0).sum(axis=1)
    avg_dev = np.where(m, w * np.abs(values - mean[:, None, :]), 0.0).sum(axis=1)
    top = amounts.max(axis=1, keepdims=True)
    most_abundant = mask & np.isclose(amounts, top)
    mode = np.where(most_abundant[:, :, None], values, np.inf).min(axis=1)
    low, high = tail_mean(values, w[:, :, 0], mask, lower=True), tail_mean(values, w[:, :, 0], mask, lower=False)
    soft = w[:, :, 0] ** SOFT_MODE_POWER
    soft = (soft / soft.sum(axis=1, keepdims=True))[:, :, None]
    return {
        "minimum": minimum, "maximum": maximum, "range": maximum - minimum,
        "mean": mean, "avg_dev": avg_dev, "mode": mode,
        "low_tail": low, "high_tail": high, "tail_range": high - low,
        "soft_mode": np.where(m, soft * values, 0.0).sum(axis=1),
    }


def tail_mean(values: np.ndarray, fractions: np.ndarray, mask: np.ndarray, lower: bool,
              tail: float = TAIL_FRACTION) -> np.ndarray:
    """Mean element value over the lowest (or highest) ``tail`` of the atoms.

    The elements are sorted by value and filled, in that order and in proportion to their
    atomic fractions, into a tail holding ``tail`` of the atoms; a continuous function of
    the fractions (a smooth minimum or maximum).

    Parameters
    ----------
    values : ndarray, shape (n_samples, max_elements, n_properties)
    fractions : ndarray, shape (n_samples, max_elements)
        Atomic fractions (rows sum to 1), 0 in padding slots.
    mask : ndarray of bool, shape (n_samples, max_elements)
    lower : bool
        The lower tail (smooth minimum) or the upper one (smooth maximum).

    Returns
    -------
    ndarray, shape (n_samples, n_properties)
    """
    sign = 1.0 if lower else -1.0
    m = mask[:, :, None]
    present = np.where(m, sign * values, 0.0)
    order = np.argsort(np.where(m, present, np.inf), axis=1, kind="stable")
    sorted_values = np.take_along_axis(present, order, axis=1)
    sorted_fractions = np.take_along_axis(np.broadcast_to(fractions[:, :, None], values.shape), order, axis=1)
    filled = np.minimum(np.cumsum(sorted_fractions, axis=1), tail)
    share = np.diff(filled, axis=1, prepend=0.0)
    return sign * (share * sorted_values).sum(axis=1) / tail


class MagpieFeaturizer(BaseFeaturizer):
    """Magpie composition statistics (Ward et al., npj Comput. Mater. 2016).

    For each of the 22 Magpie element properties (atomic number, Mendeleev number, weight in
    amu, melting point in K, group, period, covalent radius in pm, Pauling electronegativity,
    valence-electron counts by shell, DFT ground-state volume in Å^3/atom, band gap in eV,
    magnetic moment in Bohr magnetons, space group number), six statistics over the elements
    (see the module docstring). 132 features, labelled ``"MagpieData {stat} {property}"`` as
    in matminer.

    Parameters
    ----------
    stats : tuple of str, default=MATMINER_STATS
        ``MATMINER_STATS`` for matminer's numbers, ``CONTINUOUS_STATS`` for statistics that
        are continuous in the element amounts.
    """

    def __init__(self, stats: tuple[str, ...] = MATMINER_STATS):
        self.stats = stats

    def featurize_many(self, compositions: Sequence[Composition], batch: ElementFractions) -> np.ndarray:
        values = magpie_table()[batch.Z]
        stats = weighted_stats(values, batch.amounts, batch.mask)
        # columns ordered property-major, stat-minor, as matminer
        return np.stack([stats[s] for s in self.stats], axis=2).reshape(len(batch), -1)

    def feature_labels(self) -> list[str]:
        return [f"MagpieData {s} {p}" for p in MAGPIE_PROPERTIES for s in self.stats]

    def citations(self) -> list[str]:
        return [
            "@article{ward_2016, title={A general-purpose machine learning framework for predicting "
            "properties of inorganic materials}, author={Ward, L. and Agrawal, A. and Choudhary, A. "
            "and Wolverton, C.}, journal={npj Computational Materials}, volume={2}, pages={16028}, year={2016}}"
        ]
