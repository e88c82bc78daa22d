"""The documentation: the site builds without a warning (a broken link or a stale API name fails),
and the README stays a front door whose links lead somewhere."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from predictor.paths import REPO_ROOT

README = REPO_ROOT / "README.md"


def test_readme_is_a_front_door_whose_links_exist():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert links, "the README links into the documentation"
    missing = [link for link in links if not link.startswith("http") and not (REPO_ROOT / link).exists()]
    assert not missing


def test_site_builds_strictly(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("Predictor", "ConductivityRegressor", "WindowRegressor", "HalideFeaturizer", "MagpieFeaturizer"):
        assert name in api
    assert "Parameters" in api  # the docstrings themselves, not only the names


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), re.S)


def test_readme_python_example_runs():
    (example,) = _blocks("python")
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    assert list(namespace["table"]["formula"]) == ["Li3YCl6", "Li2.5Y0.5Zr0.5Cl6"]
    assert namespace["table"]["log10_sigma"].notna().all()


def test_readme_prediction_prints_what_the_readme_shows(monkeypatch, capsys):
    from predictor.interfaces.cli import main

    shown = next(block for block in _blocks("console") if block.startswith("$ predictor predict"))
    command, *expected = shown.splitlines()
    monkeypatch.setenv("COLUMNS", "80")
    main(command.removeprefix("$ predictor ").split())
    printed = capsys.readouterr().out.splitlines()
    assert printed[:len(expected)] == expected


def test_readme_lab_example_runs(tmp_path, monkeypatch, capsys):
    """The measurements shown, used as the README says with --measured (train --labels is run on a
    fixture by tests/test_fault_injection.py::test_train_with_a_labs_csv_in_one_command)."""
    from predictor.interfaces.cli import main

    (block,) = [b for b in _blocks("console") if "$ cat my_lab.csv" in b]
    lines = block.splitlines()
    table = lines[1:lines.index(next(line for line in lines[1:] if line.startswith("$ ")))]
    (tmp_path / "my_lab.csv").write_text("\n".join(table) + "\n")
    monkeypatch.chdir(tmp_path)
    command = next(line for line in lines if line.startswith("$ predictor predict --measured"))
    arguments = command.split("#")[0].removeprefix("$ predictor ").split()
    assert main([*arguments, "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["formula"] == "Li2.7Y0.7Zr0.3Cl6" and row["log10_sigma"] is not None
