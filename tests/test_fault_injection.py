"""Fault injection (issue 11): interrupted training, tampered artifacts, odd inputs, serving JSON.

Every test builds its own small models in a temporary folder, so nothing here reads or alters
the shipped ``models/``.
"""

from __future__ import annotations

import filecmp
import hashlib
import io
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_SET

from predictor import ConductivityRegressor
from predictor.artifacts import (STAGING_OWNER, ArtifactVersionWarning, check_pyfunc_folder, machine_tag, read_manifest,
                                 write_folder_manifest, write_manifest)
from predictor.composition import parse_formula
from predictor.errors import CompositionError, FewerSourcesError, ModelLoadError
from predictor.estimators import WindowRegressor
from predictor.loaders.combined import LabelledData, annotate
from predictor.prediction.measured import MeasuredValues
from predictor.paths import REPO_ROOT, models_dir
from predictor.predictor import Predictor
from predictor.training.report import DataSummary, TrainingReport

TINY = {"n_members": 2, "n_estimators": 20, "calibration_folds": 3, "random_state": 0, "n_jobs": 1}
CARRIER_SET = [(f, y) for f, y in SMALL_SET if "Li" in f or "Na" in f]


def _windows(formulas):
    rng = np.random.default_rng(0)
    reduction = 0.5 + rng.normal(0, 0.3, len(formulas))
    return reduction, reduction + 3.0 + rng.normal(0, 0.3, len(formulas))


def _fit_models(folder: Path) -> Path:
    formulas, targets = map(list, zip(*CARRIER_SET))
    ConductivityRegressor(**TINY).fit(formulas, targets).save(folder / "conductivity")
    WindowRegressor(limit_params=TINY).fit(formulas, np.column_stack(_windows(formulas))).save(folder / "windows")
    MeasuredValues(pd.DataFrame({"formula": formulas, "measured_log10_sigma": targets, "measured_n": 1,
                                 "measured_refs": "test"})).save(folder / "measured")
    return folder


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> Path:
    """A complete, small model folder (conductivity and both window limits, calibrated)."""
    return _fit_models(tmp_path_factory.mktemp("tiny") / "models")


@pytest.fixture(scope="module")
def tiny_predictor(tiny_models) -> Predictor:
    return Predictor.load(tiny_models)


@pytest.fixture
def models(tiny_models, tmp_path) -> Path:
    """A private copy of the tiny model folder, to damage."""
    return Path(shutil.copytree(tiny_models, tmp_path / "models", symlinks=True))


def _rehash(folder: Path) -> None:
    """Rewrite a folder's manifest over its current files, as a careless or hostile editor would."""
    old = json.loads((folder / "manifest.json").read_text())
    extra = {k: v for k, v in old.items() if k in ("estimator", "property", "target")}
    write_manifest(folder, old["kind"], **extra)


def _edit_manifest(folder: Path, change) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


# ---------------------------------------------------------------------------------------------
# 1. Training writes into a staging folder and swaps it in at the end
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def tiny_training(monkeypatch):
    """``predictor.training.pipeline`` on the small fixture set (curated source only), in seconds."""
    import predictor.training.pipeline as training

    frame = pd.DataFrame({"formula": [f for f, _ in CARRIER_SET], "log10_sigma": [y for _, y in CARRIER_SET],
                          "source": "curated", "censored": False, "split": "extra"})
    table, _ = annotate(frame)
    formulas = table["formula"].tolist()
    reduction, oxidation = _windows(formulas)
    windows = table[["formula", "carrier", "group", "composition_key", "anion_family"]].assign(
        reduction_limit_V=reduction, oxidation_limit_V=oxidation, source="published", doi="")
    monkeypatch.setattr(training, "load_conductivity_data",
                        lambda sources, extra_labels=None: LabelledData(table=table.reset_index(drop=True),
                                                                        rejected=pd.DataFrame()))
    monkeypatch.setattr(training, "load_window_labels", lambda extra=None: windows.reset_index(drop=True))
    import predictor.training.activation as activation_training
    from predictor.loaders.activation_labels import ActivationData

    activation = table[["formula", "reduced_formula", "carrier", "anion_family", "group", "composition_key"]].assign(
        Ea_eV=np.linspace(0.25, 0.6, len(table)), T_min_C=np.nan, T_max_C=np.nan, source="curated", doi="",
        method="reported")
    monkeypatch.setattr(activation_training, "load_activation_labels",
                        lambda sources, extra=None: ActivationData(table=activation.reset_index(drop=True),
                                                                   reports=activation))
    return training.TrainConfig.quick(sources=("curated",), model_params=dict(TINY),
                                      window_params=dict(TINY), activation_params=dict(TINY))


def _model_folder_with_sources(models: Path, sources: list[str]) -> Path:
    data = DataSummary(rows=10 * len(sources), rows_per_source={s: 10 for s in sources}, halide_rows=0, na_rows=0,
                       table_hash="0" * 16)
    TrainingReport(date="2026-01-01", config={}, data=data, rejected_rows=0, versions={},
                   evaluation={}).write(models / "metrics.json")
    (models / "pretrained").mkdir()
    (models / "pretrained" / "weights.json").write_text("{}")
    write_folder_manifest(models)  # as training does: the folder's manifest covers metrics.json
    return models


@pytest.mark.slow
def test_train_swaps_in_a_complete_folder_and_keeps_pretrained(tiny_training, models):
    from predictor.training.pipeline import train

    _model_folder_with_sources(models, ["obelix", "curated", "liiondb"])
    report = train(tiny_training, models, progress=False, allow_fewer_sources=True)
    assert report.data.rows_per_source == {"curated": len(CARRIER_SET)}
    assert sorted(p.name for p in models.parent.iterdir()) == ["models"], "staging or old folder left behind"
    assert {"conductivity", "windows", "metrics.json", "README.md", "pretrained"} <= {p.name for p in models.iterdir()}
    assert not (models / "mlflow_predictor").exists(), "the MLflow model is built when asked, not stored"
    assert (models / "pretrained" / "weights.json").read_text() == "{}"
    assert Predictor.load(models).predict(["Li3YCl6"])["error"].tolist() == [""]


@pytest.mark.parametrize("fault", [KeyboardInterrupt(), OSError(28, "No space left on device")])
@pytest.mark.parametrize("where", ["train_windows", "write_model_card"])
@pytest.mark.slow
def test_interrupted_train_leaves_the_previous_models_untouched(tiny_training, models, monkeypatch, fault, where):
    import predictor.training.model_card
    import predictor.training.pipeline as training
    from predictor.training.pipeline import train

    _model_folder_with_sources(models, ["curated"])
    before = _snapshot(models)

    def fail(*args, **kwargs):
        raise fault

    monkeypatch.setattr(training if where == "train_windows" else predictor.training.model_card, where, fail)
    with pytest.raises(type(fault)):
        train(tiny_training, models, progress=False)
    assert _snapshot(models) == before
    assert sorted(p.name for p in models.parent.iterdir()) == ["models"], "staging folder left behind"
    assert Predictor.load(models).predict(["Li3YCl6"])["error"].tolist() == [""]


def _dead_pid() -> int:
    """The process id of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _killed_staging(folder: Path, name: str, pid: int, marked: bool = True) -> Path:
    """What ``staged_replacement`` of ``folder/name`` leaves when its process is killed."""
    staging = folder / f"{name}.staging-{pid}"
    staging.mkdir()
    (staging / "weights.pt").write_text("half written")
    if marked:
        (staging / STAGING_OWNER).write_text(json.dumps({"pid": pid, "host": machine_tag()}))
    return staging


def test_what_a_killed_run_left_behind_is_tidied_not_refused(models, caplog):
    """A killed pretraining leaves models/pretrained.staging-<pid>; a run killed between its two
    renames leaves the old folder as <name>.previous-<pid> and no <name>. Neither blocks the
    next run; nothing that is not a marked staging folder of a finished process is deleted."""
    from predictor.artifacts import recover_interrupted, staged_replacement
    from predictor.training.pipeline import check_replaceable

    _model_folder_with_sources(models, ["curated"])
    dead = _dead_pid()
    _killed_staging(models, "pretrained", dead)
    os.rename(models / "conductivity", models / f"conductivity.previous-{dead}")
    _killed_staging(models, "windows", os.getppid())  # a live process's: left alone
    with caplog.at_level("WARNING"):
        with pytest.raises(FileExistsError, match="windows.staging.*left by an interrupted run"):
            check_replaceable(models, {"curated"})
    names = {p.name for p in models.iterdir()}
    assert f"pretrained.staging-{dead}" not in names and "conductivity" in names
    assert not any(".previous-" in name for name in names)
    assert "interrupted run" in caplog.text
    shutil.rmtree(models / f"windows.staging-{os.getppid()}")
    check_replaceable(models, {"curated"})
    # the whole model folder set aside and not put back: restored before the sources are checked
    aside = models.with_name(f"models.previous-{dead}")
    os.rename(models, aside)
    with pytest.raises(FewerSourcesError):
        check_replaceable(models, set())
    assert models.is_dir() and not aside.exists()
    # unmarked (a user's folder, or an older version's), or set aside beside a model folder: kept
    _killed_staging(models, "pretrained", dead, marked=False)
    (models / f"conductivity.previous-{dead}").mkdir()
    assert recover_interrupted(models, {"pretrained", "conductivity"}) == []
    shutil.rmtree(models / f"pretrained.staging-{dead}")
    shutil.rmtree(models / f"conductivity.previous-{dead}")
    # staged_replacement tidies beside its target before it starts, and the owner file never reaches the target
    _killed_staging(models, "pretrained", dead)
    with pytest.warns(UserWarning, match="interrupted run"):
        with staged_replacement(models / "pretrained") as staging:
            (staging / "weights.json").write_text("{}")
            write_manifest(staging, "test", ["weights.json"])
    assert sorted(p.name for p in models.iterdir() if "pretrained" in p.name) == ["pretrained"]
    assert sorted(p.name for p in (models / "pretrained").iterdir()) == ["manifest.json", "weights.json"]


def test_train_refuses_to_replace_models_trained_on_more_sources(tiny_training, models, monkeypatch, capsys, caplog):
    import predictor.training.pipeline as training
    from predictor.interfaces.cli import main
    from predictor.training.pipeline import train

    caplog.set_level(logging.INFO, logger="predictor")
    _model_folder_with_sources(models, ["obelix", "curated", "liiondb"])
    before = _snapshot(models)
    monkeypatch.setattr(training, "_train_into", lambda *a, **k: pytest.fail("trained before checking the sources"))
    with pytest.raises(FewerSourcesError, match="without liiondb, obelix.*--allow-fewer-sources"):
        train(tiny_training, models, progress=False)
    assert not caplog.messages
    assert main(["train", "--quick", "--no-tracking", "--sources", "curated", "-o", str(models)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "--allow-fewer-sources" in error
    rows = len(CARRIER_SET)
    assert caplog.record_tuples == [
        ("predictor.training.pipeline", logging.INFO, f"training data: {rows} conductivity labels (curated {rows})")]
    assert _snapshot(models) == before


def test_train_refuses_to_replace_a_folder_that_is_not_a_model_folder(tiny_training, tmp_path):
    from predictor.training.pipeline import train

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="notes.txt"):
        train(tiny_training, tmp_path, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_train_command_never_edits_the_readme(tiny_training, models, monkeypatch):
    import predictor.training.pipeline as training
    from predictor.interfaces.cli import main

    monkeypatch.setattr(training.TrainConfig, "quick", classmethod(lambda cls, **settings: tiny_training))

    _model_folder_with_sources(models, ["curated"])
    monkeypatch.setenv("PREDICTOR_MODELS_DIR", str(models))
    documents = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    before = [path.read_text() for path in documents]
    assert main(["train", "--quick", "--no-tracking", "--sources", "curated", "-o", str(models)]) == 0
    assert [path.read_text() for path in documents] == before  # the model card goes to the folder only
    assert (models / "README.md").is_file()


@pytest.mark.slow
def test_train_without_a_folder_writes_the_user_data_folder_never_the_shipped_models(
        tiny_training, monkeypatch, tmp_path, capsys):
    import predictor.training.pipeline as training
    from predictor.interfaces.cli import main

    monkeypatch.setattr(training.TrainConfig, "quick", classmethod(lambda cls, **settings: tiny_training))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("PREDICTOR_MODELS_DIR", raising=False)
    shipped = _snapshot(REPO_ROOT / "models")
    assert main(["train", "--quick", "--no-tracking", "--sources", "curated"]) == 0
    written = tmp_path / "data" / "predictor" / "models"
    assert (written / "README.md").is_file() and (written / "conductivity").is_dir()
    assert _snapshot(written / "pretrained") == _snapshot(REPO_ROOT / "models" / "pretrained")  # carried over
    assert _snapshot(REPO_ROOT / "models") == shipped
    out = capsys.readouterr().out
    assert f"--models {written}" in out and f"PREDICTOR_MODELS_DIR={written}" in out
    assert Predictor.load(written).predict(["Li3YCl6"])["error"].eq("").all()


@pytest.mark.slow
def test_train_with_a_labs_csv_in_one_command(tiny_training, monkeypatch, tmp_path, capsys, caplog):
    """Five rows, one invalid, one a composition OBELiX holds: models in the user folder, the bad
    row named with its reason, the lab's value used before OBELiX's, the before/after table."""
    import dataclasses

    import predictor.loaders.combined as combined
    import predictor.training.pipeline as training
    from predictor.interfaces.cli import main

    caplog.set_level(logging.INFO, logger="predictor")
    obelix = pd.DataFrame({"formula": [f for f, _ in CARRIER_SET], "log10_sigma": [y for _, y in CARRIER_SET],
                           "censored": False, "split": "train", "T_C": 25.0, "doi": ""})
    monkeypatch.setattr(combined, "_load_source", lambda name: obelix.assign(source=name))
    monkeypatch.setattr(training, "load_conductivity_data", combined.load_conductivity_data)
    monkeypatch.setattr(training.TrainConfig, "quick", classmethod(
        lambda cls, **settings: dataclasses.replace(tiny_training, sources=settings["sources"])))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    labels = tmp_path / "my_lab.csv"
    labels.write_text("formula,sigma_S_cm,T_C,lab\nLi3YCl6,8e-4,25,my lab\nLi2.6Y0.6Zr0.4Cl6,1.2e-3,,my lab\n"
                      "Xx2Cl,1e-3,25,my lab\nLi3ScCl6,5e-4,25,my lab\nLi3ErCl6,2e-4,25,my lab\n")
    assert main(["train", "--quick", "--no-tracking", "--sources", "obelix",
                 "--labels", str(labels)]) == 0
    written = tmp_path / "data" / "predictor" / "models"
    assert Predictor.load(written).predict(["Li3YCl6"])["error"].eq("").all()
    assert "your labels: 5 rows, 4 used (4 compositions, before every other source), 1 not used" in caplog.messages
    assert "  row 3 (Xx2Cl): unknown element 'Xx'" in caplog.messages
    assert any(m.startswith("your labels: Li3YCl6 (row 1, log10 sigma -3.10) takes precedence over obelix's")
               for m in caplog.messages)
    out = capsys.readouterr().out
    table = out[out.index("measured; predicted before"):].splitlines()
    assert table[1].split() == ["row", "formula", "measured", "before", "after", "held", "out"]
    assert [line.split()[1] for line in table[2:6]] == ["Li3YCl6", "Li2.6Y0.6Zr0.4Cl6", "Li3ScCl6", "Li3ErCl6"]
    held_out = [float(line.split()[-1]) for line in table[2:6]]
    assert all(np.isfinite(held_out))
    report = TrainingReport.read(written / "metrics.json").evaluation["your_labels_held_out"]
    assert report["n"] == 4 and report["mae"] == pytest.approx(np.mean(np.abs(
        np.array(held_out) - np.log10([8e-4, 1.2e-3, 5e-4, 2e-4]))), abs=0.01)
    assert f"held-out error on your 4 compositions (leave-the-lab-out): MAE {report['mae']:.2f}" in out
    assert f"--models {written}" in out


def test_train_one_property_keeps_the_others_from_the_folder_it_starts_from(tiny_training, monkeypatch, tmp_path,
                                                                             capsys):
    """``--property conductivity --labels lab.csv -o DIR``: a folder that predicts every column,
    the windows and Ea copied from the shipped models, the conductivity retrained."""
    import dataclasses

    import predictor.loaders.combined as combined
    import predictor.training.pipeline as training
    from predictor.interfaces.cli import main

    curated = pd.DataFrame({"formula": [f for f, _ in CARRIER_SET], "log10_sigma": [y for _, y in CARRIER_SET],
                            "censored": False, "T_C": 25.0, "doi": ""})
    monkeypatch.setattr(combined, "_load_source", lambda name: curated.assign(source=name))
    monkeypatch.setattr(training, "load_conductivity_data", combined.load_conductivity_data)
    monkeypatch.setattr(training.TrainConfig, "quick", classmethod(
        lambda cls, **settings: dataclasses.replace(tiny_training, sources=settings["sources"])))
    labels = tmp_path / "lab.csv"
    labels.write_text("formula,sigma_S_cm\nLi3YCl6,8e-4\nLi3ScCl6,5e-4\n")
    out = tmp_path / "conductivity-only"
    assert main(["train", "--quick", "--no-tracking", "--sources", "curated", "--property", "conductivity",
                 "--labels", str(labels), "-o", str(out)]) == 0
    for part in ("windows/reduction_limit_V", "activation", "families/graph-network/windows"):
        assert filecmp.dircmp(out / part, models_dir() / part).diff_files == [], part
    assert filecmp.dircmp(out / "conductivity", models_dir() / "conductivity").diff_files  # retrained
    report = TrainingReport.read(out / "metrics.json")
    assert report.properties == ["conductivity"] and report.reused.properties == ["windows", "activation"]
    assert "window_grouped_cv" in report.evaluation and "grouped_cv" in report.evaluation
    # the sections copied whole come after "reused", as they were written before the report was typed
    assert list(json.loads((out / "metrics.json").read_text()))[-4:] == [
        "reused", "window_data", "activation_data", "activation_model"]
    capsys.readouterr()
    assert main(["predict", "--models", str(out), "--format", "csv", "Li3YCl6"]) == 0
    row = pd.read_csv(io.StringIO(capsys.readouterr().out)).iloc[0]
    for column in ("log10_sigma", "reduction_limit_V", "oxidation_limit_V"):
        assert np.isfinite(row[column]), column
    assert main(["train", "--quick", "--no-tracking", "--property", "windows", "--labels", str(labels),
                 "-o", str(tmp_path / "refused")]) == 2
    assert "add --property conductivity" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# 4. The manifest lists every file; versions and calibration are checked
# ---------------------------------------------------------------------------------------------
def test_intact_copy_loads(models):
    Predictor.load(models)


@pytest.mark.parametrize("damage, message", [
    (lambda f: shutil.copy(f / "member_00.txt", f / "member_02.txt"), "member_02.txt is not listed"),
    (lambda f: _edit_manifest(f, lambda m: m["files"].pop("member_01.txt")), "member_01.txt is not listed"),
    (lambda f: _edit_manifest(f, lambda m: m["files"].pop("estimator.json")), "estimator.json is not listed"),
    (lambda f: (f / "member_00.txt").unlink(), "member_00.txt is missing"),
    (lambda f: _edit_manifest(f, lambda m: m.update(files={})), "lists no files"),
    (lambda f: (f / "estimator.json").write_text((f / "estimator.json").read_text().replace('"n_members": 2',
                                                                                           '"n_members": 1')),
     "estimator.json does not match its hash"),
    (lambda f: _edit_manifest(f, lambda m: m.update(format_version=1)), "artifact format 1"),
    (lambda f: _edit_manifest(f, lambda m: m["versions"].update(lightgbm="1.0")), "lightgbm 1.0"),
    (lambda f: _edit_manifest(f, lambda m: m["versions"].update(predictor="9.9")), "predictor 9.9"),
    (lambda f: _edit_manifest(f, lambda m: m["versions"].pop("predictor")), "no predictor version"),
], ids=["extra-file", "entry-removed", "settings-entry-removed", "file-missing", "empty-list", "tampered",
        "old-format", "lightgbm-major", "predictor-major", "no-version"])
def test_damaged_manifest_or_folder_is_refused(models, damage, message):
    damage(models / "conductivity")
    with pytest.raises(ModelLoadError, match=message):
        Predictor.load(models)


def test_a_different_minor_version_warns_and_loads(models):
    from predictor.artifacts import library_versions

    major, minor = library_versions()["lightgbm"].split(".")[:2]
    _edit_manifest(models / "windows" / "oxidation_limit_V",
                   lambda m: m["versions"].update(lightgbm=f"{major}.{int(minor) + 1}.0"))
    with pytest.warns(ArtifactVersionWarning, match="lightgbm"):
        Predictor.load(models)


@pytest.mark.parametrize("part", ["conductivity", "windows/reduction_limit_V"])
def test_a_model_without_calibration_is_refused(models, part):
    settings = json.loads((models / part / "estimator.json").read_text())
    settings["calibration"] = None
    (models / part / "estimator.json").write_text(json.dumps(settings))
    _rehash(models / part)
    with pytest.raises(ModelLoadError, match="no uncertainty calibration"):
        Predictor.load(models)


def test_save_into_a_folder_with_stale_members_is_refused(tiny_models, tmp_path):
    folder = Path(shutil.copytree(tiny_models / "conductivity", tmp_path / "conductivity"))
    shutil.copy(folder / "member_00.txt", folder / "member_07.txt")
    model = ConductivityRegressor.load(tiny_models / "conductivity")
    with pytest.raises(ValueError, match="member_07.txt"):
        model.save(folder)
    with pytest.raises(ModelLoadError):
        ConductivityRegressor.load(folder)


# ---------------------------------------------------------------------------------------------
# 5. The MLflow model folder and the pretrained weights are hashed and verified
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_pyfunc(tiny_models) -> Path:
    from predictor.interfaces.serving import save_model

    return save_model(tiny_models, tiny_models.parent / "mlflow_model")


def test_pyfunc_folder_with_changed_or_added_files_is_refused(tiny_pyfunc, tmp_path):
    import mlflow

    folder = Path(shutil.copytree(tiny_pyfunc, tmp_path / "mlflow_model"))
    check_pyfunc_folder(folder)
    assert not list(folder.rglob("*.py"))  # data only: MLflow imports predictor.interfaces.serving of the installed package
    with open(folder / "conda.yaml", "a") as handle:
        handle.write("\n# TAMPERED\n")
    with pytest.raises(ModelLoadError, match="conda.yaml does not match its hash"):
        check_pyfunc_folder(folder)
    with pytest.raises(Exception, match="conda.yaml does not match its hash"):
        mlflow.pyfunc.load_model(str(folder))
    (folder / "manifest.json").unlink()  # without a manifest: no code, whatever else changed
    check_pyfunc_folder(folder)
    (folder / "serving.py").write_text("TAMPERED = True\n")
    with pytest.raises(ModelLoadError, match="serving.py is code"):
        check_pyfunc_folder(folder)


def test_built_pyfunc_folder_and_shipped_pretrained_weights_have_verified_manifests(shipped_mlflow_model):
    check_pyfunc_folder(shipped_mlflow_model)
    assert not list(shipped_mlflow_model.rglob("*.py"))
    manifest = read_manifest(REPO_ROOT / "models" / "pretrained", "pretrained-weights")
    assert "roost_mp_formation.pt" in manifest["files"]


def test_tampered_pretrained_weights_are_refused(tmp_path):
    from predictor.estimators.graph.pretrain import WEIGHTS, load_pretrained

    folder = Path(shutil.copytree(REPO_ROOT / "models" / "pretrained", tmp_path / "pretrained"))
    state, _ = load_pretrained(folder / WEIGHTS)
    assert state
    with open(folder / WEIGHTS, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelLoadError, match="does not match its hash"):
        load_pretrained(folder / WEIGHTS)


# ---------------------------------------------------------------------------------------------
# 6. Every load failure is a ModelLoadError naming the file and the reason
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "manifest.json").write_text("[1, 2]"), "manifest.json is not a manifest: a JSON list"),
    (lambda f: (f / "manifest.json").write_text("{not json"), "manifest.json is not a readable manifest"),
    (lambda f: ((f / "domain.npz").write_bytes(b"not a zip"), _rehash(f)), "domain.npz is not a .npz archive"),
    (lambda f: ((f / "estimator.json").write_text("{oops"), _rehash(f)), "estimator.json is not valid JSON"),
    (lambda f: ((f / "estimator.json").write_text("[]"), _rehash(f)), "estimator.json: expected a JSON object"),
    (lambda f: ((f / "estimator.json").write_text(
        (f / "estimator.json").read_text().replace('"n_members"', '"no_such_parameter"')), _rehash(f)),
     "conductivity: cannot load the saved ConductivityRegressor \\(TypeError"),
    (lambda f: ((f / "member_00.txt").write_text("tree\ngarbage\n"), _rehash(f)),
     "conductivity: cannot load the saved ConductivityRegressor \\(ValueError: member_00.txt is not a complete LightGBM"),
], ids=["manifest-list", "manifest-not-json", "bad-zip", "settings-not-json", "settings-list", "unknown-param",
        "lightgbm-garbage"])
def test_every_load_failure_is_a_model_load_error(models, damage, message):
    damage(models / "conductivity")
    with pytest.raises(ModelLoadError, match=message):
        Predictor.load(models)


def test_cli_reports_a_broken_model_folder_in_one_line(models, capsys):
    from predictor.interfaces.cli import main

    (models / "conductivity" / "manifest.json").write_text("[]")
    assert main(["predict", "Li3YCl6", "--models", str(models)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "manifest.json" in error


# ---------------------------------------------------------------------------------------------
# 7. Inputs of Predictor.predict
# ---------------------------------------------------------------------------------------------
FORMULAS = ["Li3YCl6", "Na3YCl6", "Li2ZrCl6"]


@pytest.mark.parametrize("make", [
    list, tuple, pd.Series, pd.Index, np.array, iter, lambda f: (x for x in f),
    lambda f: pd.DataFrame({"id": range(len(f)), "formula": f}),
], ids=["list", "tuple", "series", "index", "array", "iterator", "generator", "dataframe"])
def test_accepted_inputs_give_one_row_per_formula(tiny_predictor, make):
    expected = tiny_predictor.predict(FORMULAS)
    table = tiny_predictor.predict(make(FORMULAS))
    pd.testing.assert_frame_equal(table, expected)
    streamed = pd.concat(tiny_predictor.iter_predict(make(FORMULAS), batch_size=2), ignore_index=True)
    pd.testing.assert_frame_equal(streamed, expected)


@pytest.mark.parametrize("bad", [["x"], ("a", "b"), ["a", "b"], None, 5, 2.5, {"formula": "LiCl"}, b"LiCl"],
                         ids=["list1", "tuple2", "list2", "none", "int", "float", "dict", "bytes"])
def test_a_non_string_element_is_a_row_error_and_loses_nothing(tiny_predictor, bad):
    table = tiny_predictor.predict(["Li3YCl6"] * 500 + [bad] + ["Na3YCl6"])
    assert len(table) == 502
    assert (table["error"].iloc[:500] == "").all() and table["error"].iloc[501] == ""
    assert "expected a formula string" in table["error"].iloc[500]
    assert np.isnan(table["log10_sigma"].iloc[500])


def test_sequence_elements_of_equal_length_are_row_errors(tiny_predictor):
    table = tiny_predictor.predict(pd.Series([["Li", "Cl"], ["Na", "Cl"]]))
    assert len(table) == 2 and table["error"].str.contains("got list").all()


@pytest.mark.parametrize("bad, message", [
    ({"Li3YCl6": 1}, "got a dict"), (b"Li3YCl6", "got bytes"), (bytearray(b"LiCl"), "got bytearray"),
    (np.array([["Li3YCl6", "LiCl"]]), "2-D array"), ({"LiCl", "NaCl"}, "got a set"), (5, "got int"),
    (None, "got NoneType"),
], ids=["dict", "bytes", "bytearray", "2d-array", "set", "int", "none"])
def test_refused_inputs_raise_type_error_naming_the_type(tiny_predictor, bad, message):
    with pytest.raises(TypeError, match=message):
        tiny_predictor.predict(bad)
    with pytest.raises(TypeError, match=message):
        next(tiny_predictor.iter_predict(bad))


def test_dataframe_without_formula_column_is_refused_naming_its_columns(tiny_predictor):
    with pytest.raises(ValueError, match="no 'formula' column \\(columns: name, value\\)"):
        tiny_predictor.predict(pd.DataFrame({"name": ["Li3YCl6"], "value": [1]}))


# ---------------------------------------------------------------------------------------------
# 8. Formula grammar, isotopes, exponents, echo length
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("formula, message", [
    ("Li@Cl", "character '@' is not part of a chemical formula"),
    ("Li3YCl6·2H2O", "hydrate \\('·2H2O'\\)"),
    ("Li3YCl6;", "character ';'"),
    ("Li₃YCl₆", "character"),
    ("D2O", "isotope symbol D \\(deuterium\\)"),
    ("T2O", "isotope symbol T \\(tritium\\)"),
    ("LiDCl", "isotope symbol D"),
    ("Li1e-308Cl", "amount 1e-308 is zero or below 0.0001"),
    ("Li1e999Cl", "amount 1e999 is more than"),
    ("Li+Cl", "charges"),
    ("Li-1Cl", "negative"),
])
def test_formulas_outside_the_grammar_are_refused_with_the_reason(formula, message):
    with pytest.raises(CompositionError, match=message):
        parse_formula(formula)


@pytest.mark.parametrize("formula, expected", [
    ("Li1e-3Cl", {"Li": 0.001, "Cl": 1}), ("Li2.5e0YCl6", {"Li": 2.5, "Y": 1, "Cl": 6}),
    ("LiTaCl6", {"Li": 1, "Ta": 1, "Cl": 6}), ("Li3DyCl6", {"Li": 3, "Dy": 1, "Cl": 6}),
    ("Li3 Y1 Cl6", {"Li": 3, "Y": 1, "Cl": 6}), ("Li3Y[Cl6]", {"Li": 3, "Y": 1, "Cl": 6}),
])
def test_valid_formulas_still_parse(formula, expected):
    assert parse_formula(formula).get_el_amt_dict() == pytest.approx(expected)


@pytest.mark.parametrize("formula", ["Li" * 500_000, ["x"] * 100_000, "Li@" * 1000])
def test_error_messages_echo_at_most_60_characters_of_the_input(formula):
    with pytest.raises(CompositionError) as info:
        parse_formula(formula)
    assert len(str(info.value)) < 220 and "..." in str(info.value)


def test_isotope_is_a_row_error_not_water(tiny_predictor):
    table = tiny_predictor.predict(["D2O", "Li@Cl"])
    assert table["error"].str.len().gt(0).all() and table["reduced_formula"].eq("").all()


# ---------------------------------------------------------------------------------------------
# 10. Serving: valid JSON, clean errors, a request size limit
# ---------------------------------------------------------------------------------------------
def _strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def pyfunc_model(tiny_predictor):
    from predictor.interfaces.serving import PredictorModel

    model = PredictorModel()
    model.folder, model.predictors = None, {"default": tiny_predictor}
    return model


def test_served_predictions_are_valid_json_with_null_for_missing_numbers(pyfunc_model):
    from io import StringIO

    from mlflow.pyfunc.scoring_server import predictions_to_json

    table = pyfunc_model.predict(None, pd.DataFrame({"formula": ["Li3YCl6", "garbage", "", "CsCl", "D2O"]}))
    out = StringIO()
    predictions_to_json(table, out)
    records = _strict_json(out.getvalue())["predictions"]
    assert len(records) == 5
    assert records[0]["error"] == "" and isinstance(records[0]["log10_sigma"], float)
    assert records[1]["log10_sigma"] is None and records[1]["error"]
    assert records[3]["reduction_limit_V"] is None  # no Li or Na: no window
    assert all(r["formula"] is not None for r in records)


def test_request_larger_than_the_limit_is_refused_before_predicting(pyfunc_model, monkeypatch):
    from mlflow.exceptions import MlflowException

    from predictor.interfaces.serving import MAX_RECORDS

    monkeypatch.setattr(pyfunc_model.predictors["default"], "predict", lambda *a, **k: pytest.fail("predicted anyway"))
    with pytest.raises(MlflowException, match=f"{MAX_RECORDS + 1} records in one request, at most {MAX_RECORDS}"):
        pyfunc_model.predict(None, pd.DataFrame({"formula": ["LiCl"] * (MAX_RECORDS + 1)}))


@pytest.mark.parametrize("request_input, message", [
    (pd.DataFrame({"smiles": ["LiCl"]}), "no 'formula' column"),
    ({"formulas": ["LiCl"]}, "no 'formula' key"),
    (b"LiCl", "got bytes"),
])
def test_malformed_request_gets_a_message_without_internals(pyfunc_model, request_input, message):
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match=message) as info:
        pyfunc_model.predict(None, request_input)
    body = info.value.serialize_as_json()
    assert "Traceback" not in body and "stack_trace" not in body and str(REPO_ROOT) not in body


def test_unexpected_failure_is_reported_without_internals(pyfunc_model, monkeypatch):
    from mlflow.exceptions import MlflowException

    def crash(*args, **kwargs):
        raise RuntimeError(f"boom in {REPO_ROOT}/predictor/secret.py")

    monkeypatch.setattr(pyfunc_model.predictors["default"], "predict", crash)
    with pytest.raises(MlflowException) as info:
        pyfunc_model.predict(None, pd.DataFrame({"formula": ["LiCl"]}))
    body = info.value.serialize_as_json()
    assert "internal error" in body and str(REPO_ROOT) not in body and "boom" not in body


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, payload: dict) -> tuple[int, str]:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.slow
def test_mlflow_serve_answers_strict_json_and_clean_errors(tiny_pyfunc, tmp_path):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(tiny_pyfunc), "--env-manager", "local",
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()  # before reading its output, which ends only when it exits
                    output = server.communicate(timeout=30)[0].decode(errors="replace")
                    raise RuntimeError(f"server did not start: {output[-2000:]}") from None
                time.sleep(0.5)
        url = f"http://127.0.0.1:{port}/invocations"
        status, body = _post(url, {"dataframe_records": [{"formula": "Li3YCl6"}, {"formula": "garbage"}]})
        assert status == 200
        records = _strict_json(body)["predictions"]
        assert records[1]["log10_sigma"] is None and records[1]["error"]
        status, body = _post(url, {"dataframe_records": [{"smiles": "LiCl"}]})
        assert 400 <= status < 500
        assert "Traceback" not in body and str(REPO_ROOT) not in body and "site-packages" not in body
    finally:
        server.terminate()
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


@pytest.mark.slow
def test_a_window_model_whose_inputs_did_not_change_is_copied_not_refitted(tiny_training, tmp_path, caplog):
    """Retraining with new conductivity labels must not spend minutes refitting identical window models."""
    import dataclasses

    from predictor.training.pipeline import train

    folder = tmp_path / "models"
    train(tiny_training, folder, progress=False)
    first = (folder / "windows" / "reduction_limit_V" / "member_00.txt").read_text()
    caplog.set_level(logging.INFO, logger="predictor")
    report = train(tiny_training, folder, progress=True)
    assert any(m.startswith("window model: labels, settings and libraries unchanged since") for m in caplog.messages)
    assert (folder / "windows" / "reduction_limit_V" / "member_00.txt").read_text() == first
    assert "window_grouped_cv" in report.evaluation
    caplog.clear()
    changed = dataclasses.replace(tiny_training, window_params={**tiny_training.window_params, "learning_rate": 0.2})
    train(changed, folder, progress=True)
    assert not any(m.startswith("window model: labels, settings") for m in caplog.messages)
    assert (folder / "windows" / "reduction_limit_V" / "member_00.txt").read_text() != first
