"""Safe saving and loading of model artifacts.

Artifacts are plain files only: LightGBM text models, JSON and NumPy ``.npz`` arrays read with
``allow_pickle=False``; nothing is unpickled. Each artifact folder carries a ``manifest.json``
with the SHA-256 of every file, the artifact kind, the format version, the package and library
versions and, for estimators, the feature labels.

Loading (:func:`read_manifest`) refuses a folder when

- the manifest is missing, is not a JSON object, lists no files, or names another kind;
- its format version is not :data:`FORMAT_VERSION`;
- a listed file is missing or its hash differs (corrupted or modified);
- the folder holds a file the manifest does not list (a stale or added file);
- a library in :data:`VERSION_CHECKS` had another major version when the artifact was
  written than the one installed. A different minor version only warns
  (:class:`ArtifactVersionWarning`): the formats of these libraries are stable within a major
  version.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
import shutil
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path, PurePosixPath

from predictor.errors import ModelLoadError

MANIFEST = "manifest.json"
#: Format 2: the manifest lists every file of its folder (format 1 listed only what it wrote).
FORMAT_VERSION = 2
LIBRARIES = ("predictor", "lightgbm", "scikit-learn", "numpy", "pymatgen", "matminer", "torch")
#: Libraries whose major version must match the installed one, per artifact kind.
VERSION_CHECKS = {
    "gbm-regressor": ("predictor", "lightgbm"),
    "graph-regressor": ("predictor", "torch"),
    "pretrained-weights": ("predictor", "torch"),
    "mlflow-pyfunc": ("predictor", "mlflow"),
}


class ArtifactVersionWarning(UserWarning):
    """An artifact written with another minor version of a library than the installed one."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def folder_files(folder: Path, exclude: tuple[str, ...] = ()) -> list[str]:
    """Every file under ``folder`` but the manifest (and a staging folder's owner file, removed
    before the folder is put in place), as sorted relative POSIX paths.

    Linked folders are not followed; ``exclude`` names sub-folders (relative paths) whose
    content is verified by their own manifests.
    """
    folder = Path(folder)
    names = []
    for root, dirs, files in os.walk(folder):
        relative = PurePosixPath(Path(root).relative_to(folder).as_posix())
        dirs[:] = [d for d in dirs if str(relative / d).removeprefix("./") not in exclude]
        for name in files:
            path = str(relative / name).removeprefix("./")
            if path not in (MANIFEST, STAGING_OWNER):
                names.append(path)
    return sorted(names)


def write_manifest(folder: Path, kind: str, files: list[str] | None = None, exclude: tuple[str, ...] = (),
                   **extra) -> dict:
    """Write ``manifest.json`` listing ``files`` (relative to ``folder``; default: all) with their hashes.

    Raises
    ------
    ValueError
        When the folder holds files that are not in ``files`` (left over from an earlier
        save): the manifest must list every file, so save into an empty folder.
    """
    folder = Path(folder)
    present = folder_files(folder, exclude)
    files = present if files is None else sorted(files)
    unlisted = sorted(set(present) - set(files))
    if unlisted:
        raise ValueError(f"{folder} holds files this save did not write ({', '.join(unlisted)}); save into an empty folder")
    if not files:
        raise ValueError(f"{folder}: no files to list in {MANIFEST}")
    manifest = {
        "kind": kind,
        "format_version": FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(LIBRARIES + VERSION_CHECKS.get(kind, ())),
        "files": {name: sha256(folder / name) for name in files},
        **({"excluded_folders": sorted(exclude)} if exclude else {}),
        **extra,
    }
    temporary = folder / f".{MANIFEST}.tmp"
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    temporary.replace(folder / MANIFEST)
    return manifest


def _major_minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)(?:\.(\d+))?", str(version))
    return (int(match.group(1)), int(match.group(2) or 0)) if match else None


def check_versions(manifest: dict, path: Path) -> None:
    """Compare the library versions an artifact was written with against the installed ones.

    A different major version of a library of :data:`VERSION_CHECKS` raises; a different
    minor version warns (:class:`ArtifactVersionWarning`).
    """
    recorded = manifest.get("versions")
    if not isinstance(recorded, dict) or "predictor" not in recorded:
        raise ModelLoadError(f"{path}: records no predictor version; retrain with `predictor train`")
    libraries = VERSION_CHECKS.get(manifest.get("kind"), ("predictor",))
    installed = library_versions(libraries)
    for name in libraries:
        if name not in recorded or name not in installed:
            continue
        then, now = _major_minor(recorded[name]), _major_minor(installed[name])
        if then is None:
            raise ModelLoadError(f"{path}: unreadable {name} version {recorded[name]!r}")
        if then[0] != now[0]:
            raise ModelLoadError(
                f"{path}: written with {name} {recorded[name]}, this environment has {installed[name]} "
                f"(another major version); retrain with `predictor train` or install {name} {then[0]}.x"
            )
        if then[1] != now[1]:
            warnings.warn(f"{path}: written with {name} {recorded[name]}, this environment has {installed[name]}",
                          ArtifactVersionWarning, stacklevel=3)


def _check_file_format(file: Path) -> None:
    """Refuse a listed file whose content cannot be of its type (named by its suffix)."""
    if file.suffix == ".json":
        try:
            json.loads(file.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"{file} is not valid JSON ({exc})") from None
    elif file.suffix in (".npz", ".pt") and not zipfile.is_zipfile(file):
        raise ModelLoadError(f"{file} is not a {file.suffix} archive (not a zip file)")


def read_manifest_json(folder: Path) -> dict:
    """The manifest of an artifact folder as written, before any check of its files.

    Raises
    ------
    ModelLoadError
        When it is missing or not a JSON object.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ModelLoadError(f"no model artifacts at {Path(folder)} ({MANIFEST} missing); run `predictor train`")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path} is not a readable manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise ModelLoadError(f"{path} is not a manifest: a JSON {type(manifest).__name__}, expected an object")
    return manifest


def read_manifest(folder: Path, kind: str, exclude: tuple[str, ...] = ()) -> dict:
    """Read and verify the manifest of an artifact folder (the rules are in the module docstring).

    Parameters
    ----------
    folder : Path
    kind : str
        The artifact kind expected, e.g. "gbm-regressor".
    exclude : tuple of str
        Sub-folders (relative paths) verified by their own manifests.

    Raises
    ------
    ModelLoadError
        Naming the file and the reason.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    manifest = read_manifest_json(folder)
    if manifest.get("kind") != kind:
        raise ModelLoadError(f"{folder} holds a {manifest.get('kind')!r} artifact, expected {kind!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(
            f"{folder} was written in artifact format {manifest.get('format_version')}, this version of "
            f"predictor reads format {FORMAT_VERSION}; retrain with `predictor train`"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ModelLoadError(f"{path} lists no files")
    for name, expected in files.items():
        if not isinstance(expected, str) or PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
            raise ModelLoadError(f"{path}: invalid entry {name!r}")
        file = folder / name
        if not file.is_file():
            raise ModelLoadError(f"{file} is missing (listed in {MANIFEST})")
        if sha256(file) != expected:
            raise ModelLoadError(f"{file} does not match its hash in {MANIFEST}: corrupted or modified")
        _check_file_format(file)
    unlisted = sorted(set(folder_files(folder, exclude)) - set(files))
    if unlisted:
        raise ModelLoadError(
            f"{folder / unlisted[0]} is not listed in {MANIFEST}"
            + (f" (nor are {len(unlisted) - 1} more files)" if len(unlisted) > 1 else "")
            + ": a model folder must hold exactly the files its manifest lists"
        )
    check_versions(manifest, path)
    return manifest


def read_estimator_settings(folder: Path, kind: str, class_name: str) -> tuple[dict, dict]:
    """The verified manifest and the ``estimator.json`` settings of a saved estimator of class ``class_name``.

    Raises
    ------
    ModelLoadError
        As :func:`read_manifest`, or when the folder holds an estimator of another class or
        settings without parameters.
    """
    folder = Path(folder)
    manifest = read_manifest(folder, kind)
    path = folder / "estimator.json"
    if "estimator.json" not in manifest["files"]:
        raise ModelLoadError(f"{path} is not listed in {MANIFEST}")
    settings = json.loads(path.read_text())
    if not isinstance(settings, dict) or not isinstance(settings.get("params"), dict):
        raise ModelLoadError(f"{path}: expected a JSON object with the estimator's 'params'")
    if settings.get("class") != class_name:
        raise ModelLoadError(f"{folder} holds a {settings.get('class')}, not a {class_name}")
    return manifest, settings


def load_estimator(estimator_class, folder: Path):
    """``estimator_class.load(folder)``, every failure as a :class:`ModelLoadError` naming the folder.

    The manifest checks name the file at fault; what they cannot catch (settings of the wrong
    shape, a LightGBM file its library refuses) is reported here with the reason.
    """
    import pickle

    import lightgbm

    folder = Path(folder)
    try:
        return estimator_class.load(folder)
    except ModelLoadError:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, RuntimeError, zipfile.BadZipFile,
            pickle.UnpicklingError, lightgbm.basic.LightGBMError) as exc:  # RuntimeError, Unpickling: torch.load
        raise ModelLoadError(f"{folder}: cannot load the saved {estimator_class.__name__} "
                             f"({type(exc).__name__}: {exc})") from None


#: The MLflow model folder (``models/mlflow_predictor``): its model parts are links verified by their own manifests.
PYFUNC_KIND = "mlflow-pyfunc"
PYFUNC_PARTS = ("artifacts/models",)
PYFUNC_CODE = "serving.py"


def write_pyfunc_manifest(folder: Path) -> dict:
    """Hash every file of an MLflow model folder (its code, ``MLmodel``, environment files)."""
    return write_manifest(folder, PYFUNC_KIND, exclude=PYFUNC_PARTS)


def check_pyfunc_folder(folder: Path) -> None:
    """Verify an MLflow model folder of the predictor before use.

    A folder with a ``manifest.json`` (``predictor train`` writes one) must match it in every
    file; a folder without one (a model logged to the MLflow registry) must carry exactly the
    serving code of the installed package. The model parts are verified when they load.

    Raises
    ------
    ModelLoadError
    """
    from importlib.util import find_spec

    folder = Path(folder)
    if (folder / MANIFEST).is_file():
        read_manifest(folder, PYFUNC_KIND, exclude=PYFUNC_PARTS)
        return
    code, installed = folder / PYFUNC_CODE, Path(find_spec("predictor.serving").origin)
    if not code.is_file() or sha256(code) != sha256(installed):
        raise ModelLoadError(f"{code} is not the serving code of the installed predictor package "
                             f"and {folder} has no {MANIFEST} to vouch for it")


PRETRAINED_KIND = "pretrained-weights"


def replace_folder(staging: Path, target: Path) -> None:
    """Put the complete ``staging`` folder in place of ``target``: the old folder is moved aside,
    the new one renamed in, then the old one removed."""
    if not target.exists():
        os.rename(staging, target)
        return
    aside = target.with_name(f"{target.name}.previous-{os.getpid()}")
    os.rename(target, aside)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(aside, target)
        raise
    shutil.rmtree(aside)


_LEFT_BEHIND = re.compile(r"^(?P<name>.+)\.(?P<kind>staging|previous)-(?P<pid>\d{1,9})$")
#: File in a staging folder naming the process that writes it (removed before the swap).
STAGING_OWNER = ".staging-owner.json"


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a folder with our own id was left by an earlier run (containers reuse ids)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process, or no way to tell: leave its folders alone
    return True


def left_by_interrupted_run(name: str) -> bool:
    """True for a name :func:`staged_replacement` gives its staging or set-aside folders."""
    return _LEFT_BEHIND.match(name) is not None


def _abandoned_staging(entry: Path, pid: int) -> bool:
    """True for a staging folder this machine's :func:`staged_replacement` wrote, whose process is gone."""
    try:
        owner = json.loads((entry / STAGING_OWNER).read_text())
    except (OSError, ValueError):
        return False  # not ours (or from a version that did not mark them): left to the user
    return owner.get("host") == platform.node() and owner.get("pid") == pid and not _process_alive(pid)


def recover_interrupted(folder: Path, names: set[str]) -> list[str]:
    """Tidy what a killed :func:`staged_replacement` of ``folder/<name>`` left behind.

    A process killed outright (SIGKILL, SIGTERM, power cut) cannot clean up. It may leave
    ``<name>.staging-<pid>``, its incomplete output: removed when it carries the owner file
    this function's counterpart writes (same machine, process gone). Killed between the two
    renames of :func:`replace_folder`, it leaves ``<name>.previous-<pid>``, the old folder, and
    no ``<name>``: the old folder is put back. Nothing else is touched, and nothing is deleted
    that is not a marked staging folder (a ``.previous-`` beside an existing ``<name>`` stays
    for the user to check). Returns what was done, one line each.
    """
    done = []
    folder = Path(folder)
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        match = _LEFT_BEHIND.match(entry.name)
        if not match or match["name"] not in names or entry.is_symlink() or not entry.is_dir():
            continue
        target, pid = entry.with_name(match["name"]), int(match["pid"])
        if match["kind"] == "staging" and _abandoned_staging(entry, pid):
            shutil.rmtree(entry)
            done.append(f"removed {entry}, the incomplete output of an interrupted run")
        elif match["kind"] == "previous" and not target.exists() and not _process_alive(pid):
            os.rename(entry, target)
            done.append(f"restored {target} from {entry.name}, set aside by an interrupted run")
    return done


@contextmanager
def staged_replacement(target: Path) -> Iterator[Path]:
    """A staging folder ``<target>.staging-<pid>`` beside ``target`` to write into.

    When the block completes, the staging folder replaces ``target`` (:func:`replace_folder`);
    when it raises (or is interrupted), the staging folder is removed and ``target`` is untouched.
    What a killed run left beside ``target`` is tidied first (:func:`recover_interrupted`).
    """
    for line in recover_interrupted(target.parent, {target.name}):
        warnings.warn(line, stacklevel=3)
    staging = target.with_name(f"{target.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    owner = staging / STAGING_OWNER
    owner.write_text(json.dumps({"pid": os.getpid(), "host": platform.node()}))
    try:
        yield staging
        owner.unlink()
        replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
