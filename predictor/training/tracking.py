"""Experiment tracking and model registry with MLflow (the MLflow model itself: :mod:`predictor.interfaces.serving`).

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
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.model_layout import GROUPED_CV_PREDICTIONS_FILE, METRICS_FILE, MODEL_CARD_FILE, PYFUNC_LOADER
from predictor.paths import REPO_ROOT, in_checkout
from predictor.training.report import TrainingReport

log = logging.getLogger(__name__)

EXPERIMENT = "predictor-gbm"
REGISTERED_MODEL = "halide-electrolyte-predictor"
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


def quiet_mlflow() -> None:
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


def log_notebook_run(run_name: str, params: dict, metrics: dict, figures: dict | None = None) -> str | None:
    """Log a run from a notebook: parameters, metrics (nested dicts are flattened) and figures.

    Returns the run id, or None when tracking is off.
    """
    if not tracking_enabled():
        return None
    import mlflow

    quiet_mlflow()  # no INFO lines ("Creating initial MLflow database tables...") in the notebook
    mlflow.set_tracking_uri(tracking_uri())
    with mlflow.start_run(experiment_id=_experiment_id(mlflow), run_name=run_name) as run:
        mlflow.set_tag("source", "notebook")
        mlflow.log_params({k: str(v) for k, v in params.items()})
        mlflow.log_metrics(_flatten("", metrics, {}))
        for name, figure in (figures or {}).items():
            mlflow.log_figure(figure, f"plots/{name}")
    return run.info.run_id


def _evaluation_summary(report: TrainingReport) -> str:
    """What the run's held-out metrics come from, as a tag (a run without them says so)."""
    evaluation = report.evaluation
    if not evaluation:
        return "none (too few labels for calibration folds: no held-out metrics)"
    parts = ["OBELiX split"] if any(k.startswith("obelix_split") for k in evaluation) else []
    parts.append(f"grouped {report.config['cv_folds']}-fold CV")
    if "held_out_papers" in evaluation:
        parts.append("held-out halide papers")
    return ", ".join(parts)


def training_run_name(report: TrainingReport) -> str:
    """What a training run changed, as its MLflow run name: the properties retrained (when not all), the lab's
    labels file, and the date."""
    from predictor.training.pipeline import PROPERTIES

    labels = report.data.user_labels
    properties = report.properties if report.properties is not None else list(PROPERTIES)
    words = ["predictor train", *(f"--property {p}" for p in properties if len(properties) < len(PROPERTIES)),
             *([f"--labels {labels}"] if labels else []), report.date]
    return " ".join(words)


def _model_family_tags(report: TrainingReport) -> dict[str, str]:
    """``model_family.<property>``: the family each property is predicted with by default (``families.json``).

    A run trains every family; these say which one answers when none is asked for.
    """
    defaults = report.default_families.default if report.default_families is not None else {}
    return {f"model_family.{prop}": family for prop, family in defaults.items()}


def log_training_run(report: TrainingReport, models_folder: Path, gains: np.ndarray,
                     labels: list[str]) -> str | None:
    """Log one training run and register its predictor; returns the run id (None when off)."""
    if not tracking_enabled():
        return None
    import mlflow

    from predictor.interfaces.plots import save_diagnostics
    from predictor.interfaces.serving import INPUT_EXAMPLE, pip_requirements, signature, staged_model_parts

    quiet_mlflow()
    mlflow.set_tracking_uri(tracking_uri())
    models_folder = Path(models_folder)
    with mlflow.start_run(experiment_id=_experiment_id(mlflow), run_name=training_run_name(report)) as run:
        config = report.config
        mlflow.log_params({k: str(v) for k, v in config.items() if k not in ("model_params", "window_params")})
        mlflow.log_params({f"model.{k}": v for k, v in config["model_params"].items()})
        mlflow.log_params({f"window_model.{k}": v for k, v in config["window_params"].items()})
        data = report.data
        mlflow.set_tags({"data.table_hash": data.table_hash, **_model_family_tags(report),
                         **{f"version.{k}": v for k, v in report.versions.items()}})
        mlflow.log_metrics({f"data.rows.{k}": v for k, v in data.rows_per_source.items()} | {"data.rows": data.rows})
        mlflow.set_tag("evaluation", _evaluation_summary(report))
        evaluation = copy.deepcopy(report.evaluation)
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
                name="predictor", loader_module=PYFUNC_LOADER, data_path=str(staged_model_parts(models_folder, Path(tmp))),
                input_example=INPUT_EXAMPLE, signature=signature(), pip_requirements=pip_requirements(),
                registered_model_name=REGISTERED_MODEL,
            )
    log.info("MLflow run %s logged to %s", run.info.run_id, tracking_uri())
    return run.info.run_id
