"""Screen substitution series: enumerate doped candidates of a parent, predict them, rank them.

A series replaces ``x`` formula units of one element of the parent (the *site*) by a dopant,
for every ``x`` of a grid, and restores charge neutrality in one of three ways:

``mobile-ion``
    The Li/Na content changes by ``-(q_dopant - q_site) * x``: Zr4+ on the Y3+ site of
    Li3YCl6 gives Li(3-x)Y(1-x)Zr(x)Cl6 (Li vacancies); O2- on the Cl- site of Li3InCl6 gives
    Li(3+x)InCl(6-x)O(x).
``site-vacancy``
    The mobile-ion content stays; the site loses ``x * q_dopant / q_site`` units, leaving
    vacancies on the framework site: Zr4+ in Li3YCl6 gives Li3Y(1-4x/3)Zr(x)Cl6.
``none``
    Isovalent substitution (Er3+ for Y3+ in Na3YCl6); an aliovalent dopant is reported as
    not charge balanced.

Oxidation states of the parent come from pymatgen's ``oxi_state_guesses``; a dopant's from
``"Nb5+"`` or, when not given, its most common positive oxidation state (pymatgen).

Candidates are ranked by an acquisition rule on the predicted log10 conductivity (S/cm):

``lower90``
    The lower bound of the calibrated 90 % interval: favours candidates that are good even
    when the model errs (default).
``mean``
    The predicted log10 conductivity.
``expected-improvement``
    Expected improvement over the parent's predicted mean, with the calibrated standard
    deviation as a normal uncertainty.

A candidate failing a constraint (``min_oxidation_limit_V``) or a bad candidate (negative
amount, not charge balanced) stays in the table, marked, after the ranked ones.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pymatgen.core import Composition, Element

from predictor.composition import mobile_ion, parse_formula
from predictor.errors import CompositionError

COMPENSATIONS = ("mobile-ion", "site-vacancy", "none")
RANKINGS = ("lower90", "mean", "expected-improvement")
#: Amounts below this (formula units) count as zero; charge imbalance below it counts as balanced.
TOLERANCE = 1e-6
#: Most candidates (amounts times dopants) one screen enumerates and predicts (a few minutes on
#: 2 cores); a larger grid (``--x 0:1:1e-7``, 10 million) is refused before any work.
MAX_CANDIDATES = 100_000

_DOPANT = re.compile(r"^([A-Z][a-z]?)(?:(\d*)([+-]))?$")


@dataclass(frozen=True)
class Dopant:
    """A dopant element and the oxidation state it takes on the site."""

    element: str
    oxidation_state: int

    @classmethod
    def parse(cls, text: str) -> "Dopant":
        """``"Nb"`` (most common positive oxidation state), ``"Nb5+"``, ``"O2-"``."""
        match = _DOPANT.match(text.strip())
        if not match:
            raise ValueError(f"dopant {text!r}: expected an element with an optional charge, e.g. 'Nb' or 'Nb5+'")
        symbol, magnitude, sign = match.groups()
        if not Element.is_valid_symbol(symbol):
            raise ValueError(f"dopant {text!r}: unknown element {symbol!r}")
        if sign:
            state = int(magnitude or 1) * (1 if sign == "+" else -1)
        else:
            positive = [s for s in Element(symbol).common_oxidation_states if s > 0]
            if not positive:
                raise ValueError(f"dopant {text!r}: no common positive oxidation state; write the charge, e.g. 'O2-'")
            state = max(positive)
        if state == 0:
            raise ValueError(f"dopant {text!r}: oxidation state 0")
        return cls(symbol, state)

    def __str__(self) -> str:
        sign = "+" if self.oxidation_state > 0 else "-"
        return f"{self.element}{abs(self.oxidation_state)}{sign}"


def check_candidate_count(count: float) -> None:
    """Refuse a series of more than :data:`MAX_CANDIDATES` candidates (x amounts times dopants), before any work.

    Raises
    ------
    ValueError
        Naming the count and the limit.
    """
    if count > MAX_CANDIDATES:
        counted = f"{count:,}" if math.isfinite(count) else "countless"
        raise ValueError(f"{counted} candidates (x amounts times dopants) is more than the {MAX_CANDIDATES:,} a "
                         "screen predicts at a time; use a coarser x step or fewer dopants")


def x_grid(spec: str, dopants: int = 1) -> np.ndarray:
    """Dopant amounts from ``"start:stop:step"`` (stop included) or ``"0.1,0.2,0.5"``.

    Raises ValueError naming the specification when it is malformed, empty, negative or not
    finite, and (:func:`check_candidate_count`) when the amounts times ``dopants`` are more than
    :data:`MAX_CANDIDATES` candidates, before the amounts are made.
    """
    try:
        if ":" in spec:
            start, stop, step = (float(v) for v in spec.split(":"))
            if not all(math.isfinite(v) for v in (start, stop, step)) or step <= 0 or stop < start:
                raise ValueError
            steps = (stop - start) / step + 1e-9  # inf for a step far below the range
            count = math.floor(steps) + 1 if math.isfinite(steps) else math.inf
        else:
            listed = [float(v) for v in spec.split(",") if v.strip()]
            count = len(listed)
    except ValueError:
        raise ValueError(f"x grid {spec!r}: expected 'start:stop:step' with step > 0 and stop >= start, "
                         "or a comma-separated list of amounts") from None
    check_candidate_count(count * dopants)
    values = start + step * np.arange(count) if ":" in spec else np.array(listed)
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"x grid {spec!r}: amounts must be finite, non-negative and at least one given")
    return np.round(values, 10)


def _oxidation_states(parent: Composition) -> dict[str, float]:
    guesses = parent.oxi_state_guesses(max_sites=-1)
    if not guesses:
        raise ValueError(f"parent {parent.formula.replace(' ', '')}: no charge-balanced oxidation states found")
    return {element: float(state) for element, state in guesses[0].items()}


def _formula(amounts: dict[str, float]) -> str:
    """A formula string with amounts to 6 significant digits, elements in the given order."""
    parts = []
    for element, amount in amounts.items():
        if amount > TOLERANCE:
            text = f"{amount:.6g}"
            parts.append(element if text == "1" else f"{element}{text}")
    return "".join(parts)


def enumerate_candidates(parent: str, site: str, dopants: list[str] | str, x: np.ndarray,
                         compensation: str = "mobile-ion") -> pd.DataFrame:
    """Every candidate of the series, valid or not.

    Parameters
    ----------
    parent : str
        Parent formula, e.g. "Li2ZrCl6".
    site : str
        Element of the parent that the dopant replaces, e.g. "Zr".
    dopants : str or list of str
        Dopants, e.g. ["Nb", "Ta5+"]; each gives its own series.
    x : array-like
        Dopant amounts in formula units of the parent as written.
    compensation : {"mobile-ion", "site-vacancy", "none"}

    Returns
    -------
    pandas.DataFrame
        ``formula``, ``parent``, ``site``, ``dopant`` (with its oxidation state), ``x``,
        ``compensation``, ``charge_balanced`` (bool) and ``error`` (empty, or why the
        candidate is impossible: a negative amount or a charge imbalance).

    Raises
    ------
    ValueError
        When the parent, site, dopant or compensation cannot define a series at all.
    """
    if compensation not in COMPENSATIONS:
        raise ValueError(f"compensation={compensation!r} must be one of {COMPENSATIONS}")
    try:
        composition = parse_formula(parent)
    except CompositionError as exc:
        raise ValueError(f"parent: {exc}") from None
    amounts = {el.symbol: float(n) for el, n in composition.items()}
    if site not in amounts:
        raise ValueError(f"site {site!r} is not an element of the parent {parent!r} ({', '.join(amounts)})")
    states = _oxidation_states(composition)
    carrier = mobile_ion(composition)
    if compensation == "mobile-ion" and carrier is None:
        raise ValueError(f"parent {parent!r} has no Li or Na to compensate the charge; use compensation='site-vacancy'")
    series = [Dopant.parse(d) for d in ([dopants] if isinstance(dopants, str) else dopants)]
    if not series:
        raise ValueError("give at least one dopant")
    x = np.asarray(x, dtype=float).ravel()
    check_candidate_count(len(series) * x.size)

    rows = []
    for dopant in series:
        if dopant.element in amounts and dopant.element != site:
            raise ValueError(f"dopant {dopant.element} is already in the parent {parent!r}; choose another site or dopant")
        site_state = states[site]
        if np.sign(dopant.oxidation_state) != np.sign(site_state):
            raise ValueError(f"dopant {dopant} cannot take the {site} site ({site_state:+g}): opposite charge")
        charges = {**states, dopant.element: dopant.oxidation_state}
        for value in x:
            new = dict(amounts)
            if compensation == "site-vacancy":
                new[site] = amounts[site] - value * dopant.oxidation_state / site_state
            else:
                new[site] = amounts[site] - value
            if compensation == "mobile-ion":
                new[carrier] = new[carrier] - (dopant.oxidation_state - site_state) * value / states[carrier]
            ordered = {}
            for element, amount in new.items():
                ordered[element] = amount
                if element == site:
                    ordered[dopant.element] = value
            imbalance = sum(charges[el] * n for el, n in ordered.items())
            error = ""
            negative = [el for el, n in ordered.items() if n < -TOLERANCE]
            if negative:
                error = f"x={value:g} leaves a negative amount of {', '.join(negative)}"
            elif abs(imbalance) > TOLERANCE:
                error = f"x={value:g}: not charge balanced ({imbalance:+.3g} e per formula unit); choose a compensation"
            rows.append({"formula": _formula(ordered) if not negative else "", "parent": parent, "site": site,
                         "dopant": str(dopant), "x": value, "compensation": compensation,
                         "charge_balanced": abs(imbalance) <= TOLERANCE, "error": error})
    return pd.DataFrame(rows)


def acquisition(table: pd.DataFrame, rule: str, parent_log10_sigma: float) -> np.ndarray:
    """Score of each predicted candidate under ``rule`` (higher is better), log10(S/cm)."""
    if rule == "lower90":
        return table["log10_sigma_lo90"].to_numpy(dtype=float)
    if rule == "mean":
        return table["log10_sigma"].to_numpy(dtype=float)
    if rule == "expected-improvement":
        mean = table["log10_sigma"].to_numpy(dtype=float)
        std = np.maximum(table["log10_sigma_std"].to_numpy(dtype=float), 1e-9)
        z = (mean - parent_log10_sigma) / std
        from scipy.stats import norm  # here: the command line reads this module's limits for its --help

        return (mean - parent_log10_sigma) * norm.cdf(z) + std * norm.pdf(z)
    raise ValueError(f"rank rule {rule!r} must be one of {RANKINGS}")


def screen(predictor, parent: str, site: str, dopants: list[str] | str, x: np.ndarray,
           compensation: str = "mobile-ion", rank_by: str = "lower90",
           min_oxidation_limit_V: float | None = None, progress: bool = False,
           temperature_C: float = 25.0) -> pd.DataFrame:
    """Enumerate, predict and rank a substitution series.

    Parameters
    ----------
    predictor : Predictor
    parent, site, dopants, x, compensation
        See :func:`enumerate_candidates`.
    rank_by : {"lower90", "mean", "expected-improvement"}
        Acquisition rule on log10 conductivity (see the module docstring).
    min_oxidation_limit_V : float, optional
        Candidates whose predicted oxidation limit (V vs Li+/Li or Na+/Na) is lower are kept
        but ranked after those that meet it.
    progress : bool
        Show a progress bar while predicting.
    temperature_C : float, default=25
        Temperature (°C) at which conductivity is predicted and ranked (see
        :meth:`Predictor.predict`).

    Returns
    -------
    pandas.DataFrame
        The candidates of :func:`enumerate_candidates` with the columns of
        ``Predictor.predict``, ``score`` (the acquisition value), ``meets_constraints`` and
        ``rank`` (1 = best; 0 for candidates that could not be predicted), sorted by rank.
    """
    if rank_by not in RANKINGS:
        raise ValueError(f"rank_by={rank_by!r} must be one of {RANKINGS}")
    candidates = enumerate_candidates(parent, site, dopants, x, compensation)
    valid = candidates["error"] == ""
    formulas = candidates.loc[valid, "formula"].tolist()
    predicted = predictor.predict([parent, *formulas], progress=progress, temperature_C=temperature_C)
    parent_log10_sigma = float(predicted.loc[0, "log10_sigma"])
    predicted = predicted.iloc[1:].set_index(candidates.index[valid])
    table = candidates.join(predicted.drop(columns=["formula", "error"]))
    table.loc[valid, "error"] = predicted["error"]
    ok = table["error"] == ""
    table["score"] = np.where(ok, acquisition(table, rank_by, parent_log10_sigma), np.nan)
    meets = ok.copy()
    if min_oxidation_limit_V is not None:
        meets &= table["oxidation_limit_V"].to_numpy(dtype=float) >= min_oxidation_limit_V
    table["meets_constraints"] = meets
    table = table.sort_values(["meets_constraints", "score"], ascending=[False, False], na_position="last",
                              kind="stable").reset_index(drop=True)
    table["rank"] = np.where(table["error"] == "", np.arange(1, len(table) + 1), 0)
    table.attrs.update(parent=parent, parent_log10_sigma=parent_log10_sigma, rank_by=rank_by, temperature_C=temperature_C,
                       min_oxidation_limit_V=min_oxidation_limit_V)
    return table
