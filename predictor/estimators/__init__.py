"""Estimators with the scikit-learn interface: fit(formulas, y), predict(formulas)."""

from predictor.estimators.calibration import UncertaintyCalibration
from predictor.estimators.gbm.model import ConductivityRegressor, GBMRegressor
from predictor.estimators.window import WindowRegressor

__all__ = ["ConductivityRegressor", "GBMRegressor", "UncertaintyCalibration", "WindowRegressor"]
