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
   per framework cation and halogen (Li2.5Y0.5Zr0.5Cl6 into Li3YCl6 and Li2ZrCl6,
   Li3YBr3Cl3 into Li3YCl6 and Li3YBr6; the carrier content of each is set by charge balance
   with the nominal oxidation states of :mod:`predictor.featurizers.ionic`, everything else,
   other anions included, kept), weighted by the products of their framework-cation and
   halogen fractions. Its limit is the regressor's prediction shifted by the weighted
   corrections that rules 1 and 2 made to the end members, then clipped to the range of the
   end members' limits (an end member of weight below 25 % widens that range only in
   proportion to its weight, so that a trace dopant's end member cannot move the bounds at
   once). A composition that decomposes into its end members is stable only where all of
   them are, and a well-behaved solid solution sits between them: either way, the oxidation
   limit is not below the lowest end member's and the reduction limit not above the highest
   one's.
4. **A mixed-anion composition lies between its single-anion versions.** The same argument
   for the anion sublattice, every anion element this time (O, S, N as well as halogens):
   Li2.5Y0.5Zr0.5Cl5Br is a mixture of Li2.5Y0.5Zr0.5Cl6 and Li2.5Y0.5Zr0.5Br6 (framework
   kept, the carrier balancing the charge: Li3.1YCl5.9O0.1 of Li3YCl6 and Li9YO6). Its
   limits after rules 1-3 are clipped to the range of the versions' limits (each after rules
   1-3, fading by weight as in rule 3). Applied last, this pins a trace anion dopant to its
   parent whatever the framework: as the dopant's share goes to zero, the range closes on the
   parent's own limit. A version in which another element would change its role does not
   exist (LiPCl6 from Li6PS5Cl: P without S is not a cation). For halide mixtures the versions'
   range lies within rule 3's; with O, S or N it may not, and rule 4 has the last word. Rule 4
   clips a set of single-halogen compositions (Li6PS5F ... Li6PS5I) towards versions whose
   limits keep the order of rule 2, so that order holds after it.

Every step is continuous in the composition wherever the roles of the ionic picture are (they
change only at fixed ratios of anion-formers such as S to O or N to S, never for a trace): as a
dopant's amount goes to zero its end member's weight goes to zero and the result tends to the
parent's, so a trace dopant cannot move a limit by more than the regressor itself moves. An end
member that would need no (or a negative) carrier content does not exist; one with little
carrier (below 0.15 per anion) counts in proportion to it, and the weights are renormalised; the
clipping of rules 3 and 4 then applies only in part (by the square of the share of the
composition that existing end members cover; a single existing version pulls by that much
towards its limit). Compositions without Li or Na, or without any existing end member, keep the
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
    """End members of rule 3 (weights summing to 1, or None) and the share of the composition they cover.

    The share is 1 when every end member exists and falls with the weight of those that need
    (almost) no carrier: the rule that a mixture lies between its end members holds in full
    only for a composition that is a mixture of existing ones.
    """
    return _split(composition, by_framework=True)


def anion_versions(composition: Composition) -> tuple[list[EndMember] | None, float]:
    """The single-anion versions of a composition (rule 4), weighted by the anion fractions.

    Li2.5Y0.5Zr0.5Cl5Br into Li2.5Y0.5Zr0.5Cl6 (5/6) and Li2.5Y0.5Zr0.5Br6 (1/6): every anion
    atom becomes one element, the framework is kept, and the carrier balances the charge. A
    version in which another element would change its role does not exist (Li6PS5Cl's all-Cl
    version "LiPCl6", where P without S would count as an anion). Weights and share as in
    :func:`decompose`; None for a composition with fewer than two anion elements (its own
    single version: rule 4 changes nothing there).
    """
    return _split(composition, by_framework=False)


def _split(composition: Composition, by_framework: bool) -> tuple[list[EndMember] | None, float]:
    """Rule 3's end members (``by_framework``: one per framework cation and halogen, other anions
    kept) or rule 4's versions (one per anion element, framework kept); see module docstring."""
    carrier = mobile_ion(composition)
    if carrier is None:
        return None, 0.0
    ions = ionic_picture(composition, carrier)
    anions = [i for i in ions if i.role == "anion"]
    if by_framework:
        cations = [i for i in ions if i.role == "framework"]
        swapped = [i for i in anions if i.symbol in HALOGENS]
    elif len(anions) < 2:
        return None, 0.0
    else:
        cations, swapped = [], anions
    split = {i.symbol for i in cations + swapped}
    kept = {i.symbol: i.amount for i in ions if i.role != "carrier" and i.symbol not in split}
    roles = {i.symbol: i.role for i in ions}
    framework_atoms = sum(i.amount for i in cations)
    framework_charge = sum(i.amount * i.oxidation_state for i in cations)
    swapped_atoms = sum(i.amount for i in swapped)
    swapped_charge = sum(i.amount * i.oxidation_state for i in swapped)
    anion_atoms = sum(i.amount for i in anions)

    members = []
    for cation in cations or [None]:
        if cation is None:
            cation_carrier, cation_share, cation_part = 0.0, 1.0, {}
        else:
            # same framework atoms, all of this element at its own state; the carrier balances the charge
            cation_carrier = framework_charge - framework_atoms * cation.oxidation_state
            cation_share, cation_part = cation.amount / framework_atoms, {cation.symbol: framework_atoms}
        for anion in swapped or [None]:
            if anion is None:
                anion_carrier, anion_share, anion_part = 0.0, 1.0, {}
            else:
                # same anion atoms, all of this element; the carrier balances the charge
                anion_carrier = swapped_charge - swapped_atoms * anion.oxidation_state
                anion_share, anion_part = anion.amount / swapped_atoms, {anion.symbol: swapped_atoms}
            carrier_amount = composition[carrier] + cation_carrier + anion_carrier
            if carrier_amount <= 0:
                continue
            # an end member that needs (almost) no carrier does not exist: its weight fades out with its carrier
            existence = min(carrier_amount / (CARRIER_RAMP * anion_atoms), 1.0) if anion_atoms > 0 else 1.0
            if existence < 1e-3:
                continue
            amounts = {carrier: carrier_amount, **kept, **cation_part, **anion_part}
            if not by_framework and not _keeps_roles(amounts, roles, carrier):
                continue
            halogen = anion.symbol if anion is not None and anion.symbol in HALOGENS else None
            amounts = tuple(sorted((el, round(amount, 9)) for el, amount in amounts.items()))  # shared by equal members
            members.append(EndMember(amounts, cation_share * anion_share * existence, halogen))
    total = sum(m.weight for m in members)
    if total <= 0:
        return None, 0.0
    return [EndMember(m.amounts, m.weight / total, m.halogen) for m in members], min(total, 1.0)


def _keeps_roles(amounts: dict[str, float], roles: dict[str, str], carrier: str) -> bool:
    """True when every element of ``amounts`` has the role it had in the composition (a new one: anion)."""
    version = ionic_picture(Composition(amounts), carrier)
    return all(ion.role == roles.get(ion.symbol, "anion") for ion in version)


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
        called once on the distinct end members of the whole batch and their halogen versions,
        and, when the batch has mixed-anion compositions, twice more (their single-anion
        versions, then those versions' end members).

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
