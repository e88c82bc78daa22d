"""predictor: ionic conductivity and electrochemical window of solid electrolytes from composition.

The public names are imported on first use, so that ``predictor --help`` answers at once.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "CompositionError": "predictor.errors",
    "DataNotFoundError": "predictor.errors",
    "ModelLoadError": "predictor.errors",
    "PredictorError": "predictor.errors",
    "parse_formula": "predictor.composition",
    "ConductivityRegressor": "predictor.estimators",
    "WindowRegressor": "predictor.estimators",
    "ActivationEnergyRegressor": "predictor.estimators.gbm.activation_energy",
    "Predictor": "predictor.predictor",
    "GraphConductivityRegressor": "predictor.estimators.graph.regressor",
    "GraphWindowLimitRegressor": "predictor.estimators.graph.regressor",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'predictor' has no attribute {name!r}")
