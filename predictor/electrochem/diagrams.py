"""Phase diagrams per chemical system, built once and cached."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram

from predictor.electrochem.energies import EnergyTable, Phase

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SystemDiagram:
    """The phase diagram of one chemical system with the provenance of its phases.

    Attributes
    ----------
    elements : tuple of str
        Sorted element symbols of the system.
    diagram : pymatgen.analysis.phase_diagram.PhaseDiagram
        Built from formation energies (eV/atom, elements at 0); each entry's ``name`` is its
        reduced formula and its ``attribute`` the :class:`Phase`.
    phases : dict of str to Phase
        By reduced formula.
    """

    elements: tuple[str, ...]
    diagram: PhaseDiagram
    phases: dict[str, Phase]

    def entry(self, reduced_formula: str) -> PDEntry | None:
        """The entry of a tabulated phase, or None."""
        for entry in self.diagram.all_entries:
            if entry.name == reduced_formula:
                return entry
        return None


def build_system_diagram(phases: list[Phase], elements: tuple[str, ...]) -> SystemDiagram:
    """Build the phase diagram of a chemical system from its phases.

    Parameters
    ----------
    phases : list of Phase
        Must include an elemental reference for every element.
    elements : tuple of str

    Returns
    -------
    SystemDiagram
    """
    entries = [
        PDEntry(
            phase.composition,
            phase.formation_energy_eV_per_atom * phase.composition.num_atoms,
            name=phase.reduced_formula,
            attribute=phase,
        )
        for phase in phases
    ]
    return SystemDiagram(
        elements=elements,
        diagram=PhaseDiagram(entries),
        phases={phase.reduced_formula: phase for phase in phases},
    )


class PhaseDiagramCache:
    """Phase diagrams keyed by chemical system, each built once.

    Parameters
    ----------
    energy_table : EnergyTable

    Attributes
    ----------
    builds : int
        How many phase diagrams were built (a cache hit does not count).
    """

    def __init__(self, energy_table: EnergyTable):
        self.energy_table = energy_table
        self.builds = 0
        self._diagrams: dict[tuple[str, ...], SystemDiagram] = {}

    def __len__(self) -> int:
        return len(self._diagrams)

    def __contains__(self, elements: Iterable[str]) -> bool:
        return tuple(sorted(set(elements))) in self._diagrams

    def get(self, elements: Iterable[str]) -> SystemDiagram:
        """The phase diagram of the chemical system spanned by ``elements``."""
        key = tuple(sorted(set(elements)))
        cached = self._diagrams.get(key)
        if cached is not None:
            return cached
        phases = self.energy_table.phases(key)
        system = build_system_diagram(phases, key)
        self.builds += 1
        logger.debug("built phase diagram %s from %d phases", "-".join(key), len(phases))
        self._diagrams[key] = system
        return system

    def clear(self) -> None:
        """Forget every cached phase diagram."""
        self._diagrams.clear()
