"""The layout of a model folder (``models/`` or the output of ``predictor train``), in one place.

A model folder holds one subfolder per model part, each with its own manifest
(:mod:`predictor.artifacts`), and the files written beside them by training, which its own
``manifest.json`` covers::

    conductivity/               ConductivityRegressor (log10 S/cm), the gradient-boosted family
    windows/                    WindowRegressor: one subfolder per limit (reduction_limit_V, oxidation_limit_V)
    families/<family>/conductivity, families/<family>/windows
                                the same parts of the other model families (graph-network)
    families.json               the family each property is predicted with by default
    measured/                   MeasuredValues: the conductivity labels shown beside predictions
    activation/                 activation-energy model (conductivity away from 25 °C)
    metrics.json                the training report: configuration, data summary, held-out metrics
    README.md                   the model card, written from metrics.json (``python -m predictor.training.model_card``
                                rewrites it and this folder's manifest; an edit by hand is refused)
    pretrained/                 pretrained graph-network weights, kept across retraining
    grouped_cv_predictions.csv  out-of-fold predictions (not committed: they hold third-party labels)
    held_out_papers_predictions.csv
                                predictions of the held-out halide papers (curated values)
    window_cv_predictions.csv
    activation_cv_predictions.csv
    manifest.json               the hashes of the top-level files above (the subfolders have their own;
                                hidden files such as .DS_Store are not listed)

Each model part's manifest names what it holds, ``property`` (the part: conductivity, windows,
activation, measured, pretrained) and ``target`` (:func:`part_holds`), and the loader refuses a
part that holds something else than its place in this layout says: swapped window limits, or
the activation-energy model copied over the conductivity model.

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
#: The MLflow model that training wrote into a model folder before it was built when asked
#: (:func:`predictor.interfaces.serving.save_model`); training replaces a folder holding one.
LEGACY_PYFUNC_DIR = "mlflow_predictor"
#: The MLflow model's ``loader_module``: the module of the installed package that loads it (no code is copied into it).
PYFUNC_LOADER = "predictor.interfaces.serving"
#: Where an MLflow model folder holds the model parts (``MLmodel``'s ``data``): copies of those of :data:`MODEL_PARTS`.
PYFUNC_DATA = "data/models"
FAMILIES_DIR = "families"
FAMILIES_FILE = "families.json"
MANIFEST_FILE = "manifest.json"

#: What each model part predicts, as its manifest names it (``property``: the part, ``target``).
CONDUCTIVITY_TARGET = "log10_sigma"
WINDOW_LIMITS = ("reduction_limit_V", "oxidation_limit_V")
ACTIVATION_TARGET = "Ea_eV"
MEASURED_TARGET = "measured_log10_sigma"
PRETRAINED_TARGET = "formation_energy_per_atom"

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
#: The targets a part of each property may hold, by its folder (a window limit: its sub-folder).
PART_TARGETS = {CONDUCTIVITY_DIR: (CONDUCTIVITY_TARGET,), WINDOWS_DIR: WINDOW_LIMITS, ACTIVATION_DIR: (ACTIVATION_TARGET,),
                MEASURED_DIR: (MEASURED_TARGET,), PRETRAINED_DIR: (PRETRAINED_TARGET,)}


def part_holds(target: str) -> tuple[str, str]:
    """What the manifest of the model part predicting ``target`` names: ``(property, target)``.

    Written with the part (``write_manifest(..., holds=part_holds(target))``) and expected where it
    is loaded (``read_manifest(..., expected=part_holds(target))``).

    Raises
    ------
    ValueError
        For a target no part of a model folder predicts (not in :data:`PART_TARGETS`).
    """
    part = next((part for part, targets in PART_TARGETS.items() if target in targets), None)
    if part is None:
        known = ", ".join(t for targets in PART_TARGETS.values() for t in targets)
        raise ValueError(f"target {target!r} is not one a model folder holds ({known})")
    return part, target

GROUPED_CV_PREDICTIONS_FILE = "grouped_cv_predictions.csv"
HELD_OUT_PAPERS_PREDICTIONS_FILE = "held_out_papers_predictions.csv"
WINDOW_CV_PREDICTIONS_FILE = "window_cv_predictions.csv"
ACTIVATION_CV_PREDICTIONS_FILE = "activation_cv_predictions.csv"

#: The model parts that the MLflow model holds in :data:`PYFUNC_DATA` (those a folder holds), in this order;
#: the folder's manifest vouches for ``families.json`` in the MLflow model's copy of the parts.
MODEL_PARTS = (CONDUCTIVITY_DIR, WINDOWS_DIR, MEASURED_DIR, ACTIVATION_DIR, FAMILIES_DIR, FAMILIES_FILE, MANIFEST_FILE)
#: The top-level files of a model folder that predictions read (verified by its manifest when loaded).
PREDICTION_FILES = (FAMILIES_FILE,)
#: Kept from the previous model folder by training: written by other commands (``python -m predictor.estimators.graph.pretrain``).
KEPT_FOLDERS = (PRETRAINED_DIR,)
#: What a model folder may hold; training refuses to replace a folder holding anything else.
MODEL_FOLDER_ENTRIES = (CONDUCTIVITY_DIR, WINDOWS_DIR, MEASURED_DIR, ACTIVATION_DIR, FAMILIES_DIR, FAMILIES_FILE,
                        METRICS_FILE, MODEL_CARD_FILE, MANIFEST_FILE,
                        LEGACY_PYFUNC_DIR, GROUPED_CV_PREDICTIONS_FILE, HELD_OUT_PAPERS_PREDICTIONS_FILE,
                        WINDOW_CV_PREDICTIONS_FILE,
                        ACTIVATION_CV_PREDICTIONS_FILE, *KEPT_FOLDERS)
