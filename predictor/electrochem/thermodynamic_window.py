"""Thermodynamic electrochemical stability windows of compositions.

For a composition with mobile ion A (Li, else Na, else the most abundant other alkali
metal), the phase diagram of its chemical system is built from tabulated formation energies
(:mod:`predictor.electrochem.energies`, cached per system) and the composition is followed
along the line of A uptake and removal (:mod:`predictor.electrochem.profile`). The window is
the range of potential, in V vs A+/A, over which it neither takes up nor gives off A.

Stabilisation assumption: a composition that is not a tabulated phase on the convex hull
(doped, off-stoichiometric, or tabulated but metastable) is placed on the hull. With
``stabilisation_eV_per_atom=0`` (default) it is taken as just stable, the delta -> 0 limit,
which is computed on the cached diagram. With a positive value its formation energy is set to
the hull energy at its composition minus that amount, and a diagram is built for it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

import pandas as pd
from pymatgen.core import Composition
from tqdm.auto import tqdm

from predictor.composition import mobile_ion, parse_formula, reference_electrode
from predictor.electrochem.checks import product_notes
from predictor.electrochem.diagrams import PhaseDiagramCache, SystemDiagram, build_system_diagram
from predictor.electrochem.energies import SOURCE_ELEMENT, SOURCE_EXPERIMENTAL, EnergyTable, Phase, default_energy_table
from predictor.electrochem.profile import carrier_limits
from predictor.errors import CompositionError

logger = logging.getLogger(__name__)

#: Alkali metals used as the carrier when there is no Li or Na.
OTHER_ALKALI = ("K", "Rb", "Cs")
#: Batches at least this long show a progress bar unless told otherwise.
PROGRESS_MIN_ITEMS = 200
NO_ASSUMPTION = "none"


@dataclass(frozen=True)
class WindowResult:
    """Thermodynamic electrochemical window of one composition.

    Limits are NaN exactly when ``error`` is set.

    Attributes
    ----------
    formula : str
        The input as given.
    reduced_formula : str
        Empty when the input did not parse.
    carrier : str or None
        Mobile ion the window refers to ("Li", "Na", ...).
    reference : str
        Reference electrode, ``"Li+/Li"`` or ``"Na+/Na"`` (empty without a carrier).
    reduction_limit_V : float, unit V vs reference
        Lowest potential at which the composition is stable (below it, it takes up the carrier).
    oxidation_limit_V : float, unit V vs reference
        Highest potential at which it is stable (above it, it gives off the carrier).
    reduction_products : tuple of str
        Equilibrium phases just below the reduction limit (reduced formulas).
    oxidation_products : tuple of str
        Equilibrium phases just above the oxidation limit.
    energy_sources : str
        Energy table mode, then the source of every phase that sets the limits
        (MP task id, or experimental with its shift to the MP scale).
    assumption : str
        Stabilisation assumption, ``"none"`` for a tabulated phase on the hull.
    e_above_hull_eV_per_atom : float, unit eV/atom
        Of the tabulated phase; NaN when the composition is not tabulated.
    notes : str
        Warnings from the product checks, "; "-separated.
    error : str
        Why there is no window (bad formula, no mobile ion, failure); empty otherwise.
    """

    formula: str
    reduced_formula: str = ""
    carrier: str | None = None
    reference: str = ""
    reduction_limit_V: float = math.nan
    oxidation_limit_V: float = math.nan
    reduction_products: tuple[str, ...] = ()
    oxidation_products: tuple[str, ...] = ()
    energy_sources: str = ""
    assumption: str = ""
    e_above_hull_eV_per_atom: float = math.nan
    notes: str = ""
    error: str = ""

    @property
    def width_V(self) -> float:
        """Window width (V); NaN without a window."""
        return self.oxidation_limit_V - self.reduction_limit_V

    def as_row(self) -> dict:
        """Flat dict for a DataFrame: products joined with " + "."""
        row = asdict(self)
        row["reduction_products"] = " + ".join(self.reduction_products)
        row["oxidation_products"] = " + ".join(self.oxidation_products)
        return row


def choose_carrier(composition: Composition) -> str | None:
    """Li or Na (the more abundant), else the most abundant other alkali metal, else None."""
    ion = mobile_ion(composition)
    if ion is not None:
        return ion
    amounts = {symbol: composition[symbol] for symbol in OTHER_ALKALI if composition[symbol] > 0}
    return max(amounts, key=amounts.get) if amounts else None


def _describe_phase(phase: Phase) -> str:
    if phase.source == SOURCE_EXPERIMENTAL:
        if phase.shift_eV_per_atom:
            return f"{phase.reduced_formula} [experimental, {phase.shift_eV_per_atom:+.3f} eV/atom to MP scale]"
        return f"{phase.reduced_formula} [experimental]"
    return f"{phase.reduced_formula} [{phase.source_id}]"


class ThermodynamicWindow:
    """Computes thermodynamic stability windows from phase diagrams.

    Parameters
    ----------
    energy_table : EnergyTable or None, default=None
        None uses the process-wide table of the configured data directory (MP + experimental,
        or experimental only when the data directory is missing).
    stabilisation_eV_per_atom : float, default=0.0, unit eV/atom
        Stabilisation delta of compositions that are not tabulated phases on the hull: 0 takes
        them as just stable (fast, cached); a positive value builds one diagram per such
        composition with its energy at the hull minus delta (slower, wider windows).
    progress : bool or None, default=None
        Progress bar in :meth:`compute_many`; None shows it for batches of at least
        ``PROGRESS_MIN_ITEMS`` formulas.

    Attributes
    ----------
    diagrams : PhaseDiagramCache
        Phase diagrams built so far, per chemical system.

    Examples
    --------
    >>> window = ThermodynamicWindow()
    >>> result = window.compute("Li3InCl6")
    >>> result.reduction_limit_V, result.oxidation_limit_V  # doctest: +SKIP
    (2.53, 4.30)
    """

    def __init__(
        self,
        energy_table: EnergyTable | None = None,
        stabilisation_eV_per_atom: float = 0.0,
        progress: bool | None = None,
    ):
        self.energy_table = energy_table
        self.stabilisation_eV_per_atom = stabilisation_eV_per_atom
        self.progress = progress
        self._diagrams: PhaseDiagramCache | None = None

    @property
    def diagrams(self) -> PhaseDiagramCache:
        if self._diagrams is None:
            delta = self.stabilisation_eV_per_atom
            if not (isinstance(delta, (int, float)) and math.isfinite(delta) and delta >= 0):
                raise ValueError(f"stabilisation_eV_per_atom={delta!r} must be a finite number >= 0")
            table = self.energy_table if self.energy_table is not None else default_energy_table()
            self._diagrams = PhaseDiagramCache(table)
        return self._diagrams

    def compute(self, formula: str | Composition) -> WindowResult:
        """Window of one composition; never raises for bad input.

        Parameters
        ----------
        formula : str or pymatgen.core.Composition

        Returns
        -------
        WindowResult
            With ``error`` set (and NaN limits) for an invalid formula, a composition without
            mobile ion, or a failed computation.
        """
        text = formula.formula.replace(" ", "") if isinstance(formula, Composition) else formula
        text = text if isinstance(text, str) else repr(text)
        try:
            composition = parse_formula(formula)
        except CompositionError as exc:
            return WindowResult(formula=text, error=f"invalid formula: {exc.reason}")
        carrier = choose_carrier(composition)
        base = WindowResult(formula=text, reduced_formula=composition.reduced_formula, carrier=carrier)
        if carrier is None:
            return replace(base, error="no mobile ion (no Li, Na or other alkali metal): no window")
        base = replace(base, reference=reference_electrode(carrier))
        if len(composition.elements) == 1:
            return replace(base, error=f"{carrier} metal itself: no window")
        try:
            return self._compute(composition, carrier, base)
        except Exception as exc:  # a failure on one composition must not spoil a batch
            logger.exception("window of %s failed", text)
            return replace(base, error=f"computation failed: {type(exc).__name__}: {exc}")

    def _compute(self, composition: Composition, carrier: str, base: WindowResult) -> WindowResult:
        system = self.diagrams.get(el.symbol for el in composition.elements)
        table = self.diagrams.energy_table
        name = composition.reduced_formula
        tabulated = system.phases.get(name)
        entry = system.entry(name) if tabulated is not None else None
        e_above_hull = math.nan
        if entry is not None and tabulated.source != SOURCE_ELEMENT:
            e_above_hull = float(system.diagram.get_e_above_hull(entry))
        on_hull = entry is not None and e_above_hull <= 1e-8

        diagram_used = system
        delta = self.stabilisation_eV_per_atom
        if on_hull:
            assumption = NO_ASSUMPTION
        else:
            where = (
                f"tabulated ({tabulated.source_id}) {e_above_hull:.3f} eV/atom above the hull"
                if entry is not None else "not in the energy tables"
            )
            if delta > 0:
                diagram_used = self._stabilised(system, composition, delta)
                assumption = f"{where}; formation energy set to the hull energy minus {delta:g} eV/atom"
            else:
                assumption = f"{where}; taken as just stable (formation energy = hull energy, delta -> 0)"

        limits = carrier_limits(diagram_used.diagram, composition, carrier)
        reduction = tuple(e.name for e in limits.reduction_entries)
        oxidation = tuple(e.name for e in limits.oxidation_entries)

        deciding = ([tabulated] if tabulated is not None and on_hull else []) + [
            e.attribute for e in (*limits.reduction_entries, *limits.oxidation_entries)
            if isinstance(e.attribute, Phase) and e.attribute.source != SOURCE_ELEMENT
        ]
        unique = list(dict.fromkeys(deciding))
        sources = f"{table.mode}; " + (", ".join(_describe_phase(p) for p in unique) or "elements only")

        notes = product_notes(
            composition,
            carrier,
            (p.composition for p in system.phases.values()),
            (e.composition for e in limits.reduction_entries),
            (e.composition for e in limits.oxidation_entries),
        )
        if limits.zero_width:
            notes.insert(
                0,
                f"lies inside a hull facet: exchanges {carrier} at every potential but this one (zero-width window)",
            )
        return replace(
            base,
            reduction_limit_V=float(limits.reduction_limit_V),
            oxidation_limit_V=float(limits.oxidation_limit_V),
            reduction_products=reduction,
            oxidation_products=oxidation,
            energy_sources=sources,
            assumption=assumption,
            e_above_hull_eV_per_atom=e_above_hull,
            notes="; ".join(notes),
        )

    @staticmethod
    def _stabilised(system: SystemDiagram, composition: Composition, delta: float) -> SystemDiagram:
        """A diagram in which the composition sits ``delta`` eV/atom below the hull."""
        name = composition.reduced_formula
        hull = system.diagram.get_hull_energy_per_atom(composition)
        phases = [p for p in system.phases.values() if p.reduced_formula != name]
        placed = Phase(name, composition, float(hull) - delta, "stabilised", "hull-delta")
        return build_system_diagram([*phases, placed], system.elements)

    def compute_many(self, formulas: Iterable[str | Composition], progress: bool | None = None) -> pd.DataFrame:
        """Windows of many compositions, one row per input in input order.

        Parameters
        ----------
        formulas : iterable of str or pymatgen.core.Composition
        progress : bool or None, default=None
            Overrides the ``progress`` set at construction.

        Returns
        -------
        pandas.DataFrame, shape (n_formulas, 13)
            The :class:`WindowResult` fields; products joined with " + "; limits in V vs
            ``reference``; bad inputs give rows with ``error`` set and NaN limits.
        """
        items = list(formulas)
        show = progress if progress is not None else self.progress
        if show is None:
            show = len(items) >= PROGRESS_MIN_ITEMS
        rows = [self.compute(item).as_row() for item in tqdm(items, disable=not show, desc="windows", unit="formula")]
        columns = list(WindowResult.__dataclass_fields__)
        return pd.DataFrame(rows, columns=columns)
