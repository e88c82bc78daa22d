"""Stability range of a composition in the chemical potential of its mobile ion.

The composition is followed along the line that adds or removes the carrier A (Li, Na, ...)
at a fixed ratio of the other elements, as :meth:`PhaseDiagram.get_element_profile` does.
The phase diagram cuts that line at *critical compositions*; between two of them the
equilibrium phases, and so mu_A, are fixed. The composition is stable against A exchange
between the mu_A of the segment just A-richer (reduction limit) and the segment just
A-poorer (oxidation limit), and the potential is ``V = -(mu_A - mu_A(metal)) / e``.

This is the same construction as ``get_element_profile`` with the reaction balancing left
out (the carrier content of each critical composition is read off directly), which makes it
several times faster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.core import Composition, Element

#: Carrier amounts (per formula unit) closer than this are the same point of the line.
CARRIER_TOLERANCE = 1e-6


@dataclass(frozen=True)
class CarrierLimits:
    """Where a composition starts to take up or give off its carrier.

    Attributes
    ----------
    reduction_limit_V : float, unit V vs carrier metal
    oxidation_limit_V : float, unit V vs carrier metal
    reduction_entries : tuple of PDEntry
        Equilibrium phases just below the reduction limit (the carrier-richer neighbour).
    oxidation_entries : tuple of PDEntry
        Equilibrium phases just above the oxidation limit (the carrier-poorer neighbour).
    zero_width : bool
        True when the composition lies inside a segment of the line (not on a phase
        boundary): it exchanges carrier at every potential but one.
    """

    reduction_limit_V: float
    oxidation_limit_V: float
    reduction_entries: tuple[PDEntry, ...]
    oxidation_entries: tuple[PDEntry, ...]
    zero_width: bool


def _carrier_per_formula(critical: Composition, carrier: Element, host_atoms: float) -> float:
    """Carrier atoms per formula unit of the composition at a critical composition."""
    rest = critical.num_atoms - critical[carrier]
    if rest <= 1e-12:
        return math.inf
    return critical[carrier] * host_atoms / rest


def _midpoint(first: Composition, second: Composition) -> Composition:
    a, b = first.fractional_composition, second.fractional_composition
    return Composition({el: 0.5 * a[el] + 0.5 * b[el] for el in set(a.elements) | set(b.elements)})


def _potential_V(diagram: PhaseDiagram, composition: Composition, carrier: Element) -> float:
    """Equilibrium potential (V vs carrier metal) of the facet holding ``composition``."""
    chempot = diagram.get_composition_chempots(composition)[carrier]
    return -(chempot - diagram.el_refs[carrier].energy_per_atom)


def _decomposition(diagram: PhaseDiagram, composition: Composition) -> tuple[PDEntry, ...]:
    amounts = diagram.get_decomposition(composition)
    return tuple(entry for entry, _ in sorted(amounts.items(), key=lambda item: (-item[1], item[0].name)))


def carrier_limits(diagram: PhaseDiagram, composition: Composition, carrier: str) -> CarrierLimits:
    """Reduction and oxidation limits of a composition against its carrier.

    The energy of the composition is whatever the diagram holds: a tabulated phase on the hull
    keeps its own energy; an absent or metastable composition is effectively on the hull
    (just stable, stabilisation -> 0).

    Parameters
    ----------
    diagram : pymatgen.analysis.phase_diagram.PhaseDiagram
        Phase diagram of the composition's chemical system (formation energies, eV).
    composition : pymatgen.core.Composition
        Must hold the carrier and at least one other element.
    carrier : str
        Symbol of the mobile ion ("Li", "Na", ...).

    Returns
    -------
    CarrierLimits
    """
    element = Element(carrier)
    host = Composition({el: amt for el, amt in composition.items() if el != element})
    if composition[element] <= 0 or host.num_atoms <= 0:
        raise ValueError(f"{composition.formula}: needs both {carrier} and another element")
    critical = diagram.get_critical_compositions(Composition(carrier), host)
    # Carrier content along the line, from pure carrier (inf) down to the host (0).
    content = [_carrier_per_formula(cc, element, host.num_atoms) for cc in critical]
    target = composition[element]
    tolerance = CARRIER_TOLERANCE * max(1.0, target)

    on_boundary = [i for i, x in enumerate(content) if abs(x - target) <= tolerance]
    if on_boundary:
        i = on_boundary[0]
        return CarrierLimits(
            reduction_limit_V=_potential_V(diagram, _midpoint(critical[i - 1], critical[i]), element),
            oxidation_limit_V=_potential_V(diagram, _midpoint(critical[i], critical[i + 1]), element),
            reduction_entries=_decomposition(diagram, critical[i - 1]),
            oxidation_entries=_decomposition(diagram, critical[i + 1]),
            zero_width=False,
        )
    # Inside a segment: one equilibrium potential, phases of both neighbours.
    k = max(i for i, x in enumerate(content) if x > target)
    potential = _potential_V(diagram, composition, element)
    return CarrierLimits(
        reduction_limit_V=potential,
        oxidation_limit_V=potential,
        reduction_entries=_decomposition(diagram, critical[k]),
        oxidation_entries=_decomposition(diagram, critical[k + 1]),
        zero_width=True,
    )
