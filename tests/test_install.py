"""The package installs like a package: a wheel (``pip install .``) predicts with the shipped models.

The wheel carries copies of the model parts and curated datasets (``[tool.setuptools.package-data]``
of ``pyproject.toml``) in ``predictor/_shipped``; :mod:`predictor.paths` reads them when the package
does not lie in a checkout.

How the wheel is tested without downloading anything and without the editable checkout leaking in:

- it is built offline (``--no-build-isolation --no-index``, the current environment's setuptools)
  from a copy of the working tree, as a fresh clone would build it (no stale ``build/`` folder of
  the checkout, nothing written into the checkout);
- it is installed into a new virtual environment created without pip (``pip --python`` installs
  into it) and without ``--system-site-packages``: that option would add the *base* interpreter's
  site-packages, not the current environment's, which holds the dependencies;
- once the wheel is in, a ``.pth`` file of that environment appends the current environment's
  site-packages to ``sys.path`` for the dependencies. A directory added by a ``.pth`` line is not
  scanned for ``.pth`` files, so the editable install's ``__editable__*.pth`` (which installs the
  finder mapping ``predictor`` to the checkout) never runs; the new environment's own
  site-packages comes first on ``sys.path``, and the commands run from a temporary folder. The
  test checks that ``predictor`` is imported from the new environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: Folders of the working tree a wheel is built from (plus its top-level files: pyproject.toml, README.md, ...).
SOURCE_FOLDERS = ("predictor", "models", "datasets")
#: Files of models/ that must never be in a wheel: out-of-fold predictions hold third-party labels.
NEVER_SHIPPED = re.compile(r"_cv_predictions\.csv$")


def _run(command: list[str], **options) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **options)
    assert result.returncode == 0, f"{' '.join(map(str, command))} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def copy_source(source: Path, target: Path) -> Path:
    """The working tree's top-level files and :data:`SOURCE_FOLDERS`, links kept as links (as a clone has them)."""
    target.mkdir()
    for entry in source.iterdir():
        if entry.is_file() and not entry.name.startswith("."):
            shutil.copy2(entry, target / entry.name)
    for name in SOURCE_FOLDERS:
        shutil.copytree(source / name, target / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    return target


def build_wheel(source: Path, output: Path) -> Path:
    """``pip wheel`` of ``source``, offline, with the current environment's setuptools."""
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "--disable-pip-version-check", "-q", "-w", str(output), str(source)])
    (wheel,) = output.glob("predictor-*.whl")
    return wheel


def install_wheel(wheel: Path, venv: Path) -> Path:
    """A new virtual environment holding ``wheel``, seeing the current environment's dependencies; its python."""
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--force-reinstall",
          "--no-index", "--disable-pip-version-check", "-q", str(wheel)])
    # after the install, so that pip never sees the editable install of the current environment
    site_packages = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    ours = dict.fromkeys(sysconfig.get_path(kind) for kind in ("purelib", "platlib"))
    (site_packages / "_test_install_dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    return python


def clean_environment(venv: Path) -> dict[str, str]:
    """The environment of the commands: the new virtual environment first on PATH, no variable pointing at the checkout."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PREDICTOR_MODELS_DIR", "PYTHONSTARTUP")}
    env["PATH"] = os.pathsep.join([str(venv / ("Scripts" if os.name == "nt" else "bin")), env.get("PATH", "")])
    env["VIRTUAL_ENV"] = str(venv)
    return env


def test_pyproject_lists_every_code_package():
    """``pyproject.toml`` lists the packages (it maps the shipped data too, so no ``packages.find``)."""
    settings = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = {name for name in settings["packages"] if not name.startswith("predictor._shipped.")}
    folders = {".".join(path.parent.relative_to(REPO).parts) for path in (REPO / "predictor").rglob("*.py")
               if "__pycache__" not in path.parts}
    assert listed == folders
    assert settings["package-dir"] == {"predictor._shipped.models": "models",
                                       "predictor._shipped.datasets": "datasets"}


@pytest.mark.slow
def test_wheel_predicts_outside_the_checkout(tmp_path):
    source = copy_source(REPO, tmp_path / "source")
    wheel = build_wheel(source, tmp_path / "wheel")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = [name for name in names if name.startswith("predictor/_shipped/")]
    assert "predictor/_shipped/models/families.json" in shipped, "the wheel ships no models"
    assert "predictor/_shipped/datasets/halide_conductivity.csv" in shipped
    assert not [name for name in shipped if NEVER_SHIPPED.search(name)]
    assert wheel.stat().st_size < 25e6, "the wheel carries a second copy of the models?"

    venv = tmp_path / "venv"
    python = install_wheel(wheel, venv)
    work = tmp_path / "work"
    work.mkdir()
    env = clean_environment(venv)

    where = _run([str(python), "-c", "import predictor, predictor.paths as p; "
                  "print(predictor.__file__); print(p.models_dir()); print(p.datasets_dir())"],
                 cwd=work, env=env).stdout.split("\n")[:3]
    for path in map(Path, where):
        assert path.resolve().is_relative_to(venv.resolve()), f"{path} is not in the installed package"
        assert not path.resolve().is_relative_to(REPO), f"{path} is in the checkout"
        assert path.exists()

    script = venv / ("Scripts/predictor.exe" if os.name == "nt" else "bin/predictor")
    result = _run([str(script), "predict", "Li3YCl6"], cwd=work, env=env)
    row = next((line for line in result.stdout.splitlines() if line.startswith("Li3YCl6")), None)
    assert row is not None and re.search(r"\d\.\de-0\d", row), result.stdout + result.stderr

    # the MLflow model that `predictor serve` serves by default is built from the installed models
    _run([str(python), "-c", "from predictor.interfaces.serving import save_model; "
          "from predictor.paths import models_dir; import mlflow.pyfunc as p; "
          "m = p.load_model(str(save_model(models_dir(), 'mlflow_model'))); "
          "import pandas as pd; t = m.predict(pd.DataFrame({'formula': ['Li3YCl6']})); "
          "assert t.loc[0, 'error'] == '' and t.loc[0, 'log10_sigma'] < 0, t"], cwd=work, env=env)
    assert (work / "mlflow_model" / "MLmodel").is_file()
