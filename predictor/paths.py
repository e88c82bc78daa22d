"""Where the package finds third-party data, shipped models and curated datasets.

Third-party data sets (OBELiX, the Liverpool ionics database, the Materials Project table)
are never copied into the repository. They are read from a data directory:

1. the environment variable ``PREDICTOR_DATA_DIR`` when it is set;
2. otherwise ``../shared/data`` beside the repository checkout, when it exists.

The shipped models live in ``models/`` and the curated datasets in ``datasets/`` at the
repository root; ``PREDICTOR_MODELS_DIR`` overrides the former. Retrained models go to the
user's data folder (:func:`trained_models_dir`) unless a folder is named.
"""

from __future__ import annotations

import os
from pathlib import Path

from predictor.errors import DataNotFoundError

DATA_DIR_ENV = "PREDICTOR_DATA_DIR"
MODELS_DIR_ENV = "PREDICTOR_MODELS_DIR"

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir(required: bool = False) -> Path | None:
    """Return the third-party data directory, or None when there is none.

    Parameters
    ----------
    required : bool, default=False
        Raise :class:`DataNotFoundError` instead of returning None.
    """
    env = os.environ.get(DATA_DIR_ENV)
    candidate = Path(env).expanduser() if env else REPO_ROOT.parent / "shared" / "data"
    if candidate.is_dir():
        return candidate
    if required:
        where = f"${DATA_DIR_ENV}={env}" if env else str(candidate)
        raise DataNotFoundError(
            f"third-party data directory not found ({where}); set {DATA_DIR_ENV} to the folder "
            "that holds obelix/, liiondb/ and mp/"
        )
    return None


def data_file(*parts: str) -> Path:
    """Path of a file inside the data directory; raises DataNotFoundError when absent."""
    path = data_dir(required=True).joinpath(*parts)
    if not path.exists():
        raise DataNotFoundError(f"{path} not found in the data directory (${DATA_DIR_ENV})")
    return path


def models_dir() -> Path:
    """Directory of the shipped model artifacts (``models/`` or ``$PREDICTOR_MODELS_DIR``)."""
    env = os.environ.get(MODELS_DIR_ENV)
    return Path(env).expanduser() if env else REPO_ROOT / "models"


def datasets_dir() -> Path:
    """Directory of the project's curated datasets (``datasets/`` at the repository root)."""
    return REPO_ROOT / "datasets"


def trained_models_dir() -> Path:
    """Where ``predictor train`` writes models when no folder is named: ``models`` in the user's
    data folder (platformdirs; ``~/.local/share/predictor/models`` on Linux), never the shipped
    ``models/``."""
    from platformdirs import user_data_path

    return user_data_path("predictor") / "models"
