"""Trace elements: a composition's elements below 5 % of their site, and how far they may move a prediction.

A regressor has never seen a trace of most elements (no paper dopes 0.1 % of Bi into Na3YCl6),
so its response to one is whatever its descriptors make of it: a bag of trees steps wherever
the trace carries a descriptor across a split point between two training compositions (0.001
formula units of a cation dopant moved log10 sigma by more than 0.05 in 16 % of 400 pairs of
curated halides), although a trace of anything changes the carrier content and the lattice by
a trace only. Predictions therefore lean on the composition without its trace elements
(:func:`without_trace_elements`; Li2.999In0.999Zr0.001Cl6 -> Li3InCl6, Li3.02YCl5.99N0.01 ->
Li3YCl6), with a weight that is 1 for a vanishing trace and 0 from ``TRACE_SHARE`` of its site
on, where doped data exist and the regressor decides:

- the window limits (rule 4 of :mod:`.window_rules`) with weight 1 - (share / 5 %)^2;
- log10 sigma (:class:`TraceElementPinning`, every conductivity family) and Ea with weight
  1 - share / 5 %: the regressor's step from the parent counts in proportion to the trace's
  share of the 5 %, so that a trace moves the prediction by a trace of the regressor's step and
  a 2.5 % substitution by half of it.

A site is either the anions or the cations other than the carrier (framework cations, other
alkali and alkaline-earth metals, H+), as :func:`predictor.featurizers.ionic.ionic_picture`
assigns them; the most abundant element of a site (its host) is never a trace. The version
without a trace element gives its atoms to the host, the carrier balancing the charge: the
host keeps its nominal oxidation state, and a trace framework cation is taken to carry the
charge the nominal states of the others leave unbalanced (within its own range of states), so
that the version is the parent the dopant was put into: Li2.96Y0.96Zr0.04Cl6 leans on Li3YCl6,
Na2.996Y0.999Mn0.001Cl6 (Mn7+) on Na3YCl6. With several trace
elements, the versions without each subset of them are weighed (:func:`trace_element_versions`),
so that nothing jumps when one of them reaches 5 %. What it costs: the few training
compositions with a trace element (lightly doped garnets, Cl-doped Li10GeP2S12-type, the
Li2OHBr1-xFx series) are predicted leaning on compositions without it. A trace of a cation that
is the only one besides the carrier (LiCl with 0.1 % Y) is not pinned: there is no parent of the
same kind to lean on.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import combinations

import numpy as np
from pymatgen.core import Composition

from predictor.composition import mobile_ion
from predictor.featurizers import as_compositions
from pymatgen.core import Element

from predictor.featurizers.ionic import Ion, ionic_picture, positive_states

#: Share of its site below which an element other than the site's most abundant is a trace.
TRACE_SHARE = 0.05


def _site(ion: Ion) -> str:
    return "anion" if ion.role == "anion" else "cation"


def _trace_elements(composition: Composition):
    """(carrier, ions other than the carrier, [(trace ion, share of its site)]), or None without a trace."""
    carrier = mobile_ion(composition)
    if carrier is None:
        return None
    amounts = [a for el, a in composition.get_el_amt_dict().items() if el != carrier]
    if not amounts or min(amounts) >= TRACE_SHARE * sum(amounts):
        return None  # every element holds 5 % of all non-carrier atoms, so of its site too
    ions = [i for i in ionic_picture(composition, carrier) if i.role != "carrier"]
    trace = []
    for site in ("cation", "anion"):
        members = [i for i in ions if _site(i) == site]
        atoms = sum(i.amount for i in members)
        main = max(members, key=lambda i: i.amount, default=None)
        trace += [(i, i.amount / atoms) for i in members if i is not main and i.amount < TRACE_SHARE * atoms]
    return (carrier, ions, trace) if trace else None


def _nominal_state(ion: Ion) -> float:
    """The integer state nearest a framework cation's charge-balanced one (Ti 3 in Li3TiCl6 with a
    trace of Mn); other ions' states are integers already."""
    return float(round(ion.oxidation_state)) if ion.role == "framework" else ion.oxidation_state


def _charges(ions: list[Ion], trace: list[Ion]) -> dict[str, float]:
    """The oxidation state each ion is counted with when it leaves or joins a version.

    Every ion takes its nominal state, but the trace framework cations, which share the charge
    the nominal states leave unbalanced (in proportion to their amounts), each within the range
    of its element's positive states.
    """
    charges = {ion.symbol: _nominal_state(ion) for ion in ions}
    framework = [i for i in ions if i.role == "framework"]
    traced = [i for i in framework if i in trace]
    if traced:
        unbalanced = sum(i.amount * (i.oxidation_state - charges[i.symbol]) for i in framework)
        per_atom = unbalanced / sum(i.amount for i in traced)
        for ion in traced:
            states = positive_states(Element(ion.symbol))
            charges[ion.symbol] = float(np.clip(charges[ion.symbol] + per_atom, min(states), max(states)))
    return charges


def _without(composition: Composition, carrier: str, ions: list[Ion], removed: list[Ion],
             charges: dict[str, float]) -> Composition | None:
    """``composition`` without the ``removed`` ions: their atoms go to the host of their site (its
    most abundant ion), the carrier balancing the charge with ``charges`` (None if it would run out)."""
    amounts = composition.get_el_amt_dict()
    for site in ("cation", "anion"):
        gone = [i for i in removed if _site(i) == site]
        if not gone:
            continue
        host = max((i for i in ions if _site(i) == site), key=lambda i: i.amount)
        for ion in gone:
            del amounts[ion.symbol]
            amounts[host.symbol] += ion.amount
            amounts[carrier] += ion.amount * (charges[ion.symbol] - charges[host.symbol])
    return Composition(amounts) if amounts[carrier] > 0 else None


def trace_element_versions(composition: Composition, power: int = 2) -> tuple[list[tuple[Composition, float]], float]:
    """The versions of a composition with some of its trace elements removed, their weights, and its own.

    Each trace element i counts with u_i = (share_i / 5 %)^power (its share of its site); the
    version that keeps the trace elements of a subset S and removes the others (see the module
    docstring) weighs prod_{i in S} u_i x prod_{i not in S} (1 - u_i). The composition itself is
    the version that keeps all of them. This interpolation is continuous as any trace reaches
    5 % (u_i = 1, and every version without it weighs 0) or vanishes, with one trace or several.
    Returns ([], 1.0) without a trace element, or when a version would need a negative carrier
    content.
    """
    found = _versions_without_traces(frozenset(composition.items()))
    if found is None:
        return [], 1.0
    versions, shares = found
    kept_share = {symbol: (share / TRACE_SHARE) ** power for symbol, share in shares}
    weighed = [(version, float(np.prod([1.0 - u if symbol in removed else u for symbol, u in kept_share.items()])))
               for version, removed in versions]
    return weighed, float(np.prod(list(kept_share.values())))


@lru_cache(maxsize=65536)
def _versions_without_traces(amounts: frozenset):
    """((version, symbols removed), ...) and ((trace symbol, share of its site), ...) of a
    composition given as its (element, amount) pairs, or None. Cached: every property model
    and the calibration ask for the same compositions' versions."""
    composition = Composition(dict(amounts))
    found = _trace_elements(composition)
    if found is None:
        return None
    carrier, ions, trace = found
    trace_ions = [ion for ion, _ in trace]
    charges = _charges(ions, trace_ions)
    versions = []
    for n_removed in range(1, len(trace_ions) + 1):
        for removed in combinations(trace_ions, n_removed):
            version = _without(composition, carrier, ions, list(removed), charges)
            if version is None:
                return None
            versions.append((version, frozenset(i.symbol for i in removed)))
    return tuple(versions), tuple((ion.symbol, share) for ion, share in trace)


def without_trace_elements(composition: Composition, power: int = 2) -> tuple[Composition | None, float]:
    """The composition without any of its trace elements and that version's weight (see
    :func:`trace_element_versions`; Li3.02YCl5.99N0.01 gives Li3YCl6 and 1 - (0.01 / 6 / 5 %)^2),
    or (None, 0.0)."""
    versions, _ = trace_element_versions(composition, power)
    return versions[-1] if versions else (None, 0.0)


def pin_trace_elements(compositions, values: Sequence[np.ndarray], predict, power: int) -> list[np.ndarray]:
    """``values`` (one array per output, shape (n_samples,)) with every row that has trace elements
    replaced by the weighted sum over its versions (:func:`trace_element_versions`).

    ``predict`` maps a list of Compositions to a tuple of arrays, one per output, as ``values``
    are for ``compositions``; it is called once, on the versions of all rows.
    """
    values = [np.array(v, dtype=float) for v in values]
    rows, needed = [], []
    for k, composition in enumerate(compositions):
        versions, own_weight = trace_element_versions(composition, power)
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


class TraceElementPinning:
    """Regressor mixin: predictions of compositions with trace elements pinned (module docstring).

    Put before the regressor class (``class ConductivityRegressor(TraceElementPinning,
    GBMRegressor)``); ``predict_distribution`` and ``predict_mean`` then pin with the linear
    weight, the interval bounds moving with the mean and the standard deviation, spread and
    domain distance kept. A class attribute ``interval_ceiling`` (target unit), when set, caps
    the upper bound of the interval.
    """

    interval_ceiling: float | None = None

    def predict_distribution(self, X, features: np.ndarray | None = None) -> dict[str, np.ndarray]:
        result = super().predict_distribution(X, features)  # the regressor checks it is fitted first
        compositions = as_compositions(X)
        shift = self._pinned(compositions, result["mean"]) - result["mean"]
        hi = result["hi"] + shift
        if self.interval_ceiling is not None:
            hi = np.minimum(hi, self.interval_ceiling)
        return {**result, "mean": result["mean"] + shift, "lo": result["lo"] + shift, "hi": hi}

    def predict_mean(self, X, features: np.ndarray | None = None) -> np.ndarray:
        mean = super().predict_mean(X, features)
        return self._pinned(as_compositions(X), mean)

    def _pinned(self, compositions, mean: np.ndarray) -> np.ndarray:
        regressor_mean = super().predict_mean
        return pin_trace_elements(compositions, [mean], lambda versions: (regressor_mean(versions),), power=1)[0]
