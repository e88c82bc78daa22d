"""Model folders that prove what they hold (issue 26, "nothing silently wrong").

Each model part's manifest names its property and target, checked where the part is loaded; the
top-level files of a model folder (``families.json`` first) are covered by the folder's own
manifest; malformed or deeply nested JSON and arrays that are not finite or mis-shaped are a
:class:`ModelLoadError`, one line and exit 2 from the CLI. Every test builds its own small models
in a temporary folder or copies the shipped one, so nothing here alters ``models/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_SET

from predictor import ConductivityRegressor
from predictor.prediction.anchoring import ResidualKernel
from predictor.artifacts import finite_array, read_manifest_json, write_folder_manifest, write_manifest
from predictor.errors import ModelLoadError
from predictor.estimators import WindowRegressor
from predictor.estimators.gbm.activation_energy import ActivationEnergyRegressor, ArrheniusModel
from predictor.prediction.measured import MeasuredValues
from predictor.paths import REPO_ROOT
from predictor.predictor import Predictor

TINY = {"n_members": 2, "n_estimators": 20, "calibration_folds": 3, "random_state": 0, "n_jobs": 1}
CARRIER_SET = [(f, y) for f, y in SMALL_SET if "Li" in f or "Na" in f]
SHIPPED = REPO_ROOT / "models"
#: Deep enough to overflow Python's JSON parser (a RecursionError before issue 26).
NESTED = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> Path:
    """A complete small model folder as training writes it: every part, families.json, the folder's manifest."""
    folder = tmp_path_factory.mktemp("artifacts") / "models"
    formulas, targets = map(list, zip(*CARRIER_SET))
    rng = np.random.default_rng(0)
    reduction = 0.5 + rng.normal(0, 0.3, len(formulas))
    ConductivityRegressor(**TINY).fit(formulas, targets).save(folder / "conductivity")
    WindowRegressor(limit_params=TINY).fit(formulas, np.column_stack([reduction, reduction + 3.5])).save(
        folder / "windows")
    ea_model = ActivationEnergyRegressor(**TINY).fit(formulas, np.linspace(0.25, 0.6, len(formulas)))
    ArrheniusModel(ea_model, 0.0, float("nan"), 0, (20.0, 150.0)).save(folder / "activation")
    MeasuredValues(pd.DataFrame({"formula": formulas, "measured_log10_sigma": targets, "measured_n": 1,
                                 "measured_refs": "test"}), ResidualKernel(1.0, 0.3, 20)).save(folder / "measured")
    (folder / "families.json").write_text(json.dumps({"default": {"conductivity": "gradient-boosted",
                                                                  "windows": "gradient-boosted"}}))
    (folder / "metrics.json").write_text(json.dumps({"date": "today"}))
    write_folder_manifest(folder)
    return folder


@pytest.fixture
def models(tiny_models, tmp_path) -> Path:
    """A private copy of the small model folder, to damage."""
    return Path(shutil.copytree(tiny_models, tmp_path / "models", symlinks=True))


def _rehash(folder: Path) -> None:
    """Rewrite a folder's manifest over its current files, keeping what it names: a careful forger."""
    old = json.loads((folder / "manifest.json").read_text())
    if old["kind"] == "model-folder":
        write_folder_manifest(folder)
        return
    named = {k: v for k, v in old.items() if k in ("estimator", "property", "target")}
    write_manifest(folder, old["kind"], exclude=tuple(old.get("excluded_folders", ())), **named)


def _swap(a: Path, b: Path) -> None:
    aside = a.with_name(a.name + ".aside")
    a.rename(aside)
    b.rename(a)
    aside.rename(b)


def _cli_error(models: Path, capsys) -> str:
    """The standard error of ``predictor predict`` on the folder, which must exit 2 with one line."""
    from predictor.interfaces.cli import main

    assert main(["predict", "Li3YCl6", "--models", str(models), "--format", "csv"]) == 2
    captured = capsys.readouterr()
    error = captured.err.strip()
    assert len(error.splitlines()) == 1 and "Traceback" not in error, error
    assert captured.out == ""
    return error


# ---------------------------------------------------------------------------------------------
# 1. Each part's manifest names its property and target, checked where the part is loaded
# ---------------------------------------------------------------------------------------------
def test_each_part_manifest_names_its_property_and_target(tiny_models):
    expected = {
        "conductivity": ("conductivity", "log10_sigma"),
        "windows/reduction_limit_V": ("windows", "reduction_limit_V"),
        "windows/oxidation_limit_V": ("windows", "oxidation_limit_V"),
        "activation": ("activation", "Ea_eV"),
        "activation/Ea_eV": ("activation", "Ea_eV"),
        "measured": ("measured", "measured_log10_sigma"),
    }
    for part, (prop, target) in expected.items():
        manifest = read_manifest_json(tiny_models / part)
        assert (manifest.get("property"), manifest.get("target")) == (prop, target), part
    assert set(read_manifest_json(tiny_models)["files"]) == {"families.json", "metrics.json"}


def test_shipped_manifests_name_what_they_hold_and_cover_families_json():
    for part in ("conductivity", "windows/reduction_limit_V", "windows/oxidation_limit_V", "activation",
                 "activation/Ea_eV", "measured", "pretrained", "families/graph-network/conductivity",
                 "families/graph-network/windows/reduction_limit_V",
                 "families/graph-network/windows/oxidation_limit_V"):
        manifest = read_manifest_json(SHIPPED / part)
        assert manifest.get("property") and manifest.get("target"), part
        if "windows/" in part:
            assert manifest["target"] == part.rsplit("/", 1)[1]
    folder = read_manifest_json(SHIPPED)
    assert folder["kind"] == "model-folder"
    assert {"families.json", "metrics.json", "README.md", "held_out_papers_predictions.csv"} <= set(folder["files"])


def test_swapped_window_limits_are_refused(models, capsys):
    """Before: Li3YCl6 got the oxidation limit as its reduction limit (4.17 V and 0.66 V)."""
    _swap(models / "windows" / "reduction_limit_V", models / "windows" / "oxidation_limit_V")
    with pytest.raises(ModelLoadError, match=r"reduction_limit_V/manifest.json names property 'windows', target "
                                             r"'oxidation_limit_V', expected property 'windows', target "
                                             r"'reduction_limit_V'"):
        Predictor.load(models)
    assert "expected property 'windows', target 'reduction_limit_V'" in _cli_error(models, capsys)


def test_activation_model_copied_over_conductivity_is_refused(models):
    """Before: the Ea model predicted log10 sigma = 0.356."""
    shutil.rmtree(models / "conductivity")
    shutil.copytree(models / "activation" / "Ea_eV", models / "conductivity")
    with pytest.raises(ModelLoadError, match=r"conductivity/manifest.json names property 'activation', target "
                                             r"'Ea_eV', expected property 'conductivity', target 'log10_sigma'"):
        Predictor.load(models)


def test_a_part_without_property_and_target_is_refused(models):
    """A manifest rewritten without them (or by an older version) proves nothing about its place."""
    folder = models / "windows" / "oxidation_limit_V"
    old = json.loads((folder / "manifest.json").read_text())
    write_manifest(folder, old["kind"], estimator=old["estimator"])
    with pytest.raises(ModelLoadError, match="names no property and target, expected property 'windows'"):
        Predictor.load(models)


# ---------------------------------------------------------------------------------------------
# 2. families.json and the other top-level files are covered by the folder's manifest
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage, message", [
    (lambda m: (m / "families.json").write_text(json.dumps({"default": {"conductivity": "gradient-boosted"}})),
     "families.json does not match its hash"),
    (lambda m: (m / "metrics.json").write_text("{}"), "metrics.json does not match its hash"),
    (lambda m: (m / "families.json").unlink(), "families.json is missing"),
    (lambda m: (m / "notes.txt").write_text("added"), "notes.txt is not listed in manifest.json"),
    (lambda m: (m / "manifest.json").unlink(), "is not covered by a manifest.json"),
    (lambda m: (m / "manifest.json").write_text((m / "conductivity" / "manifest.json").read_text()),
     "the manifest of a 'gbm-regressor' artifact, expected 'model-folder'"),
], ids=["families-edited", "metrics-edited", "families-deleted", "file-added", "no-manifest", "part-manifest"])
def test_top_level_files_are_verified(models, damage, message):
    damage(models)
    with pytest.raises(ModelLoadError, match=message):
        Predictor.load(models)
    with pytest.raises(ModelLoadError, match=message):
        Predictor.load(models, model_family="gradient-boosted")  # verified whether families.json is read or not


@pytest.mark.parametrize("name", [".DS_Store", ".families.json.123-0a1b2c3d.x7.part", ".manifest.json.tmp"])
def test_hidden_files_and_interrupted_writes_are_ignored(models, name):
    """Before: a .DS_Store beside the models stopped every prediction ("not listed in manifest.json")."""
    for folder in (models, models / "conductivity"):
        (folder / name).write_text("left by the desktop or an interrupted write")
    Predictor.load(models)


def test_a_target_no_part_holds_is_refused_when_saved(models, tmp_path):
    """Before: the manifest said ``property: null`` and the folder never loaded."""
    model = ConductivityRegressor.load(models / "conductivity")
    with pytest.raises(ValueError, match="target 'glass_transition_K' is not one a model folder holds"):
        model.save(tmp_path / "elsewhere", target="glass_transition_K")


def test_a_folder_of_an_older_format_says_retrain_in_one_line(models, capsys):
    for path in models.rglob("manifest.json"):
        manifest = json.loads(path.read_text())
        manifest["format_version"] = 2
        path.write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match=r"written by an older version of predictor \(artifact format 2, "
                                             r"this version reads format 3\): retrain with `predictor train`"):
        Predictor.load(models)
    assert "retrain with `predictor train`" in _cli_error(models, capsys)
    with pytest.raises(ModelLoadError, match="reduction_limit_V was written by an older version"):
        WindowRegressor.load(models / "windows")  # each part says the same


def _shipped_copy(tmp_path: Path) -> Path:
    models = Path(shutil.copytree(SHIPPED, tmp_path / "models", symlinks=True))
    for local in models.glob("*_cv_predictions.csv"):  # not committed: a fresh clone has none
        local.unlink()
    return models


def test_rewriting_the_model_card_keeps_the_folder_loadable(tmp_path, monkeypatch):
    """Before: ``python -m predictor.training.model_card`` rewrote README.md and every prediction refused the folder."""
    import predictor.training.model_card

    models = _shipped_copy(tmp_path)
    card = models / "README.md"
    card.write_text(card.read_text() + "\nEdited by hand.\n")
    with pytest.raises(ModelLoadError, match="README.md does not match its hash"):
        Predictor.load(models)
    done = subprocess.run([sys.executable, "-m", "predictor.training.model_card"], capture_output=True, text=True, check=False,
                          env={**os.environ, "PREDICTOR_MODELS_DIR": str(models)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Edited by hand" not in card.read_text() and card.read_text().startswith("# Model card")
    Predictor.load(models)
    # what the card is rewritten from, or families.json, changed: refused, not blessed by a new manifest
    monkeypatch.setenv("PREDICTOR_MODELS_DIR", str(models))
    (models / "families.json").write_text((models / "families.json").read_text().replace("gradient-boosted",
                                                                                        "graph-network"))
    before = (models / "manifest.json").read_text()
    with pytest.raises(ModelLoadError, match="families.json does not match its hash"):
        predictor.training.model_card.main([])
    assert (models / "manifest.json").read_text() == before


def test_finite_array_refuses_what_is_not_numbers():
    """Before: "0.5" (text) and true were read as 0.5 and 1.0."""
    for values in ("0.5", ["0.5", 1.0], [True, 2.0], [None, 1.0]):
        with pytest.raises(ModelLoadError, match="f.json: x is not an array of numbers"):
            finite_array(values, Path("f.json"), "x")
    assert finite_array([1, 2.5], Path("f.json"), "x", (2,)).tolist() == [1.0, 2.5]


def test_families_json_of_the_shipped_folder_is_verified_also_in_its_mlflow_model(tmp_path):
    from predictor.interfaces.serving import save_model

    models = _shipped_copy(tmp_path)
    Predictor.load(models)
    data = save_model(models, tmp_path / "mlflow_model") / "data" / "models"
    for folder in (models, data):
        families = json.loads((folder / "families.json").read_text())
        families["default"]["windows"] = "graph-network"
        (folder / "families.json").write_text(json.dumps(families))
    for folder in (models, data):
        with pytest.raises(ModelLoadError, match="families.json does not match its hash"):
            Predictor.load(folder)


# ---------------------------------------------------------------------------------------------
# 3. Malformed or deeply nested JSON: a ModelLoadError naming the file
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("relative", ["conductivity/manifest.json", "manifest.json", "families.json",
                                      "conductivity/estimator.json", "measured/residual_kernel.json",
                                      "activation/arrhenius.json", "windows/oxidation_limit_V/estimator.json"])
def test_deeply_nested_json_is_a_one_line_error(models, relative, capsys):
    path = models / relative
    path.write_text(NESTED)
    if path.name != "manifest.json":
        _rehash(path.parent)
    with pytest.raises(ModelLoadError, match=f"{relative}.*RecursionError"):
        Predictor.load(models)
    assert relative in _cli_error(models, capsys)


@pytest.mark.parametrize("relative, text", [
    ("measured/residual_kernel.json", '{"length": NaN, "correlation": 0.3}'),
    ("activation/arrhenius.json", '{"correlation": 0.1, "correlation_estimate": null, "correlation_pairs": 3, '
                                  '"label_temperature_range_C": [20, Infinity]}'),
    ("activation/arrhenius.json", '{"correlation": "0.1", "correlation_estimate": null, "correlation_pairs": 3, '
                                  '"label_temperature_range_C": [20, 150]}'),
], ids=["kernel-nan", "range-infinite", "correlation-text"])
def test_json_numbers_that_are_not_finite_are_refused(models, relative, text):
    (models / relative).write_text(text)
    _rehash((models / relative).parent)
    with pytest.raises(ModelLoadError, match=relative):
        Predictor.load(models)


# ---------------------------------------------------------------------------------------------
# 4. Arrays and numbers that are not finite or mis-shaped: refused, even with a re-hashed manifest
# ---------------------------------------------------------------------------------------------
def _edit_domain(change):
    def damage(folder: Path) -> None:
        with np.load(folder / "domain.npz") as stored:
            arrays = dict(stored)
        change(arrays)
        np.savez_compressed(folder / "domain.npz", **arrays)
    return damage


def _edit_settings(change):
    def damage(folder: Path) -> None:
        settings = json.loads((folder / "estimator.json").read_text())
        change(settings)
        (folder / "estimator.json").write_text(json.dumps(settings))
    return damage


def _huge_noise(folder: Path) -> None:
    """A number JSON reads as infinity (1e999), written as text: ``json.dumps`` would write Infinity."""
    settings = json.loads((folder / "estimator.json").read_text())
    settings["calibration"]["noise_std"] = "HUGE"
    (folder / "estimator.json").write_text(json.dumps(settings).replace('"HUGE"', "1e999"))


def _nan_leaf(folder: Path) -> None:
    """The first leaf value of the first tree of a LightGBM member replaced by nan."""
    text = (folder / "member_00.txt").read_text()
    start = text.index("leaf_value=") + len("leaf_value=")
    end = min(text.index(" ", start), text.index("\n", start))
    (folder / "member_00.txt").write_text(text[:start] + "nan" + text[end:])


@pytest.mark.parametrize("part, damage, message", [
    ("conductivity", _edit_domain(lambda a: a.update(center=np.full_like(a["center"], np.nan))),
     "domain.npz: center holds .* not finite"),
    ("conductivity", _edit_domain(lambda a: a.update(reference=np.full_like(a["reference"], np.nan))),
     "domain.npz: reference holds .* not finite"),
    ("windows/reduction_limit_V", _edit_domain(lambda a: a.update(scale=a["scale"][:-1])),
     r"domain.npz: scale has shape \(\d+,\), expected \(\d+,\)"),
    ("conductivity", _edit_settings(lambda s: s["calibration"].update(noise_std=float("nan"))),
     "estimator.json is not the settings of an estimator .*NaN"),
    ("conductivity", _huge_noise, "estimator.json: calibration holds 1 values that are not finite"),
    ("activation/Ea_eV", _edit_domain(lambda a: a.update(reference=a["reference"][:, :-1])),
     r"domain.npz: reference has shape \(\d+, \d+\), expected \(n, \d+\)"),
    ("conductivity", _edit_settings(lambda s: s.update(train_y_range=[-5.0])), "train_y_range has shape"),
    ("conductivity", _nan_leaf, "member_00.txt holds leaf values that are not finite"),
], ids=["domain-center-nan", "domain-reference-nan", "domain-scale-short", "calibration-nan", "calibration-inf",
        "ea-domain-reference-narrow", "y-range-short", "lightgbm-nan-leaf"])
def test_arrays_that_are_not_finite_or_misshaped_are_refused(models, part, damage, message, capsys):
    """Before: a re-hashed manifest let them load, predictions NaN or quietly off with an empty error (a NaN leaf
    value aborted the Python process inside LightGBM)."""
    damage(models / part)
    _rehash(models / part)
    with pytest.raises(ModelLoadError, match=message):
        Predictor.load(models)
    assert part.split("/")[0] in _cli_error(models, capsys)


def test_measured_values_that_are_not_numbers_are_refused(models):
    table = pd.read_csv(models / "measured" / "measured.csv")
    table.loc[0, "measured_log10_sigma"] = np.nan
    table.to_csv(models / "measured" / "measured.csv", index=False, na_rep="nan")  # an empty cell is refused already
    _rehash(models / "measured")
    with pytest.raises(ModelLoadError, match="measured.csv: measured_log10_sigma holds 1 values that are not finite"):
        Predictor.load(models)


def test_the_intact_folder_loads_and_predicts(tiny_models):
    table = Predictor.load(tiny_models).predict(["Li3YCl6"], temperature_C=60)
    assert table["error"].tolist() == [""]
    assert np.isfinite(table[["log10_sigma", "log10_sigma_std", "reduction_limit_V", "Ea_eV"]].to_numpy()).all()


def test_graph_network_weights_that_are_not_finite_are_refused(tmp_path):
    import torch

    from predictor.estimators.graph.regressor import GraphConductivityRegressor

    formulas, targets = map(list, zip(*CARRIER_SET))
    folder = GraphConductivityRegressor(n_members=2, epochs=1, random_state=0, n_jobs=1).fit(formulas, targets).save(
        tmp_path / "graph")
    state = torch.load(folder / "member_01.pt", weights_only=True)
    name = next(iter(state))
    state[name] = torch.full_like(state[name], float("nan"))
    torch.save(state, folder / "member_01.pt")
    _rehash(folder)
    with pytest.raises(ModelLoadError, match=f"member_01.pt: {name} holds values that are not finite"):
        GraphConductivityRegressor.load(folder)
