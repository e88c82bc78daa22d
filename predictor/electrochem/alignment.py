"""Bring experimental formation enthalpies onto the Materials Project energy scale.

The MP 2020 table (legacy corrections) and the experimental enthalpies shipped with pymatgen
disagree systematically for some anions: for the ionic s-block binaries both tables hold, MP
matches experiment within ~0.05 eV per anion for O, S, H, F and Cl, but under-binds bromides
(~0.46 eV per Br), iodides (~0.32 eV per I) and other anions whose legacy correction was small
or absent. The compounds the MP table lacks and the experimental table supplies are mostly
alkali halides (LiCl, LiBr, NaCl, ...), so each experimental-only compound is shifted by the
offset of its anion measured on those ionic binaries.

The rule, applied the same way in every phase diagram:

* anion of a compound = its most electronegative element;
* offset of anion X = median over the s-block binaries (groups 1-2) present in both tables of
  ``(H_exp - H_MP) / n_X`` (eV per X atom), kept only when at least
  :data:`MIN_BINARIES` such binaries exist;
* the offset is applied only when its magnitude reaches :data:`MIN_OFFSET_eV_PER_ANION`
  (0.1 eV), the scatter of MP against experiment (median absolute deviation 0.08 eV/atom over
  the ~1,350 compounds both tables hold). Smaller medians (O, S, H, F, Cl: |offset| <= 0.06 eV)
  are within the accuracy of the legacy corrections, which were fitted to these experimental
  enthalpies; shifting by them would add noise, and a 0.05 eV shift of LiCl moves the
  one-electron reduction of Li3InCl6 (to InCl2 + 4 LiCl) by 0.2 V;
* an experimental-only compound gets ``H_MP-scale = H_exp - n_X * offset_X``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from pymatgen.core import Composition, Element

#: Fewest shared s-block binaries needed before an anion offset is trusted.
MIN_BINARIES = 2
#: Smallest offset (eV per anion atom) worth applying; below it the scales agree within noise.
MIN_OFFSET_eV_PER_ANION = 0.10


@dataclass(frozen=True)
class AnionOffset:
    """Offset between experimental and MP formation enthalpies for one anion.

    Attributes
    ----------
    anion : str
        Element symbol of the anion.
    offset_eV_per_anion : float, unit eV per anion atom
        Median of ``(H_exp - H_MP) / n_anion`` over the shared binaries.
    compounds : tuple of str
        Reduced formulas of the binaries the median was taken over.
    """

    anion: str
    offset_eV_per_anion: float
    compounds: tuple[str, ...]

    @property
    def applied(self) -> bool:
        """Whether the offset is large enough to be applied (see :data:`MIN_OFFSET_eV_PER_ANION`)."""
        return abs(self.offset_eV_per_anion) >= MIN_OFFSET_eV_PER_ANION


def anion_of(composition: Composition) -> str:
    """Most electronegative element of a composition (its anion for the offset rule)."""
    scored = [(el.X, el.symbol) for el in composition.elements if not math.isnan(el.X)]
    if not scored:
        return composition.elements[0].symbol
    return max(scored)[1]


def _is_s_block_cation(symbol: str) -> bool:
    element = Element(symbol)
    return element.group in (1, 2) and symbol != "H"


def fit_anion_offsets(shared: pd.DataFrame) -> dict[str, AnionOffset]:
    """Fit one offset per anion on the s-block binaries present in both tables.

    Parameters
    ----------
    shared : pandas.DataFrame
        One row per compound held by both tables, with columns ``reduced_formula``,
        ``experimental_eV_per_atom`` and ``mp_eV_per_atom`` (formation enthalpies, eV/atom).

    Returns
    -------
    dict of str to AnionOffset
        Offsets of the anions with at least :data:`MIN_BINARIES` shared binaries, applied or
        not (see :attr:`AnionOffset.applied`).
    """
    by_anion: dict[str, list[tuple[str, float]]] = {}
    for row in shared.itertuples(index=False):
        composition = Composition(row.reduced_formula)
        if len(composition.elements) != 2:
            continue
        anion = anion_of(composition)
        cation = next(el.symbol for el in composition.elements if el.symbol != anion)
        if not _is_s_block_cation(cation):
            continue
        difference_per_atom = row.experimental_eV_per_atom - row.mp_eV_per_atom
        per_anion = difference_per_atom * composition.num_atoms / composition[anion]
        by_anion.setdefault(anion, []).append((row.reduced_formula, per_anion))

    offsets = {}
    for anion, values in by_anion.items():
        if len(values) < MIN_BINARIES:
            continue
        offsets[anion] = AnionOffset(
            anion=anion,
            offset_eV_per_anion=float(pd.Series([v for _, v in values]).median()),
            compounds=tuple(sorted(name for name, _ in values)),
        )
    return offsets


def shift_to_mp_scale(
    composition: Composition, energy_eV_per_atom: float, offsets: dict[str, AnionOffset]
) -> tuple[float, float]:
    """Shift an experimental formation enthalpy onto the MP scale.

    Parameters
    ----------
    composition : pymatgen.core.Composition
    energy_eV_per_atom : float, unit eV/atom
        Experimental formation enthalpy.
    offsets : dict of str to AnionOffset

    Returns
    -------
    energy : float, unit eV/atom
        The enthalpy on the MP scale.
    shift : float, unit eV/atom
        What was added (0 when the anion has no offset or it is below the threshold).
    """
    anion = anion_of(composition)
    offset = offsets.get(anion)
    if offset is None or not offset.applied:
        return energy_eV_per_atom, 0.0
    shift = -offset.offset_eV_per_anion * composition.get_atomic_fraction(anion)
    return energy_eV_per_atom + shift, shift
