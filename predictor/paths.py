"""Where the package finds third-party data, shipped models and curated datasets.

Third-party data sets (OBELiX, the Liverpool ionics database, the Materials Project table)
are never copied into the repository. They are read from a data directory:

1. the environment variable ``PREDICTOR_DATA_DIR`` when it is set;
2. otherwise ``../shared/data`` beside the repository checkout, when it exists.

The shipped models live in ``models/`` and the curated datasets in ``datasets/`` at the
repository root; ``PREDICTOR_MODELS_DIR`` overrides the former. A checkout (an editable install,
``pip install -e .``) reads them there. A wheel (``pip install .``) carries copies of what the
package reads in ``predictor/_shipped/models`` and ``predictor/_shipped/datasets`` (the
``[tool.setuptools.package-data]`` of ``pyproject.toml``), read when the package does not lie in
a checkout. Retrained models go to the user's data folder (:func:`trained_models_dir`) unless a
folder is named.
"""

from __future__ import annotations

import os
from pathlib import Path

from predictor.errors import DataNotFoundError

DATA_DIR_ENV = "PREDICTOR_DATA_DIR"
MODELS_DIR_ENV = "PREDICTOR_MODELS_DIR"

PACKAGE_DIR = Path(__file__).resolve().parent
#: The checkout the package lies in (an editable install); for an installed wheel, its site-packages.
REPO_ROOT = PACKAGE_DIR.parent
#: Where a wheel puts the shipped models and curated datasets (absent from a checkout).
SHIPPED_DIR = PACKAGE_DIR / "_shipped"


def in_checkout() -> bool:
    """Whether the package lies in a checkout of the repository (``pyproject.toml`` beside it)."""
    return (REPO_ROOT / "pyproject.toml").is_file()


def _shipped(name: str) -> Path:
    """``name`` (``models`` or ``datasets``) of the checkout, else the installed package's copy.

    The checkout's folder when the package lies in one, or when the package carries no copy
    (then the error of a missing file names the folder of the checkout).
    """
    checkout, installed = REPO_ROOT / name, SHIPPED_DIR / name
    if in_checkout() or not installed.is_dir():
        return checkout
    return installed


def data_root() -> Path:
    """The third-party data directory, whether it exists or not: ``$PREDICTOR_DATA_DIR``, else
    ``../shared/data`` beside a checkout, else ``data`` in the user's data folder (an installed
    package: ``~/.local/share/predictor/data`` on Linux)."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    if in_checkout():
        return REPO_ROOT.parent / "shared" / "data"
    from platformdirs import user_data_path

    return user_data_path("predictor") / "data"


def data_dir(required: bool = False) -> Path | None:
    """Return the third-party data directory (:func:`data_root`), or None when it does not exist.

    Parameters
    ----------
    required : bool, default=False
        Raise :class:`DataNotFoundError` instead of returning None.
    """
    env = os.environ.get(DATA_DIR_ENV)
    candidate = data_root()
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
    """Directory of the shipped model artifacts: ``$PREDICTOR_MODELS_DIR``, else ``models/`` of the
    checkout, else the installed package's copy (``predictor/_shipped/models``)."""
    env = os.environ.get(MODELS_DIR_ENV)
    return Path(env).expanduser() if env else _shipped("models")


def datasets_dir() -> Path:
    """Directory of the project's curated datasets: ``datasets/`` of the checkout, else the
    installed package's copy (``predictor/_shipped/datasets``)."""
    return _shipped("datasets")


def trained_models_dir() -> Path:
    """Where ``predictor train`` writes models when no folder is named: ``models`` in the user's
    data folder (platformdirs; ``~/.local/share/predictor/models`` on Linux), never the shipped
    ``models/``."""
    from platformdirs import user_data_path

    return user_data_path("predictor") / "models"
