"""Safe saving and loading of model artifacts.

Artifacts are plain files only: LightGBM text models, JSON and NumPy ``.npz`` arrays read with
``allow_pickle=False``; nothing is unpickled. Each artifact folder carries a ``manifest.json``
with the SHA-256 of every file, the artifact kind, the format version, the package and library
versions and, for estimators, the feature labels.

Loading (:func:`read_manifest`) refuses a folder when

- the manifest is missing or is not a JSON object;
- its format version is not :data:`FORMAT_VERSION` (a folder written by an older version: retrain);
- it lists no files, or names another kind;
- it names another property or target than the loader expects where it loads the folder
  (``property``: the part of a model folder, e.g. "windows"; ``target``: e.g.
  "reduction_limit_V"; :func:`predictor.model_layout.part_holds`), so that a folder moved or
  copied to the wrong place is refused;
- a JSON file is malformed or nested too deep to parse (:func:`read_json`);
- a listed file is missing or its hash differs (corrupted or modified);
- the folder holds a file the manifest does not list (a stale or added file). Hidden files
  (``.DS_Store``, the ``.<name>.part`` and ``.tmp`` temporaries of an interrupted write, a staging
  folder's owner file) are neither listed nor refused: nothing reads them;
- a library in :data:`VERSION_CHECKS` had another major version when the artifact was
  written than the one installed. A different minor version only warns
  (:class:`ArtifactVersionWarning`): the formats of these libraries are stable within a major
  version.

A model folder's own ``manifest.json`` covers its top-level files, ``families.json`` first
(:func:`write_folder_manifest`, :func:`check_model_folder`): whatever in the package rewrites one
(training, ``python -m predictor.training.model_card``) writes that manifest anew. The numbers the loaders read
(arrays of ``.npz`` files, numbers of JSON settings) must be finite and of the expected shape
(:func:`finite_array`).
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
from predictor.model_layout import PYFUNC_DATA, PYFUNC_LOADER

#: The loader module of the MLflow models of earlier versions (committed in models/, or logged by training).
LEGACY_PYFUNC_LOADER = "predictor.serving"

MANIFEST = "manifest.json"
#: Format 3: a model part's manifest names its ``property`` and ``target``, a model folder has a manifest of
#: its top-level files (format 2: the manifest lists every file of its folder; format 1 only what it wrote).
FORMAT_VERSION = 3
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
    """Every file under ``folder`` but the manifest and hidden files, as sorted relative POSIX paths.

    Hidden files and folders (``.DS_Store``, the ``.<name>.part`` or ``.tmp`` temporaries of an
    interrupted write, a staging folder's owner file) are left out: no loader reads them. Linked
    folders are not followed; ``exclude`` names sub-folders (relative paths) whose content is
    verified by their own manifests, or files left out.
    """
    folder = Path(folder)
    names = []
    for root, dirs, files in os.walk(folder):
        relative = PurePosixPath(Path(root).relative_to(folder).as_posix())
        dirs[:] = [d for d in dirs if not d.startswith(".") and str(relative / d).removeprefix("./") not in exclude]
        for name in files:
            path = str(relative / name).removeprefix("./")
            if not name.startswith(".") and path != MANIFEST and path not in exclude:
                names.append(path)
    return sorted(names)


def write_manifest(folder: Path, kind: str, files: list[str] | None = None, exclude: tuple[str, ...] = (),
                   holds: tuple[str, str] | None = None, **extra) -> dict:
    """Write ``manifest.json`` listing ``files`` (relative to ``folder``; default: all) with their hashes.

    ``holds``: what a model part holds, ``(property, target)`` as
    :func:`predictor.model_layout.part_holds` gives it (e.g. ``("windows", "reduction_limit_V")``),
    recorded as ``property`` and ``target`` and checked where the part is loaded
    (:func:`read_manifest`'s ``expected``). ``extra`` is recorded as given.

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
        **({"property": holds[0], "target": holds[1]} if holds else {}),
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
        read_json(file, allow_nan=True)
    elif file.suffix in (".npz", ".pt") and not zipfile.is_zipfile(file):
        raise ModelLoadError(f"{file} is not a {file.suffix} archive (not a zip file)")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number a model file may hold")


def read_json(path: Path, what: str = "valid JSON", allow_nan: bool = False):
    """The content of a JSON file of a model folder, every failure a :class:`ModelLoadError` naming the file.

    Refused: unreadable or undecodable files, malformed JSON, nesting too deep for Python's
    parser (a RecursionError) and, unless ``allow_nan``, the non-standard constants NaN and
    Infinity (the numbers of a model are finite).
    """
    path = Path(path)
    try:
        return json.loads(path.read_text(), parse_constant=None if allow_nan else _refuse_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise ModelLoadError(f"{path} is not {what} ({type(exc).__name__}: {exc})") from None


def _check_expected(folder: Path, manifest: dict, expected: tuple[str, str]) -> None:
    """Refuse a model part whose manifest names another ``(property, target)`` than ``expected``.

    The loader knows what it expects from where in the model folder it loads (the reduction
    limit from ``windows/reduction_limit_V``); a folder moved, swapped or copied elsewhere
    names what it really holds, and is refused with both.
    """
    recorded = (manifest.get("property"), manifest.get("target"))
    if recorded != tuple(expected):
        found = ("no property and target" if recorded == (None, None)
                 else f"property {recorded[0]!r}, target {recorded[1]!r}")
        raise ModelLoadError(f"{Path(folder) / MANIFEST} names {found}, expected property {expected[0]!r}, "
                             f"target {expected[1]!r} where it is loaded: a model folder in the wrong place")


def read_manifest_json(folder: Path) -> dict:
    """The manifest of an artifact folder as written, of format :data:`FORMAT_VERSION`, before any check of its files.

    Raises
    ------
    ModelLoadError
        When it is missing, not a JSON object or of another format (written by another version
        of predictor: one line saying to retrain, or to upgrade).
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ModelLoadError(f"no model artifacts at {Path(folder)} ({MANIFEST} missing); run `predictor train`")
    manifest = read_json(path, what="a readable manifest")
    if not isinstance(manifest, dict):
        raise ModelLoadError(f"{path} is not a manifest: a JSON {type(manifest).__name__}, expected an object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise ModelLoadError(f"{Path(folder)} was written by {'a newer' if newer else 'an older'} version of predictor "
                             f"(artifact format {version}, this version reads format {FORMAT_VERSION}): "
                             + ("upgrade predictor" if newer else "retrain with `predictor train`"))
    return manifest


def read_manifest(folder: Path, kind: str, exclude: tuple[str, ...] = (), expected: tuple[str, str] | None = None,
                  required: tuple[str, ...] | None = None, skip: tuple[str, ...] = ()) -> dict:
    """Read and verify the manifest of an artifact folder (the rules are in the module docstring).

    Parameters
    ----------
    folder : Path
    kind : str
        The artifact kind expected, e.g. "gbm-regressor".
    exclude : tuple of str
        Sub-folders (relative paths) verified by their own manifests.
    expected : (str, str), optional
        The ``(property, target)`` the folder must hold where it is loaded
        (:func:`predictor.model_layout.part_holds`).
    required : tuple of str, optional
        The listed files that must be there; other listed files may be absent (and are verified
        when present). Default: every listed file.
    skip : tuple of str
        Files not verified, whether listed or not: those about to be rewritten.

    Raises
    ------
    ModelLoadError
        Naming the file and the reason.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    manifest = read_manifest_json(folder)
    if manifest.get("kind") != kind:
        raise ModelLoadError(f"{path} is the manifest of a {manifest.get('kind')!r} artifact, expected {kind!r}")
    if expected is not None:
        _check_expected(folder, manifest, expected)
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ModelLoadError(f"{path} lists no files")
    for name, digest in files.items():
        if not isinstance(digest, str) or PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
            raise ModelLoadError(f"{path}: invalid entry {name!r}")
        file = folder / name
        if name in skip or (not file.is_file() and required is not None and name not in required):
            continue
        if not file.is_file():
            raise ModelLoadError(f"{file} is missing (listed in {MANIFEST})")
        if sha256(file) != digest:
            raise ModelLoadError(f"{file} does not match its hash in {MANIFEST}: corrupted or modified")
        _check_file_format(file)
    unlisted = sorted(set(folder_files(folder, exclude)) - set(files) - set(skip))
    if unlisted:
        raise ModelLoadError(
            f"{folder / unlisted[0]} is not listed in {MANIFEST}"
            + (f" (nor are {len(unlisted) - 1} more files)" if len(unlisted) > 1 else "")
            + ": a model folder must hold exactly the files its manifest lists"
        )
    check_versions(manifest, path)
    return manifest


def read_estimator_settings(folder: Path, kind: str, class_name: str,
                            expected: tuple[str, str] | None = None) -> tuple[dict, dict]:
    """The verified manifest and the ``estimator.json`` settings of a saved estimator of class ``class_name``
    (holding ``expected``, when given: :func:`read_manifest`).

    Raises
    ------
    ModelLoadError
        As :func:`read_manifest`, or when the folder holds an estimator of another class or
        settings without parameters.
    """
    folder = Path(folder)
    manifest = read_manifest(folder, kind, expected=expected)
    path = folder / "estimator.json"
    if "estimator.json" not in manifest["files"]:
        raise ModelLoadError(f"{path} is not listed in {MANIFEST}")
    settings = read_json(path, what="the settings of an estimator")
    if not isinstance(settings, dict) or not isinstance(settings.get("params"), dict):
        raise ModelLoadError(f"{path}: expected a JSON object with the estimator's 'params'")
    if settings.get("class") != class_name:
        raise ModelLoadError(f"{folder} holds a {settings.get('class')}, not a {class_name}")
    return manifest, settings


def load_estimator(estimator_class, folder: Path, **options):
    """``estimator_class.load(folder, **options)``, every failure as a :class:`ModelLoadError` naming the folder.

    The manifest checks name the file at fault; what they cannot catch (settings of the wrong
    shape, a LightGBM file its library refuses) is reported here with the reason.
    """
    import pickle

    import lightgbm

    folder = Path(folder)
    try:
        return estimator_class.load(folder, **options)
    except ModelLoadError:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, RuntimeError, zipfile.BadZipFile,
            pickle.UnpicklingError, lightgbm.basic.LightGBMError) as exc:  # RuntimeError, Unpickling: torch.load
        raise ModelLoadError(f"{folder}: cannot load the saved {estimator_class.__name__} "
                             f"({type(exc).__name__}: {exc})") from None


#: An MLflow model folder of the predictor (:func:`predictor.interfaces.serving.save_model`): data only. Its model
#: parts (:data:`PYFUNC_DATA`) are copies verified by their own manifests when they load; the only code it may
#: name is :data:`PYFUNC_LOADER`, the loader module of the installed package.
PYFUNC_KIND = "mlflow-pyfunc"
#: Python code, compiled code and pickles (run when loaded): an MLflow model folder of the predictor holds none.
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyw", ".pyd", ".pyz", ".so", ".pth", ".ipynb", ".pkl", ".pickle",
                 ".cloudpickle", ".joblib")
#: Settings of MLmodel's ``python_function`` flavor that make MLflow import or run something else.
PYFUNC_CODE_SETTINGS = ("code", "code_paths", "model_code_path", "python_model", "cloudpickle_version",
                        "model_config", "predict_stream_fn")


def write_pyfunc_manifest(folder: Path) -> dict:
    """Hash every file of an MLflow model folder (``MLmodel``, environment files, input example)."""
    return write_manifest(folder, PYFUNC_KIND, exclude=(PYFUNC_DATA,))


def read_pyfunc_settings(folder: Path) -> dict:
    """The ``python_function`` settings of an MLflow model folder's ``MLmodel`` (YAML), as written.

    Raises
    ------
    ModelLoadError
        When ``MLmodel`` is missing, is not readable YAML or has no ``python_function`` flavor.
    """
    import yaml

    path = Path(folder) / "MLmodel"
    if not path.is_file():
        raise ModelLoadError(f"{path} is missing: {Path(folder)} is not an MLflow model folder")
    try:
        mlmodel = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ModelLoadError(f"{path} is not readable YAML ({exc})") from None
    flavors = mlmodel.get("flavors") if isinstance(mlmodel, dict) else None
    settings = flavors.get("python_function") if isinstance(flavors, dict) else None
    if not isinstance(settings, dict):
        raise ModelLoadError(f"{path} has no python_function flavor")
    return settings


def check_pyfunc_holds_no_code(folder: Path) -> None:
    """Refuse an MLflow model folder that would make MLflow run anything but the installed package.

    Its ``MLmodel`` must name :data:`PYFUNC_LOADER` as loader module and none of
    :data:`PYFUNC_CODE_SETTINGS` (``code`` puts a folder first on Python's path, ``model_code_path``
    runs a file, ``python_model`` and ``cloudpickle_version`` unpickle an object); its data must be
    a path inside the folder; and no file of the folder may be Python code or a pickle
    (:data:`CODE_SUFFIXES`; the model parts' own manifests list their files).

    Raises
    ------
    ModelLoadError
        Naming the file or setting and the reason.
    """
    folder = Path(folder)
    settings = read_pyfunc_settings(folder)
    mlmodel = folder / "MLmodel"
    if settings.get("loader_module") == LEGACY_PYFUNC_LOADER:
        raise ModelLoadError(f"{mlmodel}: an MLflow model written by an earlier version of predictor (loader module "
                             f"{LEGACY_PYFUNC_LOADER!r}); build it again from its model folder "
                             "(predictor.interfaces.serving.save_model), or serve the model folder: predictor serve --models DIR")
    if settings.get("loader_module") != PYFUNC_LOADER:
        raise ModelLoadError(f"{mlmodel} names loader module {settings.get('loader_module')!r}, expected "
                             f"{PYFUNC_LOADER!r}: the predictor's MLflow model runs only the installed package")
    named = [key for key in PYFUNC_CODE_SETTINGS if settings.get(key) not in (None, "", [], {})]
    if settings.get("predict_fn", "predict") != "predict":
        named.append("predict_fn")
    if named:
        raise ModelLoadError(f"{mlmodel} sets {', '.join(named)}: an MLflow model of the predictor carries "
                             "data, never code")
    data = settings.get("data")
    if not isinstance(data, str) or PurePosixPath(data).is_absolute() or ".." in PurePosixPath(data).parts:
        raise ModelLoadError(f"{mlmodel}: data {data!r} is not a path inside the model folder")
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            if name == "__pycache__" or Path(name).suffix.lower() in CODE_SUFFIXES:
                raise ModelLoadError(f"{Path(root) / name} is code: an MLflow model of the predictor carries "
                                     "data, never code")


def check_pyfunc_folder(folder: Path) -> None:
    """Verify an MLflow model folder of the predictor before use.

    A folder with a ``manifest.json`` (:func:`predictor.interfaces.serving.save_model` writes one) must match it in every
    file; a folder without one (a model logged to the MLflow registry) is checked for its
    structure only. Either must hold no code (:func:`check_pyfunc_holds_no_code`). The model
    parts are verified when they load.

    Raises
    ------
    ModelLoadError
    """
    folder = Path(folder)
    if (folder / MANIFEST).is_file():
        read_manifest(folder, PYFUNC_KIND, exclude=(PYFUNC_DATA,))
    check_pyfunc_holds_no_code(folder)


PRETRAINED_KIND = "pretrained-weights"

#: The manifest of a model folder itself (``models/manifest.json``): its top-level files.
FOLDER_KIND = "model-folder"


def _subfolders(folder: Path) -> tuple[str, ...]:
    """The sub-folders of a model folder (links to folders too): each carries its own manifest."""
    return tuple(sorted(p.name for p in Path(folder).iterdir() if p.is_dir()))


def write_folder_manifest(folder: Path) -> dict:
    """Hash the top-level files of a model folder (``families.json``, ``metrics.json``, the model card,
    the CSV files of predictions; not hidden files); each sub-folder carries its own manifest.

    Whatever rewrites a top-level file of a model folder calls this after it (training,
    :func:`predictor.training.model_card.main`).
    """
    return write_manifest(folder, FOLDER_KIND, exclude=_subfolders(folder))


def check_model_folder(folder: Path, read: tuple[str, ...], skip: tuple[str, ...] = ()) -> None:
    """Verify the top-level files of a model folder against its ``manifest.json`` (:func:`write_folder_manifest`).

    :func:`read_manifest` of the folder without its sub-folders. ``read`` names the top-level
    files predictions read (``families.json``): listed, they must be there. The other listed
    files (the training report, the model card, out-of-fold predictions, which are not
    committed) may be absent, as in the MLflow model's copy of the model parts. Every listed
    file present must match its hash, and the folder may hold no unlisted top-level file but
    hidden ones. ``skip``: files not verified (about to be rewritten). A folder of model
    parts alone (no top-level file) needs no manifest.

    Raises
    ------
    ModelLoadError
        Naming the file and the reason.
    """
    folder = Path(folder)
    subfolders = _subfolders(folder)
    if not (folder / MANIFEST).is_file():
        present = folder_files(folder, subfolders)
        if present:
            raise ModelLoadError(f"{folder / present[0]} is not covered by a {MANIFEST} beside it (the top-level "
                                 "files of a model folder are verified like its parts); retrain with `predictor train`")
        return
    read_manifest(folder, FOLDER_KIND, exclude=subfolders, required=read, skip=skip)


def _holds_bool(values) -> bool:
    """True when a (nested) list of JSON values holds true or false, which numpy reads as 1.0 and 0.0 beside numbers."""
    return isinstance(values, bool) or (isinstance(values, (list, tuple)) and any(map(_holds_bool, values)))


def finite_array(values, file: Path, name: str, shape: tuple | None = None):
    """``values`` as a float array, refused unless every number is finite and (when given) of ``shape``.

    ``shape`` may hold None for a free dimension. Every failure is a :class:`ModelLoadError`
    naming the file and the array.
    """
    import numpy

    try:
        array = numpy.asarray(values)
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"{file}: {name} is not an array of numbers ({exc})") from None
    if array.dtype.kind not in "iuf" or _holds_bool(values):  # text ("0.5"), true, None: float() takes them
        kind = array.dtype.kind
        held = "text" if kind in "US" else "true or false" if kind in "biuf" else "values that are not numbers"
        raise ModelLoadError(f"{file}: {name} is not an array of numbers (it holds {held})")
    array = array.astype(float)
    if shape is not None and (array.ndim != len(shape)
                              or any(want is not None and got != want for got, want in zip(array.shape, shape))):
        wanted = "(" + ", ".join("n" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ModelLoadError(f"{file}: {name} has shape {array.shape}, expected {wanted}")
    if not numpy.isfinite(array).all():
        raise ModelLoadError(f"{file}: {name} holds {int((~numpy.isfinite(array)).sum())} values that are not "
                             "finite numbers (NaN or infinite)")
    return array


def finite_state_dict(state, file: Path) -> dict:
    """A PyTorch state_dict read from ``file`` (``torch.load(weights_only=True)``), refused unless it is a
    dict whose floating-point tensors hold finite numbers only.

    Raises
    ------
    ModelLoadError
        Naming the file and the tensor.
    """
    import torch

    if not isinstance(state, dict):
        raise ModelLoadError(f"{file} holds a {type(state).__name__}, not the state of a network")
    for key, tensor in state.items():
        if torch.is_tensor(tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelLoadError(f"{file}: {key} holds values that are not finite numbers (NaN or infinite)")
    return state


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
#: File in a staging folder naming the process that writes it and its :func:`machine_tag` (removed before the swap).
STAGING_OWNER = ".staging-owner.json"


def machine_tag() -> str:
    """A short tag of this machine (8 hex digits of its name): a process id means something on its machine
    only, so what a run leaves behind names both, and only this machine's are tidied."""
    return hashlib.sha256(platform.node().encode()).hexdigest()[:8]


def process_alive(pid: int) -> bool:
    """False when process ``pid`` of this machine has ended (or is this process), so what it left may go."""
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
    return owner.get("host") == machine_tag() and owner.get("pid") == pid and not process_alive(pid)


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
        elif match["kind"] == "previous" and not target.exists() and not process_alive(pid):
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
    owner.write_text(json.dumps({"pid": os.getpid(), "host": machine_tag()}))
    try:
        yield staging
        owner.unlink()
        replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
