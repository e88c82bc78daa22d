"""Nominal ionic picture of a composition: which elements are anions, cations, the carrier,
and their oxidation states and Shannon radii.

The halide descriptors need oxidation states for compositions that are often fractional and
doped (Li2.5Y0.5Zr0.5Cl6), where pymatgen's exhaustive ``oxi_state_guesses`` is slow. The rules
here are fixed and cheap:

- halogens are -1; O, S, Se, Te are -2 (S, Se, Te are cations when O is present, as in
  sulfates); N and P are -3 unless O or another chalcogen is present (nitrates, phosphates);
  H is +1 with O or N (hydroxides, amides, ammonium) and -1 otherwise (hydrides, borohydrides);
- alkali metals are +1 and alkaline-earth metals +2;
- the remaining cations are the *framework* cations. Their mean oxidation state comes from
  charge balance; a single framework element takes that value, several take each element's
  highest common oxidation state (Zr 4, Nb 5, Fe 3...).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pymatgen.core import Composition, Element, Species

HALOGEN_STATES = {"F": -1, "Cl": -1, "Br": -1, "I": -1}
CHALCOGENS = ("O", "S", "Se", "Te")
PNICTOGEN_ANIONS = ("N", "P")
CARRIERS = ("Li", "Na")

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
        return shannon_radius_A(self.symbol, int(round(self.oxidation_state)))


def _anion_state(symbol: str, present: set[str]) -> int | None:
    if symbol in HALOGEN_STATES:
        return HALOGEN_STATES[symbol]
    if symbol == "O":
        return -2
    if symbol in CHALCOGENS:
        return None if "O" in present else -2
    if symbol in PNICTOGEN_ANIONS:
        return None if present & set(CHALCOGENS) else -3
    if symbol == "H":
        return None if present & {"O", "N"} else -1
    return None


def _fixed_cation_state(element: Element) -> int | None:
    if element.symbol == "H":
        return 1
    if element.is_alkali:
        return 1
    if element.is_alkaline:
        return 2
    return None


def _highest_common_state(element: Element) -> int:
    positive = [s for s in element.common_oxidation_states if s > 0]
    if positive:
        return max(positive)
    positive = [s for s in element.oxidation_states if s > 0]
    return max(positive) if positive else 0


def ionic_picture(composition: Composition, carrier: str | None) -> list[Ion]:
    """Assign each element a role and a nominal oxidation state (see module docstring)."""
    amounts = composition.get_el_amt_dict()
    present = set(amounts)
    ions: list[Ion] = []
    framework: list[tuple[Element, float]] = []
    for symbol, amount in amounts.items():
        element = Element(symbol)
        anion = _anion_state(symbol, present)
        if anion is not None:
            ions.append(Ion(symbol, amount, anion, "anion"))
        elif symbol == carrier:
            ions.append(Ion(symbol, amount, 1, "carrier"))
        elif (fixed := _fixed_cation_state(element)) is not None:
            ions.append(Ion(symbol, amount, fixed, "fixed"))
        else:
            framework.append((element, amount))
    if framework:
        residual = -sum(ion.amount * ion.oxidation_state for ion in ions)
        if len(framework) == 1:
            element, amount = framework[0]
            ions.append(Ion(element.symbol, amount, residual / amount, "framework"))
        else:
            ions.extend(Ion(e.symbol, a, _highest_common_state(e), "framework") for e, a in framework)
    return ions


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
