"""Nominal ionic picture of a composition: which elements are anions, cations, the carrier,
and their oxidation states and Shannon radii.

The halide descriptors need oxidation states for compositions that are often fractional and
doped (Li2.5Y0.5Zr0.5Cl6), where pymatgen's exhaustive ``oxi_state_guesses`` is slow. The rules
here are fixed and cheap:

- halogens are -1; O, S, Se, Te are -2 (S, Se, Te are cations when there is at least
  ``OXOANION_RATIO`` times as much O and they make at least ``MIN_OXOANION_SHARE`` of it, as in
  sulfates); N and P are -3 unless there is at least ``OXOANION_RATIO`` times as much
  chalcogen (phosphates, thiophosphates; for N, nitrates: N also needs that share); H is +1 when there is at least
  half as much O + N as H (hydroxides, amides, ammonium) and -1 otherwise (hydrides,
  borohydrides). Ratios rather than presence decide, so a trace of O cannot turn the S of a
  sulfide into a cation;
- alkali metals are +1 and alkaline-earth metals +2;
- the remaining cations are the *framework* cations. Charge balance fixes their mean
  oxidation state; each starts from its common oxidation state nearest that mean (Zr 4 and
  Y 3 in Li2.5Y0.5Zr0.5Cl6, Mn 2 in Li2Fe0.9Mn0.1Cl4), and the charge left unbalanced is
  spread over the framework atoms equally (every framework state shifts by the same amount).
  A single framework element thus takes the charge-balance value (Fe 2 in Li2FeCl4), and a
  trace dopant shifts the host's state by a trace: the states, and the radii interpolated
  between integer states, are continuous in the composition.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pymatgen.core import Composition, Element, Species

HALOGEN_STATES = {"F": -1, "Cl": -1, "Br": -1, "I": -1}
CHALCOGENS = ("O", "S", "Se", "Te")
PNICTOGEN_ANIONS = ("N", "P")
CARRIERS = ("Li", "Na")
#: An anion-former (S, Se, Te; N, P) is a cation when the more electronegative anion (O; a
#: chalcogen) is present at least this many times its amount (SO4, PO4, PS4 have 4).
OXOANION_RATIO = 2.0
#: ... and when it makes at least this share of that anion (S in a sulfate: 1/4 of O); a few per
#: cent of S or N in an oxide sit on anion sites, so a trace of them stays an anion.
MIN_OXOANION_SHARE = 0.2

#: Free-ion polarisabilities of anions (Å^3), L. Pauling, Proc. R. Soc. A 114, 181 (1927).
ANION_POLARISABILITY_A3 = {"F": 1.04, "Cl": 3.66, "Br": 4.77, "I": 7.10, "O": 3.88, "S": 10.2, "Se": 10.5, "Te": 14.0}


@dataclass(frozen=True)
class Ion:
    symbol: str
    amount: float
    oxidation_state: float
    role: str  # "carrier", "framework", "fixed" (alkali/alkaline earth, H+), or "anion"

    @property
    def radius_A(self) -> float:
        return interpolated_radius_A(self.symbol, self.oxidation_state)


def _anion_state(symbol: str, amounts: dict[str, float]) -> int | None:
    amount = amounts[symbol]
    if symbol in HALOGEN_STATES:
        return HALOGEN_STATES[symbol]
    if symbol == "O":
        return -2
    if symbol in CHALCOGENS:
        oxygen = amounts.get("O", 0.0)
        return None if oxygen >= OXOANION_RATIO * amount and amount >= MIN_OXOANION_SHARE * oxygen else -2
    if symbol in PNICTOGEN_ANIONS:
        chalcogen = sum(amounts.get(c, 0.0) for c in CHALCOGENS)
        if symbol == "N" and amount < MIN_OXOANION_SHARE * chalcogen:
            return -3  # N in an oxide at a few per cent substitutes O (LiPON), it is not a nitrate
        return None if chalcogen >= OXOANION_RATIO * amount else -3
    if symbol == "H":
        return None if amounts.get("O", 0.0) + amounts.get("N", 0.0) >= 0.5 * amount else -1
    return None


def _fixed_cation_state(element: Element) -> int | None:
    if element.symbol == "H":
        return 1
    if element.is_alkali:
        return 1
    if element.is_alkaline:
        return 2
    return None


def positive_states(element: Element) -> tuple[int, ...]:
    states = tuple(s for s in element.common_oxidation_states if s > 0)
    return states or tuple(s for s in element.oxidation_states if s > 0) or (0,)


def nearest_common_state(element: Element, target: float) -> int:
    """The element's common positive oxidation state nearest ``target`` (the lower one on a tie)."""
    return min(positive_states(element), key=lambda state: (abs(state - target), state))


def ionic_picture(composition: Composition, carrier: str | None) -> list[Ion]:
    """Assign each element a role and a nominal oxidation state (see module docstring)."""
    amounts = composition.get_el_amt_dict()
    ions: list[Ion] = []
    framework: list[tuple[Element, float]] = []
    for symbol, amount in amounts.items():
        element = Element(symbol)
        anion = _anion_state(symbol, amounts)
        if anion is not None:
            ions.append(Ion(symbol, amount, anion, "anion"))
        elif symbol == carrier:
            ions.append(Ion(symbol, amount, 1, "carrier"))
        elif (fixed := _fixed_cation_state(element)) is not None:
            ions.append(Ion(symbol, amount, fixed, "fixed"))
        else:
            framework.append((element, amount))
    if framework:
        framework_atoms = sum(a for _, a in framework)
        balance = -sum(ion.amount * ion.oxidation_state for ion in ions) / framework_atoms
        states = [nearest_common_state(e, balance) for e, _ in framework]
        shift = balance - sum(a * z for (_, a), z in zip(framework, states)) / framework_atoms
        ions.extend(Ion(e.symbol, a, z + shift, "framework") for (e, a), z in zip(framework, states))
    return ions


def interpolated_radius_A(symbol: str, oxidation_state: float) -> float:
    """Shannon radius (Å, six-fold) at a possibly fractional oxidation state.

    Linear between the radii of the neighbouring integer states (Fe 2.5 lies halfway between
    Fe2+ and Fe3+), so that the radius moves continuously with the state; where only one of
    them is tabulated, that one.
    """
    low, high = math.floor(oxidation_state), math.ceil(oxidation_state)
    r_low, r_high = shannon_radius_A(symbol, low), shannon_radius_A(symbol, high)
    if low == high or not math.isfinite(r_high):
        return r_low if math.isfinite(r_low) else r_high
    if not math.isfinite(r_low):
        return r_high
    t = oxidation_state - low
    return (1 - t) * r_low + t * r_high


@lru_cache(maxsize=None)
def shannon_radius_A(symbol: str, oxidation_state: int) -> float:
    """Shannon ionic radius (Å) in six-fold coordination, or the nearest available one.

    Falls back to the mean Shannon radius over the tabulated coordinations, then to pymatgen's
    ``average_ionic_radius`` of the element; NaN when nothing is tabulated.
    """
    if oxidation_state == 0:
        return float("nan")
    try:
        species = Species(symbol, oxidation_state)
    except ValueError:
        return float("nan")
    for spin in ("", "High Spin"):
        try:
            with warnings.catch_warnings():
                # pymatgen warns when only one spin state is tabulated, and returns that one
                warnings.simplefilter("ignore", UserWarning)
                return float(species.get_shannon_radius(cn="VI", spin=spin))
        except (KeyError, ValueError):
            continue
    radii = []
    shannon = Element(symbol).data.get("Shannon radii", {}).get(str(oxidation_state), {})
    for by_spin in shannon.values():
        radii.extend(entry["ionic_radius"] for entry in by_spin.values())
    if radii:
        return float(np.mean(radii))
    average = float(Element(symbol).average_ionic_radius)
    return average if average > 0 else float("nan")


def pauling_electronegativity(symbol: str) -> float:
    value = Element(symbol).X
    return float(value) if value == value else float("nan")
