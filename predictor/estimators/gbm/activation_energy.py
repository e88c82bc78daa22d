"""Activation energy (Ea, eV) regressor and the model of conductivity at other temperatures.

:class:`ActivationEnergyRegressor` is the gradient-boosted model of the other properties (same
descriptors, bag, calibrated std and 90 % interval, applicability domain, trace elements pinned)
on activation-energy labels (:mod:`predictor.loaders.activation_labels`).

:class:`ArrheniusModel` adds what the conversion of a room-temperature conductivity to another
temperature needs besides Ea (:mod:`predictor.prediction.temperature`): the correlation between the
errors of the room-temperature log10 sigma and of Ea, estimated from grouped out-of-fold
residuals of the two models on the compositions that have both labels, and the temperature
range the labels cover.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from predictor.artifacts import finite_array, read_json, read_manifest, write_manifest
from predictor.errors import ModelLoadError
from predictor.estimators.gbm.model import GBMRegressor
from predictor.estimators.trace_elements import TraceElementPinning
from predictor.model_layout import ACTIVATION_TARGET, part_holds

ARRHENIUS_KIND = "arrhenius-model"
ARRHENIUS_FILE = "arrhenius.json"
EA_MODEL_DIR = ACTIVATION_TARGET
#: Fewest compositions with both out-of-fold residuals for the correlation to be estimated.
MIN_CORRELATION_PAIRS = 10


class ActivationEnergyRegressor(TraceElementPinning, GBMRegressor):
    """Gradient-boosted regressor of the activation energy of ion conduction, in eV.

    Same parameters as :class:`GBMRegressor`; a trace element moves Ea by a trace only
    (:mod:`predictor.estimators.trace_elements`). Targets and predictions are Ea in eV (the
    Arrhenius convention sigma*T = A*exp(-Ea/(k*T)) of :mod:`predictor.prediction.temperature`).
    """

    target_name = ACTIVATION_TARGET
    target_unit = "eV"
    #: Spread of repeated reports of one composition: the curated file has 19 compositions
    #: reported more than once, their median range is 0.11 eV, their median std 0.05-0.07 eV.
    default_noise_floor = 0.05
    #: Ea moves conductivity away from 25 °C: smoothed like the conductivity model (:mod:`predictor.estimators.gbm.model`).
    default_input_noise = 0.05


def residual_correlation(keys_a, residuals_a, keys_b, residuals_b) -> tuple[float, int]:
    """Pearson correlation of two residual series matched on their keys, and the number of pairs.

    Returns NaN when fewer than 3 pairs or a constant series.
    """
    a = dict(zip(keys_a, np.asarray(residuals_a, float)))
    pairs = [(a[k], r) for k, r in zip(keys_b, np.asarray(residuals_b, float)) if k in a]
    pairs = [(x, y) for x, y in pairs if math.isfinite(x) and math.isfinite(y)]
    if len(pairs) < 3:
        return float("nan"), len(pairs)
    x, y = np.array(pairs).T
    if np.std(x) == 0 or np.std(y) == 0:
        return float("nan"), len(pairs)
    return float(np.corrcoef(x, y)[0, 1]), len(pairs)


class ArrheniusModel:
    """Activation-energy model and what sigma at another temperature needs besides it.

    Parameters
    ----------
    ea_model : ActivationEnergyRegressor
        Fitted, with calibrated uncertainty.
    correlation : float
        Correlation between the errors of the room-temperature log10 sigma and of Ea used in
        the propagation (``correlation_estimate`` when estimated from enough pairs, else 0).
    correlation_estimate : float
        The estimate from out-of-fold residuals (NaN when it could not be estimated).
    correlation_pairs : int
        Compositions it was estimated on.
    label_temperature_range_C : (float, float) or None
        Temperatures (°C) most activation-energy labels were measured over: the 10th
        percentile of the lowest and the 90th percentile of the highest fit temperature of
        the labels that state them; None when no label states its range.
    """

    def __init__(self, ea_model: ActivationEnergyRegressor, correlation: float, correlation_estimate: float,
                 correlation_pairs: int, label_temperature_range_C: tuple[float, float] | None):
        if not -1.0 <= correlation <= 1.0:
            raise ValueError(f"correlation={correlation} must be within -1..1")
        self.ea_model = ea_model
        self.correlation = float(correlation)
        self.correlation_estimate = float(correlation_estimate)
        self.correlation_pairs = int(correlation_pairs)
        self.label_temperature_range_C = (None if label_temperature_range_C is None
                                          else tuple(float(t) for t in label_temperature_range_C))

    @classmethod
    def from_fitted(cls, ea_model: ActivationEnergyRegressor, labels, conductivity_keys, conductivity_residuals,
                    ea_keys) -> "ArrheniusModel":
        """Build from a fitted Ea model and the out-of-fold residuals of both models.

        Parameters
        ----------
        ea_model : ActivationEnergyRegressor
            Fitted with calibration (its ``oof_residuals_`` are the Ea residuals, eV).
        labels : pandas.DataFrame
            The Ea labels it was fitted on (``T_min_C``, ``T_max_C``).
        conductivity_keys, conductivity_residuals : sequences
            Composition keys and out-of-fold residuals (log10 S/cm) of the conductivity model.
        ea_keys : sequence
            Composition keys of the Ea labels, in fitting order.
        """
        residuals = getattr(ea_model, "oof_residuals_", None)
        if residuals is None or conductivity_residuals is None:
            estimate, pairs = float("nan"), 0
        else:
            estimate, pairs = residual_correlation(conductivity_keys, conductivity_residuals, ea_keys, residuals)
        correlation = estimate if pairs >= MIN_CORRELATION_PAIRS and math.isfinite(estimate) else 0.0
        low, high = labels["T_min_C"].dropna(), labels["T_max_C"].dropna()
        span = (float(np.percentile(low, 10)), float(np.percentile(high, 90))) if len(low) and len(high) else None
        return cls(ea_model, correlation, estimate, pairs, span)

    def predict_distribution(self, compositions, features: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Ea prediction (eV): see :meth:`GBMRegressor.predict_distribution`."""
        return self.ea_model.predict_distribution(compositions, features)

    def temperature_note(self, temperature_C: float) -> str:
        """Why a temperature is outside what the labels cover (empty when inside)."""
        if self.label_temperature_range_C is None:
            return ""
        low, high = self.label_temperature_range_C
        if low <= temperature_C <= high:
            return ""
        return (f"{temperature_C:g} °C is outside {low:.0f}-{high:.0f} °C, where most activation-energy labels "
                "were measured: the Arrhenius extrapolation assumes no phase transition")

    def save(self, folder: str | Path) -> Path:
        """Write the Ea model (``Ea_eV/``) and ``arrhenius.json`` with a manifest into an empty ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.ea_model.save(folder / EA_MODEL_DIR)
        settings = {
            "correlation": self.correlation,
            "correlation_estimate": None if math.isnan(self.correlation_estimate) else self.correlation_estimate,
            "correlation_pairs": self.correlation_pairs,
            "label_temperature_range_C": (None if self.label_temperature_range_C is None
                                          else list(self.label_temperature_range_C)),
        }
        temporary = folder / f".{ARRHENIUS_FILE}.tmp"
        temporary.write_text(json.dumps(settings, indent=1) + "\n")
        temporary.replace(folder / ARRHENIUS_FILE)
        write_manifest(folder, ARRHENIUS_KIND, [ARRHENIUS_FILE], exclude=(EA_MODEL_DIR,),
                       holds=part_holds(ACTIVATION_TARGET))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "ArrheniusModel":
        """Load a model written by :meth:`save`, verifying both manifests.

        Raises
        ------
        ModelLoadError
            When a file is missing, altered, the settings are not what :meth:`save` writes (numbers
            not finite, a range not two temperatures), or a manifest names another property or
            target than the activation energy.
        """
        folder = Path(folder)
        expected = part_holds(ACTIVATION_TARGET)
        read_manifest(folder, ARRHENIUS_KIND, exclude=(EA_MODEL_DIR,), expected=expected)
        ea_model = ActivationEnergyRegressor.load(folder / EA_MODEL_DIR, expected=expected)
        path = folder / ARRHENIUS_FILE
        settings = read_json(path, what="the settings of an Arrhenius model")
        try:
            estimate = settings["correlation_estimate"]
            span = settings["label_temperature_range_C"]
            if span is not None:
                span = tuple(float(t) for t in finite_array(span, path, "label_temperature_range_C", (2,)))
            estimate = float("nan") if estimate is None else float(finite_array(estimate, path, "correlation_estimate"))
            return cls(ea_model, float(finite_array(settings["correlation"], path, "correlation")), estimate,
                       int(settings["correlation_pairs"]), span)
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"{path}: not the settings of an Arrhenius model ({type(exc).__name__}: {exc})") from None
