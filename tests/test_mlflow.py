"""MLflow: the MLflow model built from the shipped models, run logging and registry through a tracking server, serving."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictor.estimators import ConductivityRegressor
from predictor.paths import models_dir
from predictor.errors import ModelLoadError
from predictor.training.report import TrainingReport
from predictor.training.tracking import EXPERIMENT, REGISTERED_MODEL, log_training_run

EXPECTED = {"formula", "log10_sigma", "log10_sigma_std", "log10_sigma_lo90", "log10_sigma_hi90", "reduction_limit_V",
            "reduction_limit_V_std", "oxidation_limit_V", "oxidation_limit_V_std", "window_reference", "in_domain", "error",
            "conductivity_model", "window_model"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early: {process.stdout.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer in {timeout_s} s")


def get_json(url: str, payload: dict | None = None) -> dict:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def start(command: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_mlflow_model_of_the_shipped_models_loads_and_predicts(shipped_mlflow_model):
    import mlflow

    model = mlflow.pyfunc.load_model(str(shipped_mlflow_model))
    table = model.predict(pd.DataFrame({"formula": ["Li3YCl6", "Na3YCl6", "garbage"]}))
    assert EXPECTED <= set(table.columns)
    assert table["window_reference"].tolist() == ["Li+/Li", "Na+/Na", ""]
    # Li3YCl6 is in the training data: its measured label comes back beside the prediction
    assert np.isfinite(table.loc[0, "measured_log10_sigma"]) and table.loc[0, "measured_n"] >= 1
    assert table.loc[0, "measured_refs"] and table.loc[2, "measured_refs"] == ""
    assert np.isfinite(table.loc[:1, ["log10_sigma", "oxidation_limit_V"]].to_numpy(dtype=float)).all()
    assert "garbage" in table.loc[2, "error"]
    assert table.loc[0, "conductivity_model"] == table.loc[0, "window_model"] == "gradient-boosted"
    for family in ("graph-network", "average"):  # the model family as a request parameter
        chosen = model.predict(pd.DataFrame({"formula": ["Li3YCl6"]}), params={"model_family": family})
        assert chosen.loc[0, "conductivity_model"] == chosen.loc[0, "window_model"] == family
        assert np.isfinite(chosen.loc[0, ["log10_sigma_std", "oxidation_limit_V_std"]].to_numpy(dtype=float)).all()


def test_mlflow_model_is_built_from_the_model_folder_with_copies_and_no_machine_paths(shipped_mlflow_model):
    folder = shipped_mlflow_model
    mlmodel = (folder / "MLmodel").read_text()
    assert "loader_module: predictor.interfaces.serving" in mlmodel and "data: data/models" in mlmodel
    assert not any(line.split(":", 1)[-1].strip().startswith("/") for line in mlmodel.splitlines())
    assert not [p for p in folder.rglob("*") if p.is_symlink()], "a copy: it can be moved or shipped alone"
    for part in ("conductivity", "windows", "measured", "families.json"):
        copied, shipped = folder / "data" / "models" / part, models_dir() / part
        files = [p.relative_to(shipped) for p in ([shipped] if shipped.is_file() else sorted(shipped.rglob("*")))]
        for name in files:
            a, b = (copied, shipped) if shipped.is_file() else (copied / name, shipped / name)
            assert a.is_dir() == b.is_dir() and (a.is_dir() or a.read_bytes() == b.read_bytes()), a
    assert not (models_dir() / "mlflow_predictor").exists(), "nothing of it is stored beside the models"


def test_save_model_never_overwrites_and_refuses_a_broken_model_folder(shipped_mlflow_model, tmp_path):
    from predictor.interfaces.serving import save_model

    before = sorted(p.name for p in shipped_mlflow_model.iterdir())
    with pytest.raises(FileExistsError, match="exists"):
        save_model(models_dir(), shipped_mlflow_model)
    assert sorted(p.name for p in shipped_mlflow_model.iterdir()) == before
    broken = tmp_path / "models"
    shutil.copytree(models_dir() / "conductivity", broken / "conductivity")
    (broken / "conductivity" / "estimator.json").write_text("{")
    with pytest.raises(ModelLoadError):
        save_model(broken, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"], "nothing written, no partial folder left"


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory):
    """A training run logged and registered in a fresh SQLite store, from a copy of the shipped models."""
    root = tmp_path_factory.mktemp("mlflow")
    models = root / "models"
    shutil.copytree(models_dir() / "conductivity", models / "conductivity")
    shutil.copytree(models_dir() / "windows", models / "windows")
    shutil.copytree(models_dir() / "measured", models / "measured")
    report = TrainingReport.read(models_dir() / "metrics.json")
    report.write(models / "metrics.json")
    rng = np.random.default_rng(0)
    observed = rng.uniform(-8, -2, 60)
    predicted = observed + rng.normal(0, 0.5, 60)
    pd.DataFrame({"formula": ["LiCl"] * 60, "source": "curated", "observed": observed, "predicted": predicted,
                  "std": 0.5, "lo90": predicted - 0.8, "hi90": predicted + 0.8}).to_csv(
        models / "grouped_cv_predictions.csv", index=False)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    pytest.MonkeyPatch().setenv("MLFLOW_TRACKING_URI", uri)
    import mlflow

    mlflow.set_tracking_uri(uri)
    conductivity = ConductivityRegressor.load(models / "conductivity")
    run_id = log_training_run(report, models, conductivity.feature_importances(), conductivity.feature_labels_)
    return {"uri": uri, "run_id": run_id, "root": root}


@pytest.mark.slow
def test_tracking_server_lists_run_metrics_plots_and_registered_model(logged_run, tmp_path):
    port = free_port()
    server = start([sys.executable, "-m", "mlflow", "server", "--backend-store-uri", logged_run["uri"],
                    "--default-artifact-root", (tmp_path / "artifacts").as_uri(), "--host", "127.0.0.1",
                    "--port", str(port), "--workers", "1"])
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/health", server)
        experiment = get_json(f"{base}/api/2.0/mlflow/experiments/get-by-name?experiment_name={EXPERIMENT}")
        runs = get_json(f"{base}/api/2.0/mlflow/runs/search",
                        {"experiment_ids": [experiment["experiment"]["experiment_id"]]})["runs"]
        run = next(r for r in runs if r["info"]["run_id"] == logged_run["run_id"])
        metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
        assert metrics["grouped_cv.all.mae"] > 0 and 0 < metrics["grouped_cv.all.coverage90"] <= 1
        assert "window_grouped_cv.oxidation_limit_V.published_halides.mae" in metrics
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        assert "data.table_hash" in tags and "version.lightgbm" in tags
        # what each property is predicted with by default (families.json), not one label for every family
        assert {k: v for k, v in tags.items() if k.startswith("model_family")} == {
            "model_family.conductivity": "gradient-boosted", "model_family.windows": "gradient-boosted"}
        registered = get_json(f"{base}/api/2.0/mlflow/registered-models/get?name={REGISTERED_MODEL}")
        assert registered["registered_model"]["latest_versions"][0]["version"] == "1"
    finally:
        stop(server)

    from mlflow import MlflowClient

    plots = {Path(a.path).name for a in MlflowClient(logged_run["uri"]).list_artifacts(logged_run["run_id"], "plots")}
    assert plots == {"parity.png", "calibration.png", "error_vs_prediction.png", "feature_importance.png"}


@pytest.mark.slow
def test_serving_registered_model_answers_json(logged_run):
    import os

    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": logged_run["uri"]}
    server = start([sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{REGISTERED_MODEL}/1",
                    "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)], env=env)
    try:
        wait_for(f"http://127.0.0.1:{port}/ping", server)
        answer = get_json(f"http://127.0.0.1:{port}/invocations",
                          {"dataframe_records": [{"formula": "Li3YCl6"}, {"formula": "Na3YCl6"}]})
    finally:
        stop(server)
    rows = answer["predictions"]
    assert [r["formula"] for r in rows] == ["Li3YCl6", "Na3YCl6"]
    assert EXPECTED <= set(rows[0])
    assert all(np.isfinite(r[c]) for r in rows for c in ("log10_sigma", "log10_sigma_std", "oxidation_limit_V_std"))
