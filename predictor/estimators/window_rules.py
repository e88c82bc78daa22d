"""Thermodynamic rules that the predicted electrochemical windows obey by construction.

A regressor trained on window labels does not know thermodynamics: left alone it gives LiF a
reduction limit of 0.7 V and puts solid solutions outside both of their end members. The
rules applied on top of the regressor's predictions (:func:`apply_window_rules`):

1. **A binary halide of the carrier is stable against its metal.** A composition made only of
   the carrier and halogens (LiCl, NaBr, LiCl0.5Br0.5) has a reduction limit of 0 V, and no
   reduction limit is below 0 V.
2. **The oxidation limit falls F > Cl > Br > I for a fixed framework.** For each end member
   (below) the four single-halogen versions are predicted, and their oxidation limits are
   made non-increasing in that order by isotonic regression (pool-adjacent-violators).
3. **A mixture lies between its end members.** A composition is split into end members, one
   per framework cation and anion element (Li2.5Y0.5Zr0.5Cl6 into Li3YCl6 and Li2ZrCl6,
   Li3YBr3Cl3 into Li3YCl6 and Li3YBr6, LiNbOCl4 into Li5NbO5 and "Nb Cl5" (which needs no
   Li, so does not exist, below); the carrier content of each is set by charge balance with
   the nominal oxidation states of :mod:`predictor.featurizers.ionic`, everything else kept),
   weighted by the products of their framework-cation and anion fractions. Its limit is the
   regressor's prediction shifted by the weighted corrections that rules 1 and 2 made to the
   end members, then clipped to the range of the end members' limits (an end member of weight
   below 25 % widens that range only in proportion to its weight, so that a trace dopant's end
   member cannot move the bounds at once). A composition that decomposes into its end members
   is stable only where all of them are, and a well-behaved solid solution sits between them:
   either way, the oxidation limit is not below the lowest end member's and the reduction
   limit not above the highest one's.
4. **A mixed-anion composition lies between its single-anion versions.** The same argument
   for the anion sublattice alone: Li2.5Y0.5Zr0.5Cl5Br is a mixture of Li2.5Y0.5Zr0.5Cl6 and
   Li2.5Y0.5Zr0.5Br6 (framework kept, the carrier balancing the charge), so its limits, after
   rules 1-3, are clipped to the range of those versions' limits (after rules 1-3, the same
   fading by weight). This pins a trace anion dopant to its parent whatever the framework: as
   the dopant's share goes to zero, the range closes on the parent's own limit.

Every step is continuous in the composition: as a dopant's amount goes to zero its end
member's weight goes to zero and the result tends to the parent's, so a trace dopant cannot
move a limit by more than the regressor itself moves. An end member that would need no (or a
negative) carrier content does not exist; one with little carrier (below 0.15 per anion)
counts in proportion to it, and the weights are renormalised; the clipping of rules 3 and 4
then applies only in part (by the square of the share of the composition that existing end
members cover). Compositions without Li or Na, or without any existing end member, keep the
regressor's prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Composition

from predictor.composition import HALOGENS, mobile_ion
from predictor.featurizers.ionic import ionic_picture

#: Halogens in the order of falling oxidation limit.
HALOGEN_ORDER = ("F", "Cl", "Br", "I")
#: An end member with fewer carrier atoms per anion than this counts only in proportion (none
#: without carrier), so that end members appear and vanish continuously with the composition.
CARRIER_RAMP = 0.15
#: Weight from which an end member's limit bounds the mixture's fully (see ``_bounds``).
FULL_WEIGHT = 0.25


@dataclass(frozen=True)
class EndMember:
    """One end member of a composition: its amounts, weight, and its halogen (or None)."""

    amounts: tuple[tuple[str, float], ...]
    weight: float
    halogen: str | None

    def with_halogen(self, halogen: str) -> tuple[tuple[str, float], ...]:
        """The amounts with this end member's halogen replaced by ``halogen``."""
        return tuple((halogen if el == self.halogen else el, amount) for el, amount in self.amounts)


def end_members(composition: Composition) -> list[EndMember] | None:
    """The end members of a composition (see module docstring), or None when it has none.

    A composition with one framework cation (or none) and one halogen (or none) is its own
    single end member.
    """
    return decompose(composition)[0]


def decompose(composition: Composition) -> tuple[list[EndMember] | None, float]:
    """End members (weights summing to 1, or None) and the share of the composition they cover.

    The share is 1 when every end member exists and falls with the weight of those that need
    (almost) no carrier: the rule that a mixture lies between its end members holds in full
    only for a composition that is a mixture of existing ones.
    """
    return _split(composition, framework=True)


def anion_versions(composition: Composition) -> tuple[list[EndMember] | None, float]:
    """The single-anion versions of a composition (rule 4), weighted by the anion fractions.

    Li2.5Y0.5Zr0.5Cl5Br into Li2.5Y0.5Zr0.5Cl6 (5/6) and Li2.5Y0.5Zr0.5Br6 (1/6): every anion
    atom becomes one element, the framework is kept, and the carrier balances the charge.
    Weights and share as in :func:`decompose`; None for a composition with fewer than two
    anion elements (its own single version: rule 4 changes nothing there).
    """
    carrier = mobile_ion(composition)
    if carrier is None or sum(i.role == "anion" for i in ionic_picture(composition, carrier)) < 2:
        return None, 0.0
    return _split(composition, framework=False)


def _split(composition: Composition, framework: bool) -> tuple[list[EndMember] | None, float]:
    """End members, one per anion and (when ``framework``) per framework cation; see module docstring."""
    carrier = mobile_ion(composition)
    if carrier is None:
        return None, 0.0
    ions = ionic_picture(composition, carrier)
    cations = [i for i in ions if i.role == "framework"]
    anions = [i for i in ions if i.role == "anion"]
    kept = {i.symbol: i.amount for i in ions if i.role not in ("framework", "carrier", "anion")}
    if not framework:
        kept.update({i.symbol: i.amount for i in cations})
        cations = []
    framework_atoms = sum(i.amount for i in cations)
    framework_charge = sum(i.amount * i.oxidation_state for i in cations)
    anion_atoms = sum(i.amount for i in anions)
    anion_charge = sum(i.amount * i.oxidation_state for i in anions)

    members = []
    for cation in cations or [None]:
        if cation is None:
            cation_carrier, cation_share, cation_part = 0.0, 1.0, {}
        else:
            # same framework atoms, all of this element at its own state; the carrier balances the charge
            cation_carrier = framework_charge - framework_atoms * cation.oxidation_state
            cation_share, cation_part = cation.amount / framework_atoms, {cation.symbol: framework_atoms}
        for anion in anions or [None]:
            if anion is None:
                anion_carrier, anion_share, anion_part = 0.0, 1.0, {}
            else:
                # same anion atoms, all of this element; the carrier balances the charge
                anion_carrier = anion_charge - anion_atoms * anion.oxidation_state
                anion_share, anion_part = anion.amount / anion_atoms, {anion.symbol: anion_atoms}
            carrier_amount = composition[carrier] + cation_carrier + anion_carrier
            # an end member that needs (almost) no carrier does not exist: its weight fades out with its carrier
            existence = min(carrier_amount / (CARRIER_RAMP * anion_atoms), 1.0) if anion_atoms > 0 else 1.0
            if existence < 1e-3:
                continue
            amounts = {carrier: carrier_amount, **kept, **cation_part, **anion_part}
            halogen = anion.symbol if anion is not None and anion.symbol in HALOGENS else None
            amounts = tuple(sorted((el, round(amount, 9)) for el, amount in amounts.items()))  # shared by equal members
            members.append(EndMember(amounts, cation_share * anion_share * existence, halogen))
    total = sum(m.weight for m in members)
    if total <= 0:
        return None, 0.0
    return [EndMember(m.amounts, m.weight / total, m.halogen) for m in members], min(total, 1.0)


def is_carrier_halide(amounts: Sequence[tuple[str, float]]) -> bool:
    """True for compositions of Li or Na and halogens only (LiCl, NaBr, LiCl0.5Br0.5)."""
    elements = {el for el, amount in amounts if amount > 0}
    carriers = elements & {"Li", "Na"}
    return len(carriers) == 1 and bool(elements - carriers) and elements - carriers <= set(HALOGENS)


def _decreasing_isotonic(values: list[float]) -> list[float]:
    """Closest non-increasing sequence in least squares (pool adjacent violators, equal weights).

    The same as ``sklearn.isotonic.isotonic_regression(values, increasing=False)``, which spends
    about 240 us per call validating its input against 2 us here; this runs once per end member
    of every predicted composition.
    """
    blocks: list[list[float]] = []  # [mean, count]
    for v in values:
        blocks.append([v, 1.0])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            mean, count = blocks.pop()
            blocks[-1] = [(blocks[-1][0] * blocks[-1][1] + mean * count) / (blocks[-1][1] + count),
                          blocks[-1][1] + count]
    return [mean for mean, count in blocks for _ in range(int(count))]


def apply_window_rules(compositions: Sequence[Composition], reduction_V: np.ndarray, oxidation_V: np.ndarray,
                       predict_limits: Callable[[list[str]], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Window limits of ``compositions`` that obey the rules of the module docstring.

    Parameters
    ----------
    compositions : sequence of Composition
    reduction_V, oxidation_V : ndarray, shape (n_samples,), unit V
        The regressor's predictions for ``compositions``.
    predict_limits : callable
        Maps a list of Compositions to the regressor's (reduction, oxidation) predictions in V;
        called once, on the distinct end members of the whole batch and their halogen
        versions.

    Returns
    -------
    reduction_V, oxidation_V : ndarray, shape (n_samples,), unit V
    """
    reduction, oxidation = _apply_end_member_rules(compositions, reduction_V, oxidation_V, predict_limits)
    versions = [anion_versions(c) for c in compositions]
    mixed = [k for k, (members, _) in enumerate(versions) if members]
    if not mixed:
        return reduction, oxidation
    needed: dict[tuple, int] = {}
    for k in mixed:
        for member in versions[k][0]:
            needed.setdefault(member.amounts, len(needed))
    single = [Composition(dict(a)) for a in needed]
    version_limits = _apply_end_member_rules(single, *predict_limits(single), predict_limits)
    for k in mixed:
        members, share = versions[k]
        rows = [needed[m.amounts] for m in members]
        weight = np.array([m.weight for m in members])
        for limits, of_versions in zip((reduction, oxidation), version_limits):
            low, high = _bounds(of_versions[rows], weight)
            limits[k] += share**2 * (np.clip(limits[k], low, high) - limits[k])
    return reduction, oxidation


def _apply_end_member_rules(compositions: Sequence[Composition], reduction_V: np.ndarray, oxidation_V: np.ndarray,
                            predict_limits: Callable) -> tuple[np.ndarray, np.ndarray]:
    """Rules 1-3 (module docstring); the arguments and result of :func:`apply_window_rules`."""
    decompositions = [decompose(c) for c in compositions]
    needed: dict[tuple, int] = {}
    for members, _ in decompositions:
        for member in members or ():
            variants = [member.with_halogen(h) for h in HALOGEN_ORDER] if member.halogen else [member.amounts]
            for amounts in variants:
                needed.setdefault(amounts, len(needed))
    if needed:
        raw_reduction, raw_oxidation = predict_limits([Composition(dict(a)) for a in needed])
    reduction, oxidation = np.array(reduction_V, dtype=float), np.array(oxidation_V, dtype=float)
    for k, (members, share) in enumerate(decompositions):
        if not members:
            continue
        corrected = []  # per end member: raw and corrected (reduction, oxidation)
        for member in members:
            row = needed[member.amounts]
            red, ox = raw_reduction[row], raw_oxidation[row]
            red_fixed = 0.0 if is_carrier_halide(member.amounts) else max(red, 0.0)
            ox_fixed = ox
            if member.halogen:
                series = [raw_oxidation[needed[member.with_halogen(h)]] for h in HALOGEN_ORDER]
                ox_fixed = _decreasing_isotonic(series)[HALOGEN_ORDER.index(member.halogen)]
            corrected.append((member.weight, red, ox, red_fixed, ox_fixed))
        weight, red, ox, red_fixed, ox_fixed = (np.array(column) for column in zip(*corrected))
        for limits, raw, fixed in ((reduction, red, red_fixed), (oxidation, ox, ox_fixed)):
            shifted = limits[k] + weight @ (fixed - raw)
            # clipped in full when the end members cover the whole composition, less when some do not exist
            limits[k] = shifted + share**2 * (np.clip(shifted, *_bounds(fixed, weight)) - shifted)
    return np.maximum(reduction, 0.0), oxidation


def _bounds(limits: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Range of the end members' limits, each end member counting fully from ``FULL_WEIGHT`` on.

    An end member of weight w < FULL_WEIGHT widens the range only to (w / FULL_WEIGHT)^2 of
    the way from the weighted mean to its own limit: the range is then still within the end
    members' (so the rule holds), and a trace dopant's end member, whose limit may be far
    away, moves it by a trace instead of at once.
    """
    mean = weights @ limits
    reach = mean + (limits - mean) * np.minimum(weights / FULL_WEIGHT, 1.0) ** 2
    return float(reach.min()), float(reach.max())
