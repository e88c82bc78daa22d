"""Trace anions: a composition's anions below 5 % of the anion sites, and how far they may move a prediction.

A regressor has never seen a trace of an anion (no paper dopes 0.1 % of N into a chloride), so
its response to one is whatever its descriptors and smoothing make of it: 0.01 formula units of
Br, I or N on the chloride site moved the gradient-boosted log10 sigma by more than 0.05 for 27
of 1,278 pairs of curated halides and anion dopants (up to 0.094), although a trace of anything changes the
carrier content and the lattice by a trace only. Both properties therefore lean on the
composition without its trace anions (:func:`without_trace_anions`; Li3.02YCl5.99N0.01 ->
Li3YCl6), with a weight that is 1 for a vanishing trace and 0 from ``TRACE_ANION_SHARE`` of the
anion sites on, where mixed-anion data exist and the regressor decides:

- the window limits (rule 4 of :mod:`.window_rules`) with weight 1 - (share / 5 %)^2;
- log10 sigma (:class:`TraceAnionPinning`, for every conductivity family) with weight
  1 - share / 5 %: the regressor's step from the parent counts in proportion to the trace's
  share of the 5 %, so that a trace moves the prediction by a trace of the regressor's step and
  a 2.5 % substitution by half of it.
"""

from __future__ import annotations

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


def without_trace_anions(composition: Composition, power: int = 2) -> tuple[Composition | None, float]:
    """The composition without its trace anions, and how fully a prediction is pinned to it.

    Trace anions are the anion elements (halogens, O, S, N, ...) below ``TRACE_ANION_SHARE`` of
    the anion sites, the most abundant one excepted. Their sites go to the other anions in
    proportion to their amounts and the carrier balances the charge (Li3.02YCl5.99N0.01 gives
    Li3YCl6). The pinning weight is the product over trace anions of 1 - (share / 5 %)^power:
    1 for a vanishing trace, 0 at 5 %. Returns (None, 0.0) when there is no trace anion or the
    carrier would run out.
    """
    carrier = mobile_ion(composition)
    if carrier is None or sum(el.symbol in _ANION_FORMER_SET for el in composition.elements) < 2:
        return None, 0.0  # one anion at most: nothing to pin (and no ionic picture to work out)
    anions = [i for i in ionic_picture(composition, carrier) if i.role == "anion"]
    anion_atoms = sum(i.amount for i in anions)
    main = max(anions, key=lambda i: i.amount, default=None)
    trace = [i for i in anions if i is not main and i.amount < TRACE_ANION_SHARE * anion_atoms]
    if not trace:
        return None, 0.0
    hosts = [i for i in anions if i not in trace]
    host_atoms = sum(i.amount for i in hosts)
    moved_atoms = sum(i.amount for i in trace)
    amounts = composition.get_el_amt_dict()
    for ion in trace:
        del amounts[ion.symbol]
        amounts[carrier] += ion.amount * ion.oxidation_state  # its charge no longer balanced ...
    for ion in hosts:
        amounts[ion.symbol] += moved_atoms * ion.amount / host_atoms
        amounts[carrier] -= moved_atoms * ion.amount / host_atoms * ion.oxidation_state  # ... the hosts' instead
    if amounts[carrier] <= 0:
        return None, 0.0
    weight = float(np.prod([1.0 - (i.amount / anion_atoms / TRACE_ANION_SHARE) ** power for i in trace]))
    return Composition(amounts), weight


def trace_anion_shift(compositions, means: np.ndarray, predict_mean) -> np.ndarray:
    """How far pinning moves each mean: weight x (parent's mean - mean), 0 without trace anions.

    ``predict_mean`` maps a list of Compositions to the regressor's means; it is called once,
    on the compositions without trace anions of the rows that have any.
    """
    shift = np.zeros(len(compositions))
    pinned = [(k, *without_trace_anions(c, power=1)) for k, c in enumerate(compositions)]
    pinned = [(k, parent, weight) for k, parent, weight in pinned if parent is not None and weight > 0]
    if pinned:
        rows = np.array([k for k, _, _ in pinned])
        weights = np.array([w for _, _, w in pinned])
        shift[rows] = weights * (predict_mean([parent for _, parent, _ in pinned]) - np.asarray(means)[rows])
    return shift


class TraceAnionPinning:
    """Conductivity regressor mixin: log10 sigma of compositions with trace anions pinned (module docstring).

    Put before the regressor class (``class ConductivityRegressor(TraceAnionPinning,
    GBMRegressor)``); ``predict_distribution`` and ``predict_mean`` then pin, the interval bounds
    moving with the mean and the standard deviation, spread and domain distance kept.
    """

    def predict_distribution(self, X, features: np.ndarray | None = None) -> dict[str, np.ndarray]:
        compositions = as_compositions(X)
        result = super().predict_distribution(compositions, features)
        shift = trace_anion_shift(compositions, result["mean"], super().predict_mean)
        if not shift.any():
            return result
        return {**result, "mean": result["mean"] + shift, "lo": result["lo"] + shift, "hi": result["hi"] + shift}

    def predict_mean(self, X, features: np.ndarray | None = None) -> np.ndarray:
        compositions = as_compositions(X)
        mean = super().predict_mean(compositions, features)
        return mean + trace_anion_shift(compositions, mean, super().predict_mean)
