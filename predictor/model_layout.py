"""The layout of a model folder (``models/`` or the output of ``predictor train``), in one place.

A model folder holds one subfolder per model part, each with its own manifest
(:mod:`predictor.artifacts`), and the files written beside them by training::

    conductivity/               ConductivityRegressor (log10 S/cm), the gradient-boosted family
    windows/                    WindowRegressor: one subfolder per limit (reduction_limit_V, oxidation_limit_V)
    families/<family>/conductivity, families/<family>/windows
                                the same parts of the other model families (graph-network)
    families.json               the family each property is predicted with by default
    measured/                   MeasuredValues: the conductivity labels shown beside predictions
    activation/                 activation-energy model (conductivity away from 25 °C)
    metrics.json                the training report: configuration, data summary, held-out metrics
    README.md                   the model card, written from metrics.json
    mlflow_predictor/           the MLflow model; its artifacts link to the model parts above
    pretrained/                 pretrained graph-network weights, kept across retraining
    grouped_cv_predictions.csv  out-of-fold predictions (not committed: they hold third-party labels)
    held_out_papers_predictions.csv
                                predictions of the held-out halide papers (curated values)
    window_cv_predictions.csv
    activation_cv_predictions.csv

Importing this module imports nothing else, so that loading a predictor never pulls in the
training pipeline for a folder name.
"""

from __future__ import annotations

CONDUCTIVITY_DIR = "conductivity"
WINDOWS_DIR = "windows"
MEASURED_DIR = "measured"
ACTIVATION_DIR = "activation"
METRICS_FILE = "metrics.json"
MODEL_CARD_FILE = "README.md"
PYFUNC_DIR = "mlflow_predictor"
FAMILIES_DIR = "families"
FAMILIES_FILE = "families.json"

GRADIENT_BOOSTED = "gradient-boosted"
GRAPH_NETWORK = "graph-network"
AVERAGE = "average"
#: The model families a model folder stores; the gradient-boosted one at the top level.
STORED_FAMILIES = (GRADIENT_BOOSTED, GRAPH_NETWORK)
#: Families made of stored ones, nothing stored of their own: the mean of their predictions.
AVERAGED_FAMILIES = {AVERAGE: (GRADIENT_BOOSTED, GRAPH_NETWORK)}
#: Every family a predictor can be loaded with.
MODEL_FAMILIES = (*STORED_FAMILIES, *AVERAGED_FAMILIES)
#: The properties whose model family can be chosen (``Predictor.load(model_family=...)``).
PROPERTY_PARTS = (CONDUCTIVITY_DIR, WINDOWS_DIR)


def family_part(family: str, part: str) -> str:
    """The folder (relative to the model folder) of a property ``part`` of a model ``family``."""
    return part if family == GRADIENT_BOOSTED else f"{FAMILIES_DIR}/{family}/{part}"

PRETRAINED_DIR = "pretrained"
GROUPED_CV_PREDICTIONS_FILE = "grouped_cv_predictions.csv"
HELD_OUT_PAPERS_PREDICTIONS_FILE = "held_out_papers_predictions.csv"
WINDOW_CV_PREDICTIONS_FILE = "window_cv_predictions.csv"
ACTIVATION_CV_PREDICTIONS_FILE = "activation_cv_predictions.csv"

#: The model parts that the MLflow model links to (those a folder holds), in this order.
MODEL_PARTS = (CONDUCTIVITY_DIR, WINDOWS_DIR, MEASURED_DIR, ACTIVATION_DIR, FAMILIES_DIR, FAMILIES_FILE)
#: Kept from the previous model folder by training: written by other commands (``python -m predictor.nn.pretrain``).
KEPT_FOLDERS = (PRETRAINED_DIR,)
#: What a model folder may hold; training refuses to replace a folder holding anything else.
MODEL_FOLDER_ENTRIES = (CONDUCTIVITY_DIR, WINDOWS_DIR, MEASURED_DIR, ACTIVATION_DIR, FAMILIES_DIR, FAMILIES_FILE,
                        METRICS_FILE, MODEL_CARD_FILE,
                        PYFUNC_DIR, GROUPED_CV_PREDICTIONS_FILE, HELD_OUT_PAPERS_PREDICTIONS_FILE,
                        WINDOW_CV_PREDICTIONS_FILE,
                        ACTIVATION_CV_PREDICTIONS_FILE, *KEPT_FOLDERS)
