"""Safe saving and loading of model artifacts.

Artifacts are plain files only: LightGBM text models, JSON and NumPy ``.npz`` arrays read with
``allow_pickle=False``; nothing is unpickled. Each artifact folder carries a
``manifest.json`` with the SHA-256 of every file, the artifact kind, the format version, the
package and library versions and the feature labels; loading refuses a folder whose files are
missing or altered, or whose format version this package cannot read.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

from predictor.errors import ModelLoadError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
LIBRARIES = ("predictor", "lightgbm", "scikit-learn", "numpy", "pymatgen", "matminer", "torch")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_manifest(folder: Path, kind: str, files: list[str], **extra) -> dict:
    """Write ``manifest.json`` listing ``files`` (relative to ``folder``) with their hashes."""
    folder = Path(folder)
    manifest = {
        "kind": kind,
        "format_version": FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "files": {name: sha256(folder / name) for name in sorted(files)},
        **extra,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(folder: Path, kind: str) -> dict:
    """Read and verify the manifest of an artifact folder.

    Raises
    ------
    ModelLoadError
        When the folder or a listed file is missing, a hash differs, the kind is not ``kind``
        or the format version is not supported.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ModelLoadError(f"no model artifacts at {folder} ({MANIFEST} missing); run `predictor train`")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path} is not a readable manifest: {exc}") from None
    if manifest.get("kind") != kind:
        raise ModelLoadError(f"{folder} holds a {manifest.get('kind')!r} artifact, expected {kind!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(
            f"{folder} was written in artifact format {manifest.get('format_version')}, this version of "
            f"predictor reads format {FORMAT_VERSION}; retrain with `predictor train`"
        )
    for name, expected in manifest.get("files", {}).items():
        file = folder / name
        if not file.is_file():
            raise ModelLoadError(f"{file} is missing (listed in {MANIFEST})")
        if sha256(file) != expected:
            raise ModelLoadError(f"{file} does not match its hash in {MANIFEST}: corrupted or modified")
    return manifest


def read_estimator_settings(folder: Path, kind: str, class_name: str) -> tuple[dict, dict]:
    """The verified manifest and the ``estimator.json`` settings of a saved estimator of class ``class_name``.

    Raises
    ------
    ModelLoadError
        As :func:`read_manifest`, or when the folder holds an estimator of another class.
    """
    folder = Path(folder)
    manifest = read_manifest(folder, kind)
    settings = json.loads((folder / "estimator.json").read_text())
    if settings.get("class") != class_name:
        raise ModelLoadError(f"{folder} holds a {settings.get('class')}, not a {class_name}")
    return manifest, settings
