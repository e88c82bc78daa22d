"""Formation energies for phase diagrams: the MP table and pymatgen's experimental enthalpies.

Two sources, one energy per compound:

1. **MP-2020**: Materials Project formation energies (eV/atom, legacy corrections, 2020
   snapshot) read from ``<data dir>/mp/mp-formation-2020.csv``. Third-party data: read in
   place, never copied. The lowest-energy entry of each reduced formula is kept.
2. **experimental**: the formation enthalpies pymatgen ships
   (``pymatgen/analysis/compatibility/exp_compounds.json.gz``, eV per formula unit), used only
   for compounds the MP table lacks (LiCl, LiBr, NaCl, ... are missing from it), shifted
   onto the MP scale where the anion offset of :mod:`predictor.electrochem.alignment` is
   material (bromides, iodides: the legacy scheme has no correction for them).

Without the data directory only the experimental table is available, unshifted, and every
result says so. The tables are built once per process (:func:`default_energy_table`).
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import itertools
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pymatgen.core import Composition

from predictor.electrochem.alignment import (
    MIN_OFFSET_eV_PER_ANION,
    AnionOffset,
    fit_anion_offsets,
    shift_to_mp_scale,
)
from predictor.errors import DataNotFoundError
from predictor.paths import data_file

logger = logging.getLogger(__name__)

MP_TABLE_PARTS = ("mp", "mp-formation-2020.csv")
EXPERIMENTAL_PACKAGE = "pymatgen.analysis.compatibility"
EXPERIMENTAL_RESOURCE = "exp_compounds.json.gz"

SOURCE_MP = "MP-2020"
SOURCE_EXPERIMENTAL = "experimental"
SOURCE_ELEMENT = "element"

_SYMBOL = re.compile(r"[A-Z][a-z]?")


@dataclass(frozen=True)
class Phase:
    """One compound of a phase diagram with the provenance of its energy.

    Attributes
    ----------
    reduced_formula : str
    composition : pymatgen.core.Composition
    formation_energy_eV_per_atom : float, unit eV/atom
        On the scale of the table's mode (MP scale when the MP table is loaded).
    source : str
        ``"MP-2020"``, ``"experimental"`` or ``"element"`` (elemental reference, 0 eV/atom).
    source_id : str
        MP task id (``"mp-27455"``), ``"exp:<formula>"`` or the element symbol.
    shift_eV_per_atom : float, unit eV/atom
        Shift applied to bring an experimental enthalpy onto the MP scale (0 otherwise).
    """

    reduced_formula: str
    composition: Composition
    formation_energy_eV_per_atom: float
    source: str
    source_id: str
    shift_eV_per_atom: float = 0.0


def _element_key(formula: str) -> frozenset[str]:
    return frozenset(_SYMBOL.findall(formula))


def read_mp_table(path: Path) -> pd.DataFrame:
    """Read the MP formation-energy table.

    Parameters
    ----------
    path : pathlib.Path
        CSV with columns ``task_id, composition, formation_energy_per_atom`` (eV/atom).

    Returns
    -------
    pandas.DataFrame
        Columns ``task_id``, ``formula``, ``formation_energy_eV_per_atom`` and ``elements``
        (frozenset of symbols).
    """
    # keep_default_na=False: the formula of sodium nitride, "NaN", is not a missing value.
    table = pd.read_csv(path, keep_default_na=False, dtype={"task_id": str, "composition": str})
    expected = {"task_id", "composition", "formation_energy_per_atom"}
    if not expected <= set(table.columns):
        raise ValueError(f"{path.name}: expected columns {sorted(expected)}, got {list(table.columns)}")
    table = table.rename(
        columns={"composition": "formula", "formation_energy_per_atom": "formation_energy_eV_per_atom"}
    )
    table["formation_energy_eV_per_atom"] = pd.to_numeric(table["formation_energy_eV_per_atom"])
    table["elements"] = table["formula"].map(_element_key)
    return table[["task_id", "formula", "formation_energy_eV_per_atom", "elements"]]


@functools.lru_cache(maxsize=1)
def read_experimental_table() -> pd.DataFrame:
    """Read the experimental formation enthalpies shipped inside pymatgen.

    Returns
    -------
    pandas.DataFrame
        Columns ``formula`` (reduced), ``formation_energy_eV_per_atom`` (eV/atom),
        ``uncertainty_eV_per_atom`` (eV/atom, NaN when not given) and ``elements``.
    """
    resource = importlib.resources.files(EXPERIMENTAL_PACKAGE) / EXPERIMENTAL_RESOURCE
    with resource.open("rb") as handle:
        records = json.loads(gzip.decompress(handle.read()))
    rows = []
    for record in records:
        composition = Composition(record["formula"])
        atoms = composition.num_atoms
        uncertainty = record.get("uncertainty")
        rows.append(
            {
                "formula": composition.reduced_formula,
                "formation_energy_eV_per_atom": record["exp energy"] / atoms,
                "uncertainty_eV_per_atom": float("nan") if uncertainty is None else uncertainty / atoms,
                "elements": frozenset(el.symbol for el in composition.elements),
            }
        )
    table = pd.DataFrame(rows).sort_values("formation_energy_eV_per_atom")
    return table.drop_duplicates("formula").reset_index(drop=True)


def _index_by_elements(table: pd.DataFrame) -> dict[frozenset[str], list[int]]:
    index: dict[frozenset[str], list[int]] = {}
    for position, key in enumerate(table["elements"]):
        index.setdefault(key, []).append(position)
    return index


class EnergyTable:
    """Formation energies of every tabulated compound, one source per compound.

    Parameters
    ----------
    experimental : pandas.DataFrame
        As returned by :func:`read_experimental_table`.
    mp : pandas.DataFrame or None, default=None
        As returned by :func:`read_mp_table`; None when the data directory is missing.
    mp_name : str, default="mp-formation-2020.csv"
        File name recorded in the provenance.

    Attributes
    ----------
    anion_offsets : dict of str to AnionOffset
        Offsets used to shift experimental enthalpies to the MP scale (empty without MP).
    """

    def __init__(self, experimental: pd.DataFrame, mp: pd.DataFrame | None = None, mp_name: str = "mp-formation-2020.csv"):
        self.experimental = experimental.reset_index(drop=True)
        self.mp = None if mp is None else mp.reset_index(drop=True)
        self.mp_name = mp_name
        self._experimental_index = _index_by_elements(self.experimental)
        self._mp_index = {} if self.mp is None else _index_by_elements(self.mp)
        # Plain lists: row access in the loops below is ~100x faster than DataFrame.iloc.
        self._mp_rows_data = (
            [] if self.mp is None
            else list(zip(self.mp["task_id"], self.mp["formula"], self.mp["formation_energy_eV_per_atom"], strict=True))
        )
        self._experimental_rows = list(
            zip(self.experimental["formula"], self.experimental["formation_energy_eV_per_atom"], strict=True)
        )
        self.anion_offsets: dict[str, AnionOffset] = (
            fit_anion_offsets(self._shared_binaries()) if self.has_mp else {}
        )

    @property
    def has_mp(self) -> bool:
        """Whether the MP table is loaded."""
        return self.mp is not None

    @property
    def mode(self) -> str:
        """``"MP-2020 + experimental"`` or ``"experimental only"``."""
        return f"{SOURCE_MP} + {SOURCE_EXPERIMENTAL}" if self.has_mp else f"{SOURCE_EXPERIMENTAL} only"

    def describe(self) -> str:
        """One paragraph of provenance: sources, sizes and the mixing rule."""
        experimental = f"pymatgen {EXPERIMENTAL_RESOURCE} ({len(self.experimental)} compounds, eV per formula unit)"
        if not self.has_mp:
            return (
                f"experimental formation enthalpies only: {experimental}; the MP table "
                f"({'/'.join(MP_TABLE_PARTS)}) was not found in the data directory"
            )
        ordered = sorted(self.anion_offsets.values(), key=lambda o: o.anion)
        applied = ", ".join(f"{o.anion} {o.offset_eV_per_anion:+.3f}" for o in ordered if o.applied)
        kept = ", ".join(f"{o.anion} {o.offset_eV_per_anion:+.3f}" for o in ordered if not o.applied)
        return (
            f"MP formation energies {self.mp_name} ({len(self.mp)} entries, legacy corrections) for every "
            f"compound they hold; {experimental} only for compounds MP lacks, shifted to the MP scale by "
            f"the anion offset H_exp - H_MP (eV per anion atom, median over the s-block binaries both "
            f"tables hold) when it reaches {MIN_OFFSET_eV_PER_ANION} eV: applied {applied}; "
            f"not applied {kept}"
        )

    def _mp_rows(self, elements: frozenset[str]) -> list[tuple[str, str, float]]:
        """(task_id, formula, eV/atom) of the MP entries made of exactly these elements."""
        return [self._mp_rows_data[i] for i in self._mp_index.get(elements, [])]

    def _shared_binaries(self) -> pd.DataFrame:
        """Experimental binaries also in MP (lowest MP polymorph), for the offset fit."""
        rows = []
        for exp_row in self.experimental.itertuples(index=False):
            if len(exp_row.elements) != 2:
                continue
            energies = [
                energy for _, formula, energy in self._mp_rows(exp_row.elements)
                if Composition(formula).reduced_formula == exp_row.formula
            ]
            if energies:
                best = min(energies)
                rows.append(
                    {
                        "reduced_formula": exp_row.formula,
                        "experimental_eV_per_atom": exp_row.formation_energy_eV_per_atom,
                        "mp_eV_per_atom": best,
                    }
                )
        return pd.DataFrame(rows, columns=["reduced_formula", "experimental_eV_per_atom", "mp_eV_per_atom"])

    def phases(self, elements: Iterable[str]) -> list[Phase]:
        """Every tabulated compound of a chemical system, plus elemental references.

        Parameters
        ----------
        elements : iterable of str
            Element symbols of the chemical system.

        Returns
        -------
        list of Phase
            One phase per reduced formula: the lowest MP entry when MP holds the formula,
            else the experimental enthalpy (shifted to the MP scale when MP is loaded).
            Elemental references (0 eV/atom) come first.
        """
        system = sorted(set(elements))
        chosen: dict[str, Phase] = {
            Composition(symbol).reduced_formula: Phase(
                Composition(symbol).reduced_formula, Composition(symbol), 0.0, SOURCE_ELEMENT, symbol
            )
            for symbol in system
        }
        subsets = [
            frozenset(subset)
            for size in range(1, len(system) + 1)
            for subset in itertools.combinations(system, size)
        ]
        if self.has_mp:
            for subset in subsets:
                for task_id, formula, energy in self._mp_rows(subset):
                    composition = Composition(formula)
                    name = composition.reduced_formula
                    previous = chosen.get(name)
                    if previous is None or (
                        previous.source == SOURCE_MP and energy < previous.formation_energy_eV_per_atom
                    ):
                        chosen[name] = Phase(name, composition, float(energy), SOURCE_MP, task_id)
        for subset in subsets:
            for position in self._experimental_index.get(subset, []):
                name, energy = self._experimental_rows[position]
                if name in chosen:
                    continue
                composition = Composition(name)
                energy = float(energy)
                shift = 0.0
                if self.has_mp:
                    energy, shift = shift_to_mp_scale(composition, energy, self.anion_offsets)
                chosen[name] = Phase(name, composition, energy, SOURCE_EXPERIMENTAL, f"exp:{name}", shift)
        return list(chosen.values())


@functools.lru_cache(maxsize=4)
def _energy_table_for(mp_path: str | None) -> EnergyTable:
    experimental = read_experimental_table()
    if mp_path is None:
        logger.warning(
            "MP table %s not found in the data directory; using the experimental enthalpies shipped "
            "with pymatgen only", "/".join(MP_TABLE_PARTS)
        )
        return EnergyTable(experimental)
    path = Path(mp_path)
    table = EnergyTable(experimental, read_mp_table(path), mp_name=path.name)
    logger.info("energy table: %s", table.describe())
    return table


def default_energy_table() -> EnergyTable:
    """The process-wide energy table for the configured data directory (built once).

    Falls back to the experimental table alone, with a warning, when the MP table is not in
    the data directory (``$PREDICTOR_DATA_DIR`` or ``../shared/data``).
    """
    try:
        mp_path: str | None = str(data_file(*MP_TABLE_PARTS))
    except DataNotFoundError:
        mp_path = None
    return _energy_table_for(mp_path)
