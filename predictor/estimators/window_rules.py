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
4. **A trace element cannot move the limits by more than a trace.** By the argument of rule 3,
   a composition with a trace of another anion (halogen, O, S, N) or cation lies between its
   parent and the version rich in that dopant, with the dopant's weight: its limits move from
   the parent's by that weight times a difference of a few volts at most. The regressor alone
   can move more (a 0.01 N for Cl moved the oxidation limit of an oxychloride by 0.066 V; a bag
   of trees steps at split points), so the limits of a composition with trace elements are
   pinned to those of the composition without them (their atoms given to the other elements of
   their site, the carrier balancing the charge; Li3.02YCl5.99N0.01 to Li3YCl6,
   Li2.999In0.999Zr0.001Cl6 to Li3InCl6), each after rules 1-3, with weight 1 - (share / 5 %)^2
   per trace element: in full for a vanishing trace, fading to nothing as the element reaches
   ``TRACE_SHARE`` (5 %) of its site, from where the regressor, trained on such mixtures,
   decides. With several trace elements the versions without each subset of them are weighed
   so (:func:`~predictor.estimators.trace_elements.trace_element_versions`), which stays
   continuous when one of them reaches 5 %. The weights depend on the site fractions only, and
   the versions of a single-halogen composition without its trace elements are single-halogen
   too, so rule 2's order (Li3.1YX5.9O0.1 for X = F ... I) holds after rule 4.
5. **A window is a window.** Far from the training data the regressors can give an oxidation
   limit below 0 V or below the reduction limit (Li2K, Na3CBr6). Both limits are at least
   0 V (below it the metal itself plates), and a reduction limit above the oxidation limit is
   lowered to it: a closed window, the composition predicted unstable at every potential. The
   oxidation limits, and so rule 2's order, are unchanged (but for negative ones, raised to 0).

Every step is continuous in the composition wherever the roles of the ionic picture are (they
change only at fixed ratios of anion-formers such as S to O or N to S, never for a trace): as a
dopant's amount goes to zero its end member's weight goes to zero and the result tends to the
parent's, so a trace dopant cannot move a limit by more than the regressor itself moves (and
a trace element, by rule 4, by much less). An end member that would need no (or a negative)
carrier content does not exist; one with little carrier (below 0.15 per anion) counts in
proportion to it, and the weights are renormalised; the clipping of rule 3 then applies only in
part (by the square of the share of the composition that existing end members cover).
Compositions without Li or Na, or without any existing end member, keep the regressor's
prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Composition

from predictor.composition import HALOGENS, mobile_ion
from predictor.estimators.trace_elements import pin_trace_elements
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
    carrier = mobile_ion(composition)
    if carrier is None:
        return None, 0.0
    ions = ionic_picture(composition, carrier)
    framework = [i for i in ions if i.role == "framework"]
    halogens = [i for i in ions if i.role == "anion" and i.symbol in HALOGENS]
    kept = {i.symbol: i.amount for i in ions if i.role not in ("framework", "carrier") and i.symbol not in HALOGENS}
    framework_atoms = sum(i.amount for i in framework)
    framework_charge = sum(i.amount * i.oxidation_state for i in framework)
    halogen_atoms = sum(i.amount for i in halogens)
    anion_atoms = sum(i.amount for i in ions if i.role == "anion")

    members = []
    for cation in framework or [None]:
        if cation is None:
            carrier_amount, cation_share, cation_part = composition[carrier], 1.0, {}
        else:
            # same framework atoms, all of this element at its own state; the carrier balances the charge
            carrier_amount = composition[carrier] + framework_charge - framework_atoms * cation.oxidation_state
            cation_share, cation_part = cation.amount / framework_atoms, {cation.symbol: framework_atoms}
        if carrier_amount <= 0:
            continue
        # an end member that needs (almost) no carrier does not exist: its weight fades out with its carrier
        existence = min(carrier_amount / (CARRIER_RAMP * anion_atoms), 1.0) if anion_atoms > 0 else 1.0
        if existence < 1e-3:
            continue
        for anion in halogens or [None]:
            anion_share = anion.amount / halogen_atoms if anion is not None else 1.0
            anion_part = {anion.symbol: halogen_atoms} if anion is not None else {}
            amounts = {carrier: carrier_amount, **cation_part, **kept, **anion_part}
            members.append(EndMember(tuple(sorted(amounts.items())), cation_share * anion_share * existence,
                                     anion.symbol if anion is not None else None))
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
        called once on the distinct end members of the whole batch and their halogen versions,
        and, when the batch has compositions with trace elements, twice more (their versions
        without trace elements, then those versions' end members).

    Returns
    -------
    reduction_V, oxidation_V : ndarray, shape (n_samples,), unit V
        ``0 <= reduction_V <= oxidation_V`` for every composition.
    """
    reduction, oxidation = _apply_end_member_rules(compositions, reduction_V, oxidation_V, predict_limits)

    def rules_1_to_3(versions):
        return _apply_end_member_rules(versions, *predict_limits(versions), predict_limits)
    reduction, oxidation = pin_trace_elements(compositions, [reduction, oxidation], rules_1_to_3, power=2)
    return close_inverted_windows(reduction, oxidation)


def close_inverted_windows(reduction_V: np.ndarray, oxidation_V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rule 5: both limits at least 0 V, the reduction limit at most the oxidation limit (V).
    Continuous in both limits."""
    oxidation = np.maximum(oxidation_V, 0.0)
    return np.clip(reduction_V, 0.0, oxidation), oxidation


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
