"""Hints for formulas typed by hand: the formula with its element symbols in the right case.

:func:`predictor.composition.parse_formula` says why a formula is wrong; these functions say
what the user probably meant, for the command line and other front ends to add to that reason.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pymatgen.core import Element

from predictor.composition import MAX_FORMULA_LENGTH, MAX_Z, parse_formula
from predictor.errors import CompositionError

_SYMBOLS = {Element.from_Z(z).symbol.lower(): Element.from_Z(z).symbol for z in range(1, MAX_Z + 1)}
_LETTERS = re.compile(r"[A-Za-z]+")


@lru_cache(maxsize=4096)
def _symbols(letters: str) -> tuple[str, ...] | None:
    """Split a run of letters, ignoring case, into element symbols (two-letter symbols first)."""
    if not letters:
        return ()
    for size in (2, 1):
        symbol = _SYMBOLS.get(letters[:size].lower())
        if symbol is not None and len(letters) >= size:
            rest = _symbols(letters[size:])
            if rest is not None:
                return (symbol, *rest)
    return None


def _parses(text: str) -> bool:
    try:
        parse_formula(text)
    except CompositionError:
        return False
    return True


def suggest_formula(text: object) -> str | None:
    """The formula with its element symbols written in the right case, when it then parses.

    Parameters
    ----------
    text : str
        A formula that :func:`~predictor.composition.parse_formula` rejected, e.g. "li3ycl6".

    Returns
    -------
    str or None
        A hint such as "did you mean Li3YCl6? element symbols are case-sensitive", or None when
        changing the case does not give a valid formula (or changes nothing).

    Examples
    --------
    >>> suggest_formula("LI3YCL6")
    'did you mean Li3YCl6? element symbols are case-sensitive'
    """
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_FORMULA_LENGTH:
        return None
    pieces, end = [], 0
    for match in _LETTERS.finditer(text):
        symbols = _symbols(match.group())
        if symbols is None:
            return None
        pieces += [text[end:match.start()], *symbols]
        end = match.end()
    candidate = "".join([*pieces, text[end:]]).strip()
    if candidate == text.strip() or not _parses(candidate):
        return None
    return f"did you mean {candidate}? element symbols are case-sensitive"

