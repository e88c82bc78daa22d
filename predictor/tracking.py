"""Experiment tracking and model registry with MLflow. The only module that imports mlflow.

Tracking store: ``$MLFLOW_TRACKING_URI`` when set, otherwise a SQLite file ``mlflow.db`` at
the repository root (embedded, no server), with run artifacts in ``mlartifacts/`` beside it.
``PREDICTOR_TRACKING=off`` turns tracking off; training works the same without it.

Every ``predictor train`` run logs its configuration, data version (hash and row counts per
source), library versions, held-out metrics (a ``--quick`` run those of its quick grouped CV; the
``evaluation`` tag says which), diagnostic plots, the model card, and the predictor as a
``pyfunc`` model registered as :data:`REGISTERED_MODEL`.

The MLflow UI (3.17) opens an experiment on its GenAI overview unless the page address names its
runs page or says ``workflowType=machine_learning``: its experiment-kind tag is no longer read (see
:data:`EXPERIMENT_KIND_TAG`). :func:`runs_url` gives the address that opens the experiment on its
runs table with the metrics users compare (:data:`COMPARED_METRICS`) as columns, a view stored on
the experiment (:data:`RUNS_VIEW_KEY`).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.model_layout import (GROUPED_CV_PREDICTIONS_FILE, METRICS_FILE, MODEL_CARD_FILE, MODEL_PARTS,
                                     PYFUNC_DATA, PYFUNC_DIR, PYFUNC_LOADER)
from predictor.paths import REPO_ROOT, in_checkout

log = logging.getLogger(__name__)

EXPERIMENT = "predictor-gbm"
REGISTERED_MODEL = "halide-electrolyte-predictor"
INPUT_EXAMPLE = pd.DataFrame({"formula": ["Li3YCl6", "Na3YCl6", "Li2ZrCl6"]})
#: Parameters of a request (MLflow ``params``), with their defaults: recorded in the model signature.
PARAMS_EXAMPLE = {"temperature_C": 25.0, "model_family": "default"}
# What the experiment is for (model training, not "genai_development"), as MLflow 3 records it. The UI
# of MLflow 3.17 no longer reads it to choose the page an experiment opens on: a feature flag, on in
# the released UI, takes the kind from the "GenAI / Model training" switch of the left bar instead,
# which is the page address's workflowType or else the browser's last choice (GenAI by default).
# Kept for what still reads it (the kind shown on the experiment page, older MLflow 3 UIs).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
# the metrics a user compares training runs by: error, ranking, calibration of the 90 % interval
COMPARED_METRICS = ("grouped_cv.all.mae", "grouped_cv.all.spearman", "grouped_cv.all.coverage90")
# A runs-table view stored on the experiment as MLflow's UI stores a shared view (the tag
# mlflow.sharedViewState.<key>, read when the address has viewStateShareKey=<key>): the compared
# metrics as columns beside the run name, in this order and wide enough to read their names (the UI
# applies a column width only to a column listed in the order).
RUNS_VIEW_KEY = "compare-metrics"
RUNS_VIEW_TAG = f"mlflow.sharedViewState.{RUNS_VIEW_KEY}"
_COMPARED_COLUMNS = [f"metrics.`{m}`" for m in COMPARED_METRICS]
RUNS_VIEW = json.dumps({
    "selectedColumns": ["attributes.`Source`", *_COMPARED_COLUMNS],
    "columnOrder": _COMPARED_COLUMNS,
    "columnWidths": {column: 210 for column in _COMPARED_COLUMNS},
})
UI_ADDRESS = "http://127.0.0.1:5000"


def _quiet_mlflow() -> None:
    """Keep MLflow's chatter off the terminal: its advice to add type hints to the model code,
    its artifact progress bars and its INFO logs (kept with ``predictor -v``)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow shows this advice under its own "once" filter, which wins over any filter of ours
    if not getattr(warnings.showwarning, "drops_type_hint_advice", False):
        show = warnings.showwarning

        def showwarning(message, category, *args, **kwargs):
            if "Add type hints" not in str(message):
                show(message, category, *args, **kwargs)

        showwarning.drops_type_hint_advice = True
        warnings.showwarning = showwarning
    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger("mlflow").setLevel(logging.WARNING)


def tracking_enabled() -> bool:
    return os.environ.get("PREDICTOR_TRACKING", "on").lower() not in ("off", "0", "false", "no")


#: ``mlflow.db`` in the checkout; for an installed package, in the folder the command runs in.
DEFAULT_TRACKING_URI = f"sqlite:///{(REPO_ROOT if in_checkout() else Path.cwd()) / 'mlflow.db'}"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def _artifact_location() -> str | None:
    """Run artifacts of a SQLite store go to ``mlartifacts/`` beside its file (not to the working
    directory); a tracking server decides for itself."""
    uri = tracking_uri()
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
    return None


def _experiment_id(mlflow) -> str:
    """The id of the :data:`EXPERIMENT` experiment, created as a model-training experiment with the
    runs view :data:`RUNS_VIEW` if missing.

    An experiment of an older store gets the kind tag and the current runs view here.
    """
    tags = {EXPERIMENT_KIND_TAG: EXPERIMENT_KIND, RUNS_VIEW_TAG: RUNS_VIEW}
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return mlflow.create_experiment(EXPERIMENT, artifact_location=_artifact_location(), tags=tags)
    for key, value in tags.items():
        if experiment.tags.get(key) != value:
            mlflow.MlflowClient().set_experiment_tag(experiment.experiment_id, key, value)
    return experiment.experiment_id


def runs_url(base: str = UI_ADDRESS, experiment_id: str | None = None) -> str:
    """The address of the experiment's runs table, with the compared metrics as columns, in an MLflow
    UI served at ``base`` (``mlflow ui`` on the tracking store; the experiment of the tracking store
    when no id is given).

    ``/runs`` opens the runs table (the bare experiment address opens MLflow 3.17's GenAI overview),
    ``workflowType=machine_learning`` sets the left bar to "Model training" (runs, models, traces,
    model registry) rather than GenAI's, and ``viewStateShareKey`` applies :data:`RUNS_VIEW`.
    """
    if experiment_id is None:
        from mlflow import MlflowClient

        experiment = MlflowClient(tracking_uri()).get_experiment_by_name(EXPERIMENT)
        experiment_id = experiment.experiment_id if experiment is not None else "<id>"
    return (f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs"
            f"?workflowType=machine_learning&viewStateShareKey={RUNS_VIEW_KEY}")


def ui_command() -> str:
    """The command that serves the MLflow UI on the tracking store at :data:`UI_ADDRESS`."""
    host, port = UI_ADDRESS.removeprefix("http://").split(":")
    return f"mlflow ui --backend-store-uri {tracking_uri()} --host {host} --port {port}"


def _flatten(prefix: str, value, out: dict) -> dict:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and np.isfinite(value):
        out[prefix] = float(value)
    return out


def _signature():
    """The request parameters (:data:`PARAMS_EXAMPLE`) of the MLflow model, as its signature.

    Given explicitly: MLflow infers none for a model saved with a loader module, and without a
    parameter schema MLflow drops ``params``. No input
    schema: the input shapes :func:`predictor.serving.formulas_from_input` accepts (and the error
    rows of non-formulas) stay as they are.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ParamSchema, ParamSpec

    specs = [ParamSpec(name, "string" if isinstance(value, str) else "double", value)
             for name, value in PARAMS_EXAMPLE.items()]
    return ModelSignature(params=ParamSchema(specs))


def _model_parts(models_folder: Path) -> list[str]:
    """The parts of :data:`MODEL_PARTS` the folder holds (a model folder may lack measured values)."""
    return [part for part in MODEL_PARTS if (Path(models_folder) / part).exists()]


def _staged_models(models_folder: Path, into: Path) -> Path:
    """Copy only the model parts (not plots, CSVs or an older MLflow folder) for logging."""
    staged = into / "models"
    staged.mkdir(parents=True)
    for part in _model_parts(models_folder):
        if (models_folder / part).is_dir():
            shutil.copytree(models_folder / part, staged / part)
        else:
            shutil.copy2(models_folder / part, staged / part)
    return staged


def _pip_requirements() -> list[str]:
    """The packages the MLflow model needs: predictor (which brings its own) and mlflow, at the installed versions.

    Given explicitly: MLflow would otherwise load the model in a subprocess to see what it imports.
    """
    from predictor.artifacts import library_versions

    versions = library_versions(("predictor", "mlflow"))
    return [f"{name}=={versions[name]}" for name in ("predictor", "mlflow") if name in versions]


def save_pyfunc_model(models_folder: Path) -> Path:
    """Write the MLflow model folder ``<models_folder>/mlflow_predictor``: data only, no code.

    Its ``MLmodel`` names the installed module :data:`~predictor.model_layout.PYFUNC_LOADER` as
    ``loader_module`` and :data:`~predictor.model_layout.PYFUNC_DATA` as its data: relative links to the model parts beside it, so the shipped
    models are stored once in git yet ``mlflow models serve -m models/mlflow_predictor`` and
    ``mlflow.pyfunc.load_model`` work on a fresh clone. Write its manifest next
    (:func:`predictor.artifacts.write_pyfunc_manifest`).
    """
    import mlflow
    from mlflow.models import Model

    _quiet_mlflow()
    models_folder = Path(models_folder)
    target = models_folder / PYFUNC_DIR
    shutil.rmtree(target, ignore_errors=True)
    mlflow.pyfunc.save_model(path=str(target), loader_module=PYFUNC_LOADER, input_example=INPUT_EXAMPLE,
                             signature=_signature(), pip_requirements=_pip_requirements())
    linked = target / PYFUNC_DATA
    linked.mkdir(parents=True)
    up = Path(*[".."] * (len(Path(PYFUNC_DATA).parts) + 1))  # from the data folder up to the model folder
    for part in _model_parts(models_folder):
        (linked / part).symlink_to(up / part, target_is_directory=(models_folder / part).is_dir())
    model = Model.load(str(target))
    model.flavors["python_function"]["data"] = PYFUNC_DATA
    model.model_size_bytes = sum(os.path.getsize(os.path.join(root, name))  # the linked parts included
                                 for root, _, names in os.walk(target, followlinks=True) for name in names)
    model.save(str(target / "MLmodel"))
    return target


def log_notebook_run(run_name: str, params: dict, metrics: dict, figures: dict | None = None) -> str | None:
    """Log a run from a notebook: parameters, metrics (nested dicts are flattened) and figures.

    Returns the run id, or None when tracking is off.
    """
    if not tracking_enabled():
        return None
    import mlflow

    _quiet_mlflow()  # no INFO lines ("Creating initial MLflow database tables...") in the notebook
    mlflow.set_tracking_uri(tracking_uri())
    with mlflow.start_run(experiment_id=_experiment_id(mlflow), run_name=run_name) as run:
        mlflow.set_tag("source", "notebook")
        mlflow.log_params({k: str(v) for k, v in params.items()})
        mlflow.log_metrics(_flatten("", metrics, {}))
        for name, figure in (figures or {}).items():
            mlflow.log_figure(figure, f"plots/{name}")
    return run.info.run_id


def _evaluation_summary(evaluation: dict, config: dict) -> str:
    """What the run's held-out metrics come from, as a tag (a run without them says so)."""
    if not evaluation:
        return "none (too few labels for calibration folds: no held-out metrics)"
    parts = ["OBELiX split"] if any(k.startswith("obelix_split") for k in evaluation) else []
    parts.append(f"grouped {config['cv_folds']}-fold CV")
    if "held_out_papers" in evaluation:
        parts.append("held-out halide papers")
    return ", ".join(parts)


def training_run_name(report: dict) -> str:
    """What a training run changed, as its MLflow run name: the properties retrained (when not all), the lab's
    labels file, and the date."""
    from predictor.training import PROPERTIES

    labels = report["data"].get("user_labels")
    properties = report.get("properties", list(PROPERTIES))
    words = ["predictor train", *(f"--property {p}" for p in properties if len(properties) < len(PROPERTIES)),
             *([f"--labels {labels}"] if labels else []), report["date"]]
    return " ".join(words)


def log_training_run(report: dict, models_folder: Path, gains: np.ndarray, labels: list[str]) -> str | None:
    """Log one training run and register its predictor; returns the run id (None when off)."""
    if not tracking_enabled():
        return None
    import mlflow

    from predictor.plots import save_diagnostics

    _quiet_mlflow()
    mlflow.set_tracking_uri(tracking_uri())
    models_folder = Path(models_folder)
    with mlflow.start_run(experiment_id=_experiment_id(mlflow), run_name=training_run_name(report)) as run:
        config = report["config"]
        mlflow.log_params({k: str(v) for k, v in config.items() if k not in ("model_params", "window_params")})
        mlflow.log_params({f"model.{k}": v for k, v in config["model_params"].items()})
        mlflow.log_params({f"window_model.{k}": v for k, v in config["window_params"].items()})
        data = report["data"]
        mlflow.set_tags({"data.table_hash": data["table_hash"], "model_family": "gradient-boosted",
                         **{f"version.{k}": v for k, v in report["versions"].items()}})
        mlflow.log_metrics({f"data.rows.{k}": v for k, v in data["rows_per_source"].items()} | {"data.rows": data["rows"]})
        evaluation = copy.deepcopy(report["evaluation"])
        mlflow.set_tag("evaluation", _evaluation_summary(evaluation, config))
        folds = evaluation.get("grouped_cv", {}).pop("per_fold", [])
        mlflow.log_metrics(_flatten("", evaluation, {}))
        for step, fold in enumerate(folds):
            mlflow.log_metrics({f"grouped_cv.fold.{k}": v for k, v in _flatten("", fold, {}).items()}, step=step)
        predictions = models_folder / GROUPED_CV_PREDICTIONS_FILE
        with tempfile.TemporaryDirectory() as tmp:
            if predictions.is_file():
                save_diagnostics(pd.read_csv(predictions), labels, gains, Path(tmp) / "plots")
                mlflow.log_artifacts(str(Path(tmp) / "plots"), artifact_path="plots")
            for name in (METRICS_FILE, MODEL_CARD_FILE):
                if (models_folder / name).is_file():
                    mlflow.log_artifact(str(models_folder / name))
            mlflow.pyfunc.log_model(
                name="predictor", loader_module=PYFUNC_LOADER, data_path=str(_staged_models(models_folder, Path(tmp))),
                input_example=INPUT_EXAMPLE, signature=_signature(), pip_requirements=_pip_requirements(),
                registered_model_name=REGISTERED_MODEL,
            )
    log.info("MLflow run %s logged to %s", run.info.run_id, tracking_uri())
    return run.info.run_id
