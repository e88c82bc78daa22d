"""The training-data sources: what each is, where it is looked for, its licence, how to get it.

``predictor data`` prints :func:`source_status` for every entry of :data:`DATA_SOURCES`. The
third-party files live in the data directory (``$PREDICTOR_DATA_DIR``, otherwise
``../shared/data`` beside the checkout; see :mod:`predictor.paths`) and are never copied into
the repository; the curated tables ship in ``datasets/``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from predictor.artifacts import sha256
from predictor.paths import DATA_DIR_ENV, data_dir, data_root, datasets_dir


@dataclass(frozen=True)
class DataSource:
    """One training-data source.

    Parameters
    ----------
    name : str
        Short name, as ``predictor train --sources`` spells it where it is a conductivity source.
    title : str
        What the data are.
    folder : str
        Folder inside the data directory, or "datasets" for the curated tables of the repository.
    files : tuple of str
        Files the project reads, relative to ``folder``.
    licence : str
    citation : str
    how_to_get : str
        Instructions; ``{folder}`` stands for where the files must go.
    used_by : str
        What needs the source.
    known_sha256 : dict
        File name -> SHA-256 of the copy the shipped models were built from (empty for the
        curated tables, which are versioned by git).
    """

    name: str
    title: str
    folder: str
    files: tuple[str, ...]
    licence: str
    citation: str
    how_to_get: str
    used_by: str
    known_sha256: dict

    @property
    def in_repository(self) -> bool:
        return self.folder == "datasets"


DATA_SOURCES = (
    DataSource(
        name="obelix",
        title="OBELiX: 599 Li solid electrolytes with measured room-temperature ionic conductivity "
              "and the official train/test split",
        folder="obelix",
        files=("all.csv", "test.csv"),
        licence="CC-BY 4.0",
        citation="Therrien et al., Digital Discovery 2026 (arXiv 2502.14234); github.com/NRC-Mila/OBELiX",
        how_to_get='python -c "from obelix import OBELiX; OBELiX(\'{folder}\')" (the obelix-data package '
                   "downloads its data release into a folder that does not exist yet)",
        used_by="predictor train (conductivity labels, the OBELiX-split evaluation)",
        known_sha256={"all.csv": "54f6265ef84d16a919d08c6815f14b0fd7465fa00090bee2511c16c042e57f3c",
                      "test.csv": "b2c266eb74e22f403743d52959bea7c43b1531a850994870a70dd909200e5297"},
    ),
    DataSource(
        name="liiondb",
        title="Liverpool ionics database: 820 conductivity measurements of Li conductors with temperature",
        folder="liiondb",
        files=("LiIonDatabase.csv",),
        licence="CC-BY 4.0 (as redistributed in the OBELiX repository)",
        citation="Hargreaves et al., npj Comput. Mater. 2023",
        how_to_get="download https://pcwww.liv.ac.uk/~msd30/lmds/LiIonDatabase.csv (mirror: the OBELiX "
                   "repository, data/misc/LiIonDatabase.csv) to {folder}/LiIonDatabase.csv",
        used_by="predictor train (conductivity labels measured at 20-30 °C)",
        known_sha256={"LiIonDatabase.csv": "d24ed972b88c3aba14194b6f9347fb3c8e8f9249b82fec22d961e709c1c06e5d"},
    ),
    DataSource(
        name="mp",
        title="Materials Project formation energies (eV/atom), 84k entries, 2020 snapshot",
        folder="mp",
        files=("mp-formation-2020.csv",),
        licence="Materials Project data CC-BY 4.0; file from the MIT-licensed Roost repository",
        citation="Jain et al., APL Mater. 2013 (Materials Project); Goodall & Lee 2020 (Roost)",
        how_to_get="download data/datasets/mp-formation.csv of github.com/CompRhys/roost "
                   "to {folder}/mp-formation-2020.csv",
        used_by="python -m predictor.electrochem.generate (thermodynamic windows), "
                "python -m predictor.estimators.graph.pretrain; not predictor train",
        known_sha256={"mp-formation-2020.csv": "92ba6fd2a0777261ba78bf72a0244875a78f05a5902993d9440c18255802a644"},
    ),
    DataSource(
        name="laskowski",
        title="Laskowski et al. (2023): 1,928 table rows of Li conductors, 850 activation energies and 1,344 "
              "room-temperature conductivities, extracted from a PDF (validated and repaired row by row)",
        folder="laskowski",
        files=("laskowski_semi-fromatted.csv", "doi_lookup_table.csv"),
        licence="CC-BY 4.0 (as redistributed in the OBELiX repository)",
        citation="Laskowski, McHaffie, See, Energy Environ. Sci. 16, 1264 (2023), doi:10.1039/D2EE03499A",
        how_to_get="download data/misc/laskowski_semi-fromatted.csv and data/misc/doi_lookup_table.csv of "
                   "github.com/NRC-Mila/OBELiX to {folder}/",
        used_by="predictor train (activation-energy labels; conductivity labels with --sources ... laskowski)",
        known_sha256={"laskowski_semi-fromatted.csv": "606926c22779b71b82d98f833cfde8e31d540739decee3ff872f779902f75e61",
                      "doi_lookup_table.csv": "b890a2d06752613d2be77e3cf7562a14718b892c516d15d4c88686d9a122313d"},
    ),
    DataSource(
        name="curated",
        title="the project's curated halide conductivities and windows, and the thermodynamic windows "
              "computed from the MP table",
        folder="datasets",
        files=("halide_conductivity.csv", "electrochemical_windows.csv", "thermodynamic_windows.csv"),
        licence="the project's licence (MIT); cite each row's DOI (datasets/README.md)",
        citation="datasets/README.md",
        how_to_get="ships with the repository",
        used_by="predictor train (conductivity labels, window labels)",
        known_sha256={},
    ),
)


#: Data files without a header row.
HEADERLESS = frozenset({"laskowski_semi-fromatted.csv"})


def _data_rows(path: Path) -> int:
    """Records of a CSV file below its header, if it has one (quoted line breaks count once)."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        return max(sum(1 for _ in csv.reader(handle)) - (path.name not in HEADERLESS), 0)


def source_folder(source: DataSource) -> Path:
    """Where the source's files are looked for."""
    return datasets_dir() if source.in_repository else data_root() / source.folder


def source_status(source: DataSource) -> dict:
    """Whether a source is present, and which version.

    Returns
    -------
    dict
        ``name``, ``folder`` (Path), ``present`` (every file found), ``missing`` (file
        names), ``files``: per file found, ``sha256``, ``rows`` (CSV records) and ``known``
        (True when the SHA-256 is that of the copy the shipped models were built from, False
        when it differs, None when there is no reference hash).
    """
    folder = source_folder(source)
    files, missing = {}, []
    for name in source.files:
        path = folder / name
        if not path.is_file():
            missing.append(name)
            continue
        sha = sha256(path)
        reference = source.known_sha256.get(name)
        files[name] = {"sha256": sha, "rows": _data_rows(path), "known": None if reference is None else sha == reference}
    return {"name": source.name, "folder": folder, "present": not missing, "missing": missing, "files": files}


def validation_summary(source: DataSource) -> str | None:
    """What a validating loader made of a present source: labels used, rows rejected by reason (None: no such loader)."""
    if source.name != "laskowski" or not source_status(source)["present"]:
        return None
    import re

    from predictor.loaders.laskowski import load_laskowski

    data = load_laskowski(source_folder(source))
    labels = data.labels
    reasons = (data.rejected["reason"].str.replace(r"'[^']*'", "'...'", regex=True)
               .str.replace(r"-?\d+(\.\d+)?(e-?\d+)?", "#", regex=True).str.split(":").str[0].value_counts())
    rejected = "; ".join(f"{reason} {count}" for reason, count in reasons.items())
    return (f"{len(labels)} rows used: {int(labels['log10_sigma'].notna().sum())} conductivities, "
            f"{int(labels['Ea_eV'].notna().sum())} activation energies ({int((labels['repaired'] != '').sum())} "
            f"formulas repaired); {len(data.rejected)} rows or labels rejected: {re.sub(r'  +', ' ', rejected)}")


def describe_data_dir() -> str:
    """Where third-party data are looked for, and why there."""
    if os.environ.get(DATA_DIR_ENV):
        why = f"from ${DATA_DIR_ENV}"
    else:
        why = f"../shared/data beside the checkout; set ${DATA_DIR_ENV} to use another folder"
    found = "" if data_dir() is not None else ", not found"
    return f"data directory: {data_root()} ({why}{found})"
