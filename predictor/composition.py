"""Formula parsing and the chemical facts the rest of the package needs about a composition.

Every formula enters the package through :func:`parse_formula`, which returns a validated
pymatgen :class:`~pymatgen.core.Composition` or raises :class:`CompositionError` naming the
input and the reason. Downstream code never handles raw strings.

The facts defined here, once for the whole package: the mobile ion (:func:`mobile_ion`), the
anion family (:func:`anion_family`), the chemical system (:func:`chemical_system`, the group
of leakage-free splits), the reference electrode of a window (:func:`reference_electrode`),
and when two formulas are the same composition (:func:`same_composition`,
:func:`composition_groups`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Composition, Element

from predictor.errors import CompositionError, shorten

MOBILE_IONS = ("Li", "Na")
HALOGENS = ("F", "Cl", "Br", "I")
#: Non-halogen anions that define the mixed-anion families.
CO_ANIONS = {"O": "oxyhalide", "N": "nitride-halide", "S": "sulfide-halide", "Se": "sulfide-halide",
             "Te": "sulfide-halide"}

MAX_FORMULA_LENGTH = 200
MAX_ELEMENTS = 12
MAX_ATOMS_PER_FORMULA = 1000.0
MIN_AMOUNT = 1e-4
#: Heaviest element with tabulated Magpie properties (Lr); heavier ones cannot be featurised.
MAX_Z = 103

_FRACTION = re.compile(r"(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)")
_SYMBOL = re.compile(r"[A-Z][a-z]?")
#: Characters a formula may contain: element symbols, amounts (decimal, fraction, exponent), brackets, spaces.
_GRAMMAR = re.compile(r"[A-Za-z0-9.()\[\]/+\- ]")
#: An amount in exponent notation, e.g. "1e-3" or "2.5E2".
_EXPONENT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)[eE]([+-]?\d+)")
#: Hydrogen isotopes that pymatgen would silently read as H.
ISOTOPES = {"D": "deuterium", "T": "tritium"}
#: Water of crystallisation after a dot or star, at the end: ".2H2O" in "Li3YCl6.2H2O", "·H2O" in
#: "LiOH·H2O", "*xH2O". The dot of a decimal amount "0.5" is not one ("LiCl0.5H2O").
_HYDRATE = re.compile(r"(?:(?<![A-Za-z)\]]0)\.|[·•∙⋅*])\s*(?:\d+(?:\.\d+)?|[xn])?\s*[(\[]?H2O[)\]]?$")
#: What separates several formulas typed in one string: spaces, commas, semicolons.
_SEPARATORS = re.compile(r"[\s,;]+")
#: A bracketed part with an amount, as in the mixture notation "(LiCl)0.5 (P2O5)0.5".
_MIXTURE_PART = re.compile(r"^[(\[].*[)\]][\d./]*$")
#: A '.' not followed by a digit ("Li3YCl6.") or a '/' without an amount on both sides ("Li3YCl6/").
_DANGLING = re.compile(r"\.(?!\d)|(?<![\d.])/|/(?![\d.])")


def parse_formula(formula: object) -> Composition:
    """Parse and validate a chemical formula.

    Accepts integer, decimal, fractional and exponent amounts ("Li3YCl6", "Li2.5Y0.5Zr0.5Cl6",
    "Li2Sc2/3Cl4", "Li2.5e0YCl6"), parentheses, brackets and spaces. Refused, with the reason
    (the checks below, in order): control characters inside the formula, hydrates
    ("Li3YCl6.2H2O", "LiOH·H2O": the models know anhydrous electrolytes), several formulas in
    one string ("Li3YCl6 Li3InCl6"), amounts apart from what they count ("LiCl 2"), any
    character outside the formula grammar ("Li@Cl"), the isotope symbols D and T (pymatgen
    would read them as H: write H), negative amounts and charges, a dangling '.' or '/'
    ("Li3YCl6.", "Li3YCl6/"), a fraction that reads as dividing the formula ("Li3YCl6/2"), and
    what pymatgen cannot read. Whitespace around the formula is ignored. Error messages echo at
    most 60 characters of the input.

    Parameters
    ----------
    formula : str
        The formula as written by the user.

    Returns
    -------
    pymatgen.core.Composition

    Raises
    ------
    CompositionError
        When the input is not a string, is empty, is one of the refused forms above, names an
        unknown element or one without tabulated properties, has a zero amount, or is absurdly
        large.
    """
    if isinstance(formula, Composition):
        formula = formula.formula
    if not isinstance(formula, str):
        raise CompositionError(formula, f"expected a formula string, got {type(formula).__name__}")
    if len(formula) > MAX_FORMULA_LENGTH:
        raise CompositionError(formula, f"formula longer than {MAX_FORMULA_LENGTH} characters")
    text = formula.strip()
    if not text:
        raise CompositionError(formula, "empty formula")
    for check in (_refuse_control_characters, _refuse_hydrate, _refuse_several_formulas,
                  _refuse_foreign_characters, _refuse_isotopes):
        check(formula, text)
    text = _expand_exponents(formula, text)
    _refuse_signs_and_dangling_operators(formula, text)
    try:
        composition = Composition(_expand_fractions(formula, text))
    except CompositionError:
        raise
    except Exception as exc:  # pymatgen raises ValueError, KeyError, TypeError for bad strings
        raise CompositionError(formula, f"not a valid chemical formula ({shorten(str(exc), 100)})") from None
    _check_elements_and_amounts(formula, text, composition)
    return composition


def _refuse_control_characters(formula: str, text: str) -> None:
    """Carriage returns, NUL, tabs or terminal escapes inside a formula ("Li3Y\\x00Cl6")."""
    controls = sorted({c for c in text if unicodedata.category(c) == "Cc"})
    if controls:
        shown = ", ".join(repr(c) for c in controls[:5])
        raise CompositionError(formula, f"control character {shown} in the formula")


def _refuse_hydrate(formula: str, text: str) -> None:
    """Water of crystallisation: "Li3YCl6.2H2O" is Li3YCl6 with two waters, which pymatgen would
    read as Cl6.2 plus H2O."""
    hydrate = _HYDRATE.search(text)
    if hydrate is None:
        return
    anhydrous = text[:hydrate.start()].strip()
    reason = f"hydrate ({hydrate.group(0).strip()!r}): the models know anhydrous electrolytes; give the anhydrous formula"
    try:
        parse_formula(anhydrous)
        reason += f" ({anhydrous})"
    except CompositionError:
        pass
    after = text[hydrate.start() + 1:].lstrip()
    if text[hydrate.start()] == "." and text[hydrate.start() - 1].isdigit() and after[:1].isdigit():
        reason += ", or, if the dot is a decimal point, the water in brackets: (H2O)"
    raise CompositionError(formula, reason)


def _refuse_several_formulas(formula: str, text: str) -> None:
    """Several formulas in one string ("Li3YCl6 Li3InCl6", "Li3YCl6, Na3YCl6"), or an amount
    separated from what it counts ("LiCl 2", "LiCl 0.5 LiBr 0.5").

    Spaces inside one formula ("Li3 Y Cl6", "Li6PS5 Cl": a part of one element) and the mixture
    notation "(LiCl)0.5 (P2O5)0.5" are one formula.
    """
    parts = [part for part in _SEPARATORS.split(text) if part]
    if len(parts) < 2:
        return
    separated = [part for part in parts[1:] if part[0].isdigit() or part[0] in "./"]
    if separated:
        raise CompositionError(formula, f"amount {separated[0]!r} is separated from the element or bracket "
                                        "it counts: write it right after it, e.g. (LiCl)0.5(LiBr)0.5")
    if any(_MIXTURE_PART.match(part) for part in parts):
        return
    for part in parts:  # each part has no separator, so this does not come back here
        try:
            composition = parse_formula(part)
        except CompositionError:
            return
        if len(composition.elements) < 2:
            return
    raise CompositionError(formula, f"holds {len(parts)} formulas ({', '.join(parts)}); "
                                    "give each as its own argument or CSV row")


def _refuse_foreign_characters(formula: str, text: str) -> None:
    """Characters outside element symbols, amounts and brackets ("Li@Cl", "Li₃YCl₆")."""
    bad = sorted(set(_GRAMMAR.sub("", text)))
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        raise CompositionError(formula, f"character {shown} is not part of a chemical formula "
                                        "(element symbols, amounts, parentheses)")


def _refuse_isotopes(formula: str, text: str) -> None:
    """D and T, which pymatgen would silently read as H."""
    isotopes = [s for s in _SYMBOL.findall(text) if s in ISOTOPES]
    if isotopes:
        raise CompositionError(formula, f"isotope symbol {isotopes[0]} ({ISOTOPES[isotopes[0]]}) is not supported: "
                                        "write H (the models do not distinguish isotopes)")


def _refuse_signs_and_dangling_operators(formula: str, text: str) -> None:
    """Negative or symbolic amounts ("Li3-xYCl6"), charges ("Li+"), and a '.' or '/' without an
    amount ("Li3YCl6.", "Li3YCl6/"), which pymatgen would ignore."""
    if "-" in text:
        raise CompositionError(formula, "negative or symbolic amounts are not allowed (write x as a number)")
    if "+" in text:
        raise CompositionError(formula, "charges ('+') are not part of a formula")
    if dangling := _DANGLING.search(text):
        side = "its right" if dangling.group(0) == "." else "both sides"
        raise CompositionError(formula, f"{dangling.group(0)!r} without an amount on {side}")


def _expand_exponents(formula: str, text: str) -> str:
    """Rewrite amounts in exponent notation ("Li1e-3") as decimals; refuse those out of range."""

    def to_decimal(match: re.Match) -> str:
        value = float(match.group(0))
        if value < MIN_AMOUNT:
            raise CompositionError(formula, f"amount {match.group(0)} is zero or below {MIN_AMOUNT:g}")
        if value > MAX_ATOMS_PER_FORMULA:
            raise CompositionError(formula, f"amount {match.group(0)} is more than {MAX_ATOMS_PER_FORMULA:g} atoms")
        return f"{value:.12g}"

    return _EXPONENT.sub(to_decimal, text)


def _expand_fractions(formula: str, text: str) -> str:
    """Rewrite amounts written as fractions ("Sc2/3") as decimals ("Sc0.666666666667").

    A '/' divides the one amount before it. A fraction that is a whole number ("Cl6/2"), or the
    only fraction of a formula, at its end and of 1 or more ("Li3YCl6/4"), reads as if the whole
    formula were divided, which it is not: both are refused ("Li3YCl3/2Br9/2" is read).
    """
    fractions = list(_FRACTION.finditer(text))

    def to_decimal(match: re.Match) -> str:
        numerator, denominator = float(match.group(1)), float(match.group(2))
        if denominator == 0:
            raise CompositionError(formula, f"division by zero in amount {match.group(0)!r}")
        value = numerator / denominator
        divides_formula = len(fractions) == 1 and match.end() == len(text) and value >= 1
        if value == int(value) or divides_formula:
            raise CompositionError(formula, f"amount {match.group(0)!r} divides only the amount before the '/', "
                                            "not the formula: write the amount as a number, or the formula "
                                            "in brackets with its amount, e.g. (Li3YCl6)0.5")
        return f"{value:.12g}"

    return _FRACTION.sub(to_decimal, text)


def _check_elements_and_amounts(formula: str, text: str, composition: Composition) -> None:
    """Known elements with tabulated properties, every written element present, sizes in range."""
    for symbol in composition.elements:
        if not isinstance(symbol, Element) or not Element.is_valid_symbol(str(symbol)):
            raise CompositionError(formula, f"unknown element {getattr(symbol, 'symbol', str(symbol))!r}")
        if symbol.Z > MAX_Z:
            raise CompositionError(formula, f"element {symbol} (Z={symbol.Z}) has no tabulated properties")

    amounts = composition.get_el_amt_dict()
    written = set(_SYMBOL.findall(text))
    missing = sorted(s for s in written - {"D", "T"} if Element.is_valid_symbol(s) and s not in amounts)
    if missing:
        raise CompositionError(formula, f"zero amount of {', '.join(missing)}")
    unknown = sorted(s for s in written - {"D", "T"} if not Element.is_valid_symbol(s))
    if unknown:  # pymatgen drops an unknown symbol written with amount 0 ("A0")
        raise CompositionError(formula, f"unknown element {unknown[0]!r}")
    if not amounts:
        raise CompositionError(formula, "no elements")
    for symbol, amount in amounts.items():
        if amount < MIN_AMOUNT:
            raise CompositionError(formula, f"amount of {symbol} is zero or below {MIN_AMOUNT:g}")
    if len(amounts) > MAX_ELEMENTS:
        raise CompositionError(formula, f"more than {MAX_ELEMENTS} elements")
    if composition.num_atoms > MAX_ATOMS_PER_FORMULA:
        raise CompositionError(
            formula, f"{composition.num_atoms:g} atoms per formula unit (more than {MAX_ATOMS_PER_FORMULA:g})"
        )


def mobile_ion(composition: Composition) -> str | None:
    """The mobile ion: "Li" or "Na" (the more abundant when both are present), or None."""
    present = {element.symbol: amount for element, amount in composition.items() if amount > 0}
    amounts = {ion: present[ion] for ion in MOBILE_IONS if ion in present}
    if not amounts:
        return None
    return max(amounts, key=amounts.get)


def anion_family(composition: Composition) -> str:
    """Anion family: chloride, bromide, iodide, fluoride, mixed-halide, oxyhalide,
    nitride-halide, sulfide-halide, or non-halide."""
    present = {element.symbol for element, amount in composition.items() if amount > 0}
    halogens = [h for h in HALOGENS if h in present]
    if not halogens:
        return "non-halide"
    for anion, family in CO_ANIONS.items():
        if anion in present:
            return family
    if len(halogens) > 1:
        return "mixed-halide"
    return {"F": "fluoride", "Cl": "chloride", "Br": "bromide", "I": "iodide"}[halogens[0]]


@dataclass(frozen=True)
class CompositionInfo:
    """What the predictor reports about a parsed composition besides its predictions."""

    formula: str
    reduced_formula: str
    carrier: str | None
    anion_family: str
    chemical_domain_notes: tuple[str, ...]

    @property
    def in_chemical_domain(self) -> bool:
        return not self.chemical_domain_notes


def describe(composition: Composition) -> CompositionInfo:
    """Carrier, anion family and the chemistry-based domain notes of a composition.

    A composition without Li or Na, or without a halogen, is still predicted, but it lies
    outside the chemistry the models were built for and is flagged.
    """
    carrier = mobile_ion(composition)
    family = anion_family(composition)
    notes = []
    if carrier is None:
        notes.append("no Li or Na mobile ion")
    if family == "non-halide":
        notes.append("no halogen (not a halide)")
    return CompositionInfo(
        formula=composition.formula.replace(" ", ""),
        reduced_formula=composition.reduced_formula,
        carrier=carrier,
        anion_family=family,
        chemical_domain_notes=tuple(notes),
    )



def reference_electrode(carrier: str) -> str:
    """The electrode that window limits of a ``carrier`` conductor are stated against: "Li+/Li"."""
    return f"{carrier}+/{carrier}"


#: Reference electrode of each mobile ion: "Li+/Li", "Na+/Na".
REFERENCE_ELECTRODES = {ion: reference_electrode(ion) for ion in MOBILE_IONS}


def chemical_system(composition: Composition) -> str:
    """Elements joined by '-' in alphabetical order ("Cl-Li-Y"): the group of leakage-free splits."""
    return "-".join(sorted(el.symbol for el in composition.elements))


# ----------------------------------------------------------------------------------------------
# Composition identity
#
# Two formulas are the same composition when they have the same elements and every atomic
# fraction agrees within 1 % of its value. Why relative: papers round amounts (Li2In0.666Cl4
# for Li3InCl6, Li2.33Sc0.67Cl4 for Li7/3Sc2/3Cl4), which moves a fraction by a fraction of a
# per cent of itself, while a doping series moves a small fraction by much more than that
# (La0.55Li0.36Ti0.995Al0.005O3 and ...Ti0.992Al0.008O3: 60 %). Measured on the training
# table (978 labels): rounding fractions to 1e-4 kept 3 near-identical pairs apart (Li0.361 and
# Li0.36 in one LLTO), an absolute 1e-3 tolerance merged 7 groups of different compositions
# (among them Si- and Al-doping series); the relative rule does neither. Scaling never matters
# (Li6Y2Cl12 is Li3YCl6).

#: Largest relative difference of any atomic fraction between formulas of the same composition.
SAME_COMPOSITION_RELATIVE_TOLERANCE = 0.01


def atomic_fractions(composition: Composition) -> tuple[tuple[str, ...], np.ndarray]:
    """The element symbols (sorted) and their atomic fractions (summing to 1)."""
    amounts = composition.get_el_amt_dict()
    elements = tuple(sorted(amounts))
    total = sum(amounts.values())
    return elements, np.array([amounts[e] / total for e in elements])


def fractions_match(a: np.ndarray, b: np.ndarray) -> np.ndarray | bool:
    """Whether atomic fractions ``a`` and ``b`` (same elements, same order) are the same composition.

    ``b`` may hold several compositions as rows; the answer is then one bool per row.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    close = np.abs(a - b) <= SAME_COMPOSITION_RELATIVE_TOLERANCE * np.maximum(a, b)
    return close.all(axis=-1)


def same_composition(a: Composition, b: Composition) -> bool:
    """Same elements and every atomic fraction within 1 % of its value (see above)."""
    elements_a, fractions_a = atomic_fractions(a)
    elements_b, fractions_b = atomic_fractions(b)
    return elements_a == elements_b and bool(fractions_match(fractions_a, fractions_b))


def composition_groups(compositions: Iterable[Composition]) -> list[int]:
    """Group number of each composition, same composition -> same group (numbered 0, 1, ...).

    In input order, each composition joins the first group whose first member it matches
    (:func:`same_composition`), else starts a new group; so the first of several sources
    decides the group, and the result does not depend on how later rows are written.
    """
    representatives: dict[tuple[str, ...], tuple[list[np.ndarray], list[int]]] = {}
    groups, count = [], 0
    for composition in compositions:
        elements, fractions = atomic_fractions(composition)
        known, numbers = representatives.setdefault(elements, ([], []))
        matches = np.flatnonzero(fractions_match(fractions, np.array(known))) if known else []
        if len(matches):
            groups.append(numbers[matches[0]])
        else:
            known.append(fractions)
            numbers.append(count)
            groups.append(count)
            count += 1
    return groups


def composition_key(composition: Composition) -> str:
    """A readable label of the fractional composition ("Cl0.6000 Li0.3000 Y0.1000").

    Equal for scaled formulas (Li3YCl6, Li6Y2Cl12), but a label, not the identity rule: two
    formulas that round differently are the same composition by :func:`same_composition` yet
    may get different keys. Tables label a group of the same composition by the key of its
    first member (see :func:`predictor.loaders.combined.label_same_compositions`).
    """
    elements, fractions = atomic_fractions(composition)
    return " ".join(f"{el}{value:.4f}" for el, value in zip(elements, fractions))
