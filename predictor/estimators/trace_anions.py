"""Trace anions: a composition's anions below 5 % of the anion sites, and how far they may move a prediction.

A regressor has never seen a trace of an anion (no paper dopes 0.1 % of N into a chloride), so
its response to one is whatever its descriptors and smoothing make of it: 0.01 formula units of
Br, I or N on the chloride site moved the gradient-boosted log10 sigma by more than 0.05 for 27
of 1,278 pairs of curated halides and anion dopants (up to 0.094), although a trace of anything
changes the carrier content and the lattice by a trace only. Both properties therefore lean on the
composition without its trace anions (:func:`without_trace_anions`; Li3.02YCl5.99N0.01 ->
Li3YCl6), with a weight that is 1 for a vanishing trace and 0 from ``TRACE_ANION_SHARE`` of the
anion sites on, where mixed-anion data exist and the regressor decides:

- the window limits (rule 4 of :mod:`.window_rules`) with weight 1 - (share / 5 %)^2;
- log10 sigma (:class:`TraceAnionPinning`, for every conductivity family) with weight
  1 - share / 5 %: the regressor's step from the parent counts in proportion to the trace's
  share of the 5 %, so that a trace moves the prediction by a trace of the regressor's step and
  a 2.5 % substitution by half of it.

With several trace anions, the versions without each subset of them are weighed
(:func:`trace_anion_versions`), so that nothing jumps when one of them reaches 5 %. What it
costs: the few compositions of the training data with a trace anion (31 of 970 conductivity
labels; Cl-doped Li10GeP2S12-type, the Li2OHBr1-xFx series) are predicted leaning on
compositions without data. The anion sites are counted together, the halide and chalcogen
sites of an argyrodite included.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
from pymatgen.core import Composition

from predictor.composition import mobile_ion
from predictor.featurizers import as_compositions
from predictor.featurizers.ionic import CHALCOGENS, HALOGEN_STATES, PNICTOGEN_ANIONS, ionic_picture

#: Elements that can be anions in the ionic picture.
ANION_FORMERS = (*HALOGEN_STATES, *CHALCOGENS, *PNICTOGEN_ANIONS, "H")
_ANION_FORMER_SET = frozenset(ANION_FORMERS)
#: Share of the anion sites below which an anion other than the most abundant one is a trace.
TRACE_ANION_SHARE = 0.05


def _trace_anions(composition: Composition):
    """(carrier, anions, trace anions) of the ionic picture, or None without a trace anion."""
    carrier = mobile_ion(composition)
    if carrier is None or sum(el.symbol in _ANION_FORMER_SET for el in composition.elements) < 2:
        return None  # one anion at most: nothing to pin (and no ionic picture to work out)
    anions = [i for i in ionic_picture(composition, carrier) if i.role == "anion"]
    anion_atoms = sum(i.amount for i in anions)
    main = max(anions, key=lambda i: i.amount)
    trace = [i for i in anions if i is not main and i.amount < TRACE_ANION_SHARE * anion_atoms]
    return (carrier, anions, trace) if trace else None


def _without(composition: Composition, carrier: str, anions: list, removed: list) -> Composition | None:
    """``composition`` without the ``removed`` anions: their sites go to the other anions in
    proportion to their amounts, the carrier balancing the charge (None if it would run out)."""
    kept = [i for i in anions if i not in removed]
    kept_atoms = sum(i.amount for i in kept)
    moved_atoms = sum(i.amount for i in removed)
    amounts = composition.get_el_amt_dict()
    for ion in removed:
        del amounts[ion.symbol]
        amounts[carrier] += ion.amount * ion.oxidation_state  # its charge no longer balanced ...
    for ion in kept:
        amounts[ion.symbol] += moved_atoms * ion.amount / kept_atoms
        amounts[carrier] -= moved_atoms * ion.amount / kept_atoms * ion.oxidation_state  # ... the others' instead
    return Composition(amounts) if amounts[carrier] > 0 else None


def trace_anion_versions(composition: Composition, power: int = 2) -> tuple[list[tuple[Composition, float]], float]:
    """The versions of a composition with some of its trace anions removed, their weights, and its own.

    Each trace anion i counts with u_i = (share_i / 5 %)^power (its share of all anion sites);
    the version that keeps the trace anions of a subset S and removes the others
    (:func:`_without`) weighs prod_{i in S} u_i x prod_{i not in S} (1 - u_i). The composition
    itself is the version that keeps all of them. This interpolation is continuous as any trace
    reaches 5 % (u_i = 1, and every version without it weighs 0) or vanishes, with one trace or
    several. Returns ([], 1.0) without a trace anion, or when a version would need a negative
    carrier content.
    """
    found = _trace_anions(composition)
    if found is None:
        return [], 1.0
    carrier, anions, trace = found
    anion_atoms = sum(i.amount for i in anions)
    kept_share = {i.symbol: (i.amount / anion_atoms / TRACE_ANION_SHARE) ** power for i in trace}
    versions = []
    for n_removed in range(1, len(trace) + 1):
        for removed in combinations(trace, n_removed):
            version = _without(composition, carrier, anions, list(removed))
            if version is None:
                return [], 1.0
            weight = np.prod([1.0 - kept_share[i.symbol] if i in removed else kept_share[i.symbol] for i in trace])
            versions.append((version, float(weight)))
    return versions, float(np.prod(list(kept_share.values())))


def without_trace_anions(composition: Composition, power: int = 2) -> tuple[Composition | None, float]:
    """The composition without any of its trace anions and that version's weight (see
    :func:`trace_anion_versions`; Li3.02YCl5.99N0.01 gives Li3YCl6 and 1 - (0.01 / 6 / 5 %)^2),
    or (None, 0.0)."""
    versions, _ = trace_anion_versions(composition, power)
    return versions[-1] if versions else (None, 0.0)


def pin_trace_anions(compositions, values: Sequence[np.ndarray], predict, power: int) -> list[np.ndarray]:
    """``values`` (one array per output, shape (n_samples,)) with every row that has trace anions
    replaced by the weighted sum over its versions (:func:`trace_anion_versions`).

    ``predict`` maps a list of Compositions to a tuple of arrays, one per output, as ``values``
    are for ``compositions``; it is called once, on the versions of all rows.
    """
    values = [np.array(v, dtype=float) for v in values]
    rows, needed = [], []
    for k, composition in enumerate(compositions):
        versions, own_weight = trace_anion_versions(composition, power)
        if versions:
            rows.append((k, own_weight, range(len(needed), len(needed) + len(versions)), [w for _, w in versions]))
            needed.extend(version for version, _ in versions)
    if not needed:
        return values
    predicted = predict(needed)
    for k, own_weight, indices, weights in rows:
        for value, of_versions in zip(values, predicted):
            value[k] = own_weight * value[k] + np.dot(weights, of_versions[list(indices)])
    return values


class TraceAnionPinning:
    """Conductivity regressor mixin: log10 sigma of compositions with trace anions pinned (module docstring).

    Put before the regressor class (``class ConductivityRegressor(TraceAnionPinning,
    GBMRegressor)``); ``predict_distribution`` and ``predict_mean`` then pin, the interval bounds
    moving with the mean and the standard deviation, spread and domain distance kept.
    """

    def predict_distribution(self, X, features: np.ndarray | None = None) -> dict[str, np.ndarray]:
        result = super().predict_distribution(X, features)  # the regressor checks it is fitted first
        compositions = as_compositions(X)
        shift = self._pinned(compositions, result["mean"]) - result["mean"]
        if not shift.any():
            return result
        return {**result, "mean": result["mean"] + shift, "lo": result["lo"] + shift, "hi": result["hi"] + shift}

    def predict_mean(self, X, features: np.ndarray | None = None) -> np.ndarray:
        mean = super().predict_mean(X, features)
        return self._pinned(as_compositions(X), mean)

    def _pinned(self, compositions, mean: np.ndarray) -> np.ndarray:
        regressor_mean = super().predict_mean
        return pin_trace_anions(compositions, [mean], lambda versions: (regressor_mean(versions),), power=1)[0]
