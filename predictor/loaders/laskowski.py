"""The Laskowski et al. (2023) table of Li conductors: activation energies and conductivities, validated.

F. A. L. Laskowski, D. B. McHaffie, K. A. See, Energy Environ. Sci. 16, 1264 (2023),
DOI 10.1039/D2EE03499A, as redistributed by OBELiX (``data/misc``, CC-BY 4.0): the table
``laskowski_semi-fromatted.csv`` (no header: formula, room-temperature conductivity in S/cm,
activation energy in eV, space group, crystal-system index, a spare column, ICSD ID, reference
number) and ``doi_lookup_table.csv`` (reference number -> DOI), in the ``laskowski`` folder of
the data directory.

The table was extracted from a PDF, so every row is checked, each label on its own (a row whose
conductivity is only a bound can still give its Ea):

- repaired when the repair is unambiguous: a stray combining overline (U+0305) after a number;
  an entry split over three lines (formula start, values, formula end); a polymorph prefix
  ("β-"); a glass or composite written as amounts of compounds, read as their sum
  ("0.75Li2S-0.25P2S5" -> Li1.5P0.5S2, the composition of the whole);
  spaces inside a formula ("Li 7.22 Si 1.5 P 0.5 O8"); subscripts pushed to the end of the
  formula, one per gap ("Li MgCl  2 4" -> Li2MgCl4, "Li0.91Hf2.022(PO )  4 3" ->
  Li0.91Hf2.022(PO4)3); a DOI of a supplementary file (suffix ``.s001``) -> the paper's DOI;
- rejected with the reason otherwise: a continuation line of the row above (no formula), a
  composite whose components cannot be read as amounts ("Li3PS4 – 20 wt% Al2O3", nested
  mixtures), a formula that does not parse or holds no Li, subscripts that cannot be placed one per gap, a
  number that is not one (a shifted column), a bound ("<1E-10") where a value belongs, Ea outside
  0.05-2 eV, conductivity outside 1e-15-1 S/cm.

:func:`load_laskowski` returns the labels (one row per table row and usable label; duplicates
are merged by the sources' rules downstream) and the rejections; ``predictor data`` counts both.
"""

from __future__ import annotations

import csv
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from predictor.composition import parse_formula
from predictor.errors import CompositionError, DataNotFoundError
from predictor.paths import data_dir

log = logging.getLogger(__name__)

FOLDER = "laskowski"
TABLE_FILE = "laskowski_semi-fromatted.csv"
DOI_FILE = "doi_lookup_table.csv"
#: Columns of the table, as far as they can be read (the file has no header).
RAW_COLUMNS = ("formula", "sigma_S_cm", "Ea_eV", "space_group", "crystal_system", "spare", "icsd", "reference")
#: Plausible values (the issue's and the curated tables' validation).
EA_RANGE_EV = (0.05, 2.0)
SIGMA_RANGE_S_CM = (1e-15, 1.0)
PAPER = "Laskowski et al., Energy Environ. Sci. 16, 1264 (2023)"
OVERLINE = "\u0305"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
#: Several compounds in one entry: "0.75Li2S-0.25P2S5", "Li3PS4 – 20 wt% Al2O3", "0.9Li3PS4·0.1ZnO".
_COMPOSITE = re.compile(r"[-–·+]|wt ?%")
#: A polymorph label before a formula: "β-Li3PS4", "r-LiAlO2".
_POLYMORPH = re.compile(r"^(?:[α-ωa-z]['’]?)-(?=[A-Z(])")
#: One component of a mixture: an optional amount, then a formula.
_AMOUNT = re.compile(r"(?P<amount>\d*\.?\d+)?\s*(?P<formula>[A-Z(][^-–]*)")


@dataclass
class LaskowskiData:
    """``labels``: formula, log10_sigma (NaN when not usable), Ea_eV (NaN when not usable), doi,
    reference (the table's reference number), row (1-based row of the table), repaired (what was
    repaired, "" when nothing); ``rejected``: row, label ("row", "conductivity" or "Ea"), text,
    reason, Ea_given (the row had an activation energy)."""

    labels: pd.DataFrame
    rejected: pd.DataFrame


def repair_formula(text: str) -> tuple[str, str]:
    """A formula as the PDF extraction left it, repaired; and what was repaired ("" when nothing).

    The extraction put spaces inside formulas and moved some subscripts after the element they
    belong to ("Li La Zr O 7 3 2 12"). Read left to right: a piece ending in an element symbol or
    a closing bracket and followed by a space waits for its subscript; a run of numbers gives
    one subscript to each waiting piece, in order, and must match their count (else the
    placement is ambiguous). A waiting piece that gets no number keeps the amount 1.

    Raises
    ------
    ValueError
        When a run of numbers does not match the pieces waiting for one.
    """
    text = text.replace(OVERLINE, "").strip().strip('"')
    parts = text.split()
    if len(parts) <= 1:
        return text, ""
    output, waiting, run, moved = [], [], [], False

    def place() -> None:
        nonlocal waiting, run, moved
        if not run:
            return
        if len(run) != len(waiting):
            raise ValueError(f"{len(run)} subscript(s) {' '.join(run)} for {len(waiting)} place(s) in {text!r}: "
                             "cannot be placed unambiguously")
        moved |= len(run) > 1 or waiting[-1] != len(output) - 1
        for index, number in zip(waiting, run):
            output[index] += number
        waiting, run = [], []

    for part in parts:
        if _NUMBER.fullmatch(part):
            run.append(part)
            continue
        place()
        output.append(part)
        if part[-1].isalpha() or part[-1] in ")]":
            waiting.append(len(output) - 1)
    place()
    return "".join(output), "subscripts moved back into the formula" if moved else "spaces removed from the formula"


def join_split_entries(table: list[list[str]]) -> tuple[list[list[str]], dict[int, int]]:
    """Entries the extraction split over three lines, joined; and the lines used up (1-based row -> entry row).

    The pattern: a line with the start of a formula and no values, a line with no formula and the
    values, a line with only the end of the formula. The joined entry takes the middle line's
    place (its values, the formula of the other two, the first reference given).
    """
    table = [list(cells) for cells in table]
    joined: dict[int, int] = {}
    for i in range(1, len(table) - 1):
        before, middle, after = table[i - 1], table[i], table[i + 1]
        if (not middle[0].strip() and (middle[1].strip() or middle[2].strip())
                and before[0].strip() and not before[1].strip() and not before[2].strip()
                and after[0].strip() and not any(c.strip() for c in after[1:]) and i not in joined):
            middle[0] = before[0].strip() + after[0].strip()
            for column in range(3, len(middle)):
                middle[column] = middle[column].strip() or before[column].strip()
            joined[i] = joined[i + 2] = i + 1
    return table, joined


def _parsed(text: str):
    """(formula, what was repaired, Composition) of a formula cell; ValueError with the reason.

    A polymorph prefix ("β-", "r-") is dropped; a glass or composite written as amounts of
    compounds ("0.75Li2S-0.25P2S5", "Li7La3Zr2O12-0.3Ga") is read as their sum, the composition
    of the whole (Li1.5P0.5S2); a component with "wt%" or a nested mixture is not read.
    """
    text = text.replace(OVERLINE, "").strip()
    notes = []
    prefix = _POLYMORPH.match(text)
    if prefix:
        text, notes = text[prefix.end():], ["polymorph prefix dropped"]
    if _COMPOSITE.search(text):
        pieces = [p.strip() for p in re.split(r"\s*[-–]\s*", text)]
        if len(pieces) < 2 or not all(pieces) or re.search(r"wt ?%|[·+()]\s*$", text):
            raise ValueError("not amounts of compounds")
        total = None
        for piece in pieces:
            match = _AMOUNT.fullmatch(piece)
            if not match:
                raise ValueError(f"component {piece!r} is not an amount of a compound")
            formula, repaired = repair_formula(match.group("formula"))
            if repaired == "subscripts moved back into the formula" or "(" in formula and ")" not in formula:
                raise ValueError(f"component {piece!r} is not an amount of a compound")
            try:
                part = parse_formula(formula) * float(match.group("amount") or 1.0)
            except CompositionError as exc:
                raise ValueError(exc.reason) from None
            total = part if total is None else total + part
        formula = "".join(total.formula.split())
        return formula, "; ".join([*notes, "a mixture read as the sum of its components"]), parse_formula(formula)
    formula, repaired = repair_formula(text)
    try:
        return formula, "; ".join(n for n in (*notes, repaired) if n), parse_formula(formula)
    except CompositionError as exc:
        raise ValueError(exc.reason) from None


def parse_value(text: str, name: str) -> float | None:
    """A number of the table (overline removed), None when empty; ValueError with the reason otherwise."""
    text = text.replace(OVERLINE, "").strip()
    if not text:
        return None
    if text[0] in "<>~≤≥":
        raise ValueError(f"{name} {text!r} is a bound, not a value")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a number (a shifted column?)") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} {text!r} is not a finite number")
    return value


def read_dois(path: Path) -> dict[str, str]:
    """Reference number -> DOI ("; "-joined when the table gives several; supplementary-file suffixes removed)."""
    dois: dict[str, list[str]] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            number, doi = (row.get("ref. number") or "").strip(), (row.get("DOI") or "").strip()
            if number and doi:
                doi = re.sub(r"\.s\d{3}$", "", doi)
                dois.setdefault(number, [])
                if doi.lower() not in (d.lower() for d in dois[number]):
                    dois[number].append(doi)
    return {number: "; ".join(values) for number, values in dois.items()}


def laskowski_activation_reports(data: LaskowskiData | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table's activation energies as reports (:data:`predictor.loaders.activation_labels.REPORT_COLUMNS`),
    and the rejected rows that had one (``source``, ``formula``, ``reason``)."""
    from predictor.loaders.activation_labels import METHOD_REPORTED

    data = data or load_laskowski()
    labels = data.labels[data.labels["Ea_eV"].notna()]
    reports = pd.DataFrame({"formula": labels["formula"], "Ea_eV": labels["Ea_eV"], "Ea_se_eV": float("nan"),
                            "T_min_C": float("nan"), "T_max_C": float("nan"), "n_points": 0,
                            "method": METHOD_REPORTED, "source": "laskowski", "doi": labels["doi"],
                            "reference": labels["reference"]}).reset_index(drop=True)
    bad = data.rejected[data.rejected["Ea_given"]]
    rejected = pd.DataFrame({"source": "laskowski", "formula": bad["text"],
                             "reason": "row " + bad["row"].astype(str) + ": " + bad["reason"]})
    return reports, rejected.reset_index(drop=True)


def laskowski_conductivity(data: LaskowskiData | None = None) -> pd.DataFrame:
    """The table's room-temperature conductivities as a conductivity source (log10 S/cm; T_C not stated)."""
    labels = (data or load_laskowski()).labels
    labels = labels[labels["log10_sigma"].notna()]
    return pd.DataFrame({"formula": labels["formula"], "log10_sigma": labels["log10_sigma"], "T_C": float("nan"),
                         "source": "laskowski", "doi": labels["doi"]}).reset_index(drop=True)


def load_laskowski(folder: str | Path | None = None) -> LaskowskiData:
    """Validated labels of the Laskowski table (see the module docstring).

    Parameters
    ----------
    folder : path, optional
        Where the two files are; default ``laskowski`` in the data directory.

    Raises
    ------
    DataNotFoundError
        When the files are not there.
    """
    folder = Path(folder) if folder is not None else data_dir() / FOLDER
    table_path, doi_path = folder / TABLE_FILE, folder / DOI_FILE
    for path in (table_path, doi_path):
        if not path.is_file():
            raise DataNotFoundError(f"{path} not found: the Laskowski table (see `predictor data`)")
    dois = read_dois(doi_path)
    labels, rejected = [], []
    with open(table_path, newline="", encoding="utf-8") as handle:
        table = [[*cells, *[""] * (len(RAW_COLUMNS) - len(cells))] for cells in csv.reader(handle)]
    table, joined = join_split_entries(table)
    for number, cells in enumerate(table, start=1):
        if number in joined:
            rejected.append({"row": number, "label": "row", "text": cells[0], "Ea_given": False,
                             "reason": f"part of the formula of row {joined[number]}, joined to it"})
            continue
        raw = dict(zip(RAW_COLUMNS, cells))
        text = raw["formula"].strip().strip('"')

        def reject(label: str, reason: str, shown: str = text) -> None:
            ea_given = label == "Ea" or (label == "row" and bool(raw["Ea_eV"].replace(OVERLINE, "").strip()))
            rejected.append({"row": number, "label": label, "text": shown, "reason": reason, "Ea_given": ea_given})

        if not text:
            reject("row", "continuation line of the row above (no formula)", ",".join(c for c in cells if c))
            continue
        try:
            formula, repaired, composition = _parsed(text)
        except ValueError as exc:
            reject("row", f"formula: {exc}" if not _COMPOSITE.search(text) else
                   "a composite or glass whose components cannot be read as amounts of compounds")
            continue
        if "Li" not in {e.symbol for e in composition.elements}:
            reject("row", "no Li in the formula")
            continue
        values = {}
        for label, column, (low, high), unit in (("conductivity", "sigma_S_cm", SIGMA_RANGE_S_CM, "S/cm"),
                                                 ("Ea", "Ea_eV", EA_RANGE_EV, "eV")):
            try:
                value = parse_value(raw[column], label)
            except ValueError as exc:
                reject(label, str(exc), raw[column].strip())
                continue
            if value is None:
                continue
            if not low <= value <= high:
                reject(label, f"{label} {value:g} {unit} outside {low:g}..{high:g} {unit}", raw[column].strip())
                continue
            values[label] = value
        if not values:
            continue
        reference = raw["reference"].strip()
        sigma = values.get("conductivity")
        labels.append({"formula": formula, "log10_sigma": math.log10(sigma) if sigma else float("nan"),
                       "Ea_eV": values.get("Ea", float("nan")), "doi": dois.get(reference, ""),
                       "reference": f"{PAPER}, ref. {reference}" if reference else PAPER,
                       "row": number, "repaired": repaired})
    data = LaskowskiData(labels=pd.DataFrame(labels, columns=["formula", "log10_sigma", "Ea_eV", "doi", "reference",
                                                              "row", "repaired"]),
                         rejected=pd.DataFrame(rejected, columns=["row", "label", "text", "reason", "Ea_given"]))
    log.info("Laskowski table: %d rows with a usable label (%d conductivities, %d activation energies; %d repaired), "
             "%d labels or rows rejected", len(data.labels), data.labels["log10_sigma"].notna().sum(),
             data.labels["Ea_eV"].notna().sum(), (data.labels["repaired"] != "").sum(), len(data.rejected))
    return data
