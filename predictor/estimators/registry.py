"""Saved estimators by class name: load a model folder whatever family wrote it.

Every saved property model names its class in its manifest (``estimator``); :func:`load_saved`
imports that class from :data:`ESTIMATORS` (and nothing else, so a manifest cannot make the
loader import arbitrary code) and calls its ``load``. A new model family registers its
classes here.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from predictor.artifacts import load_estimator, read_manifest_json
from predictor.errors import ModelLoadError

#: Class name -> "module:Class" of every estimator a model folder may hold.
ESTIMATORS = {
    "ConductivityRegressor": "predictor.estimators.gbm.model:ConductivityRegressor",
    "WindowLimitRegressor": "predictor.estimators.window:WindowLimitRegressor",
    "ActivationEnergyRegressor": "predictor.estimators.gbm.activation_energy:ActivationEnergyRegressor",
    "GraphConductivityRegressor": "predictor.estimators.graph.regressor:GraphConductivityRegressor",
    "GraphWindowLimitRegressor": "predictor.estimators.graph.regressor:GraphWindowLimitRegressor",
}


def estimator_class(name: str) -> type:
    """The registered estimator class called ``name``.

    Raises
    ------
    ModelLoadError
        For a name that is not registered.
    """
    if name not in ESTIMATORS:
        raise ModelLoadError(f"unknown estimator class {name!r}: this version of predictor reads "
                             f"{', '.join(ESTIMATORS)}")
    module, attribute = ESTIMATORS[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def load_saved(folder: str | Path, holds: tuple[str, str] | None = None):
    """Load the estimator saved in ``folder``, of the class its manifest names.

    ``holds``: the ``(property, target)`` its manifest must name where the caller loads it from
    (:func:`predictor.model_layout.part_holds`; the ``expected`` of
    :func:`predictor.artifacts.read_manifest`), checked before its files are read.

    Raises
    ------
    ModelLoadError
        Naming the folder and the reason (missing or damaged files, an unknown class, another
        property or target than ``holds``).
    """
    folder = Path(folder)
    name = read_manifest_json(folder).get("estimator")
    if not isinstance(name, str):
        raise ModelLoadError(f"{folder}/manifest.json names no estimator class; retrain with `predictor train`")
    return load_estimator(estimator_class(name), folder, expected=holds)
