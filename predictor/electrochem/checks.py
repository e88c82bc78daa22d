"""Sanity checks of a computed window: what in the phase diagram could make it wrong.

Two known failure modes of windows computed from mixed energy tables:

* **missing binaries**: when no compound of a framework cation M with the anion X is
  tabulated, the oxidation products are elemental M + X2 and the oxidation limit comes out far
  too high (NaTaCl6 above 6 V when no Ta-Cl binary was present);
* **anion-rich products**: poly-halides and poly-chalcogenides such as NaCl3 or LiS4 (high
  pressure or hypothetical phases in MP) carry a per-anion energy correction on atoms that
  are not anions, are over-stabilised, and can lower the oxidation limit.

The checks return human-readable notes; they never change the numbers.
"""

from __future__ import annotations

from collections.abc import Iterable

from pymatgen.core import Composition, Element

from predictor.electrochem.alignment import anion_of

#: Anions checked, with their usual charge magnitude.
ANION_CHARGE = {"F": 1, "Cl": 1, "Br": 1, "I": 1, "O": 2, "S": 2, "Se": 2, "Te": 2, "N": 3}
#: Anions whose poly-anion phases are flagged (MP corrects peroxides and superoxides separately).
POLY_ANION_CHECKED = ("F", "Cl", "Br", "I", "S", "Se", "Te")


def missing_binaries(composition: Composition, carrier: str, tabulated: Iterable[Composition]) -> list[str]:
    """Cation-anion pairs of a composition without any tabulated binary compound.

    Parameters
    ----------
    composition : pymatgen.core.Composition
    carrier : str
        The mobile ion (excluded from the cations checked).
    tabulated : iterable of pymatgen.core.Composition
        Compositions of the phases of the chemical system.

    Returns
    -------
    list of str
        Pairs such as ``"Ta-Cl"``.
    """
    symbols = {el.symbol for el in composition.elements}
    anions = [symbol for symbol in symbols if symbol in ANION_CHARGE]
    cations = [symbol for symbol in symbols if symbol not in ANION_CHARGE and symbol != carrier]
    present = {frozenset(el.symbol for el in c.elements) for c in tabulated if len(c.elements) == 2}
    return [f"{m}-{x}" for m in sorted(cations) for x in sorted(anions) if frozenset((m, x)) not in present]


def is_anion_rich(composition: Composition) -> bool:
    """Whether a phase holds more anion charge than its other elements can balance.

    True for NaCl3 (Na+ cannot balance 3 Cl-), LiS4 or P2S7; False for ordinary salts and for
    oxides (peroxides such as Li2O2 have their own MP correction).
    """
    anion = anion_of(composition)
    if anion not in POLY_ANION_CHECKED or len(composition.elements) < 2:
        return False
    capacity = sum(
        amount * max(Element(el.symbol).max_oxidation_state, 0)
        for el, amount in composition.items()
        if el.symbol != anion
    )
    return composition[anion] * ANION_CHARGE[anion] > capacity + 1e-8


def product_notes(
    composition: Composition,
    carrier: str,
    tabulated: Iterable[Composition],
    reduction_products: Iterable[Composition],
    oxidation_products: Iterable[Composition],
) -> list[str]:
    """Warnings about the phase diagram and the products at each limit.

    Returns
    -------
    list of str
        Empty when nothing looks suspicious.
    """
    notes = []
    missing = missing_binaries(composition, carrier, tabulated)
    if missing:
        notes.append(
            f"no {', '.join(missing)} binary compound in the energy tables: products at the limits "
            "may include elements instead and the limits may be too wide"
        )
    for side, products in (("reduction", reduction_products), ("oxidation", oxidation_products)):
        rich = [p.reduced_formula for p in products if is_anion_rich(p)]
        if rich:
            notes.append(
                f"{side} products include anion-rich {', '.join(rich)} (poly-anion phase the MP anion "
                f"correction may over-stabilise): the {side} limit may be too "
                f"{'low' if side == 'oxidation' else 'high'}"
            )
    return notes
