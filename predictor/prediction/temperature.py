"""Conductivity at any temperature: Arrhenius conversion, fits and uncertainty propagation.

Convention (the one of the curated label rule, :mod:`predictor.loaders.curated`): the
conductivity of an ion conductor follows sigma*T = A*exp(-Ea/(k*T)), so that

    log10 sigma(T) = log10 sigma(T0) + log10(T0/T) + c(T) * Ea,
    c(T) = -(1/T - 1/T0) / (k * ln 10)      (per eV; T, T0 in K),

with k Boltzmann's constant in eV/K. ``c`` is 0 at T = T0, negative below it.

Propagation: with ``s`` the standard deviation of the room-temperature prediction (log10 S/cm),
``s_E`` that of the activation energy (eV) and ``rho`` the correlation of their errors,

    std(T)^2 = s^2 + c^2 s_E^2 + 2 c rho s s_E.

At T0 this is ``s`` exactly, so the room-temperature columns are unchanged. The calibrated 90 %
interval is scaled by std(T)/s around the moved mean.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

BOLTZMANN_EV_PER_K = 8.617333262e-5
ZERO_CELSIUS_K = 273.15
#: Temperature of the room-temperature predictions and labels (°C).
REFERENCE_TEMPERATURE_C = 25.0


def check_temperature_C(value, name: str = "temperature_C") -> float:
    """The temperature as a float in °C, or a clear error naming the input.

    Raises
    ------
    TypeError
        For anything that is not a real number (a string, None, a bool, a list).
    ValueError
        For NaN, infinity, or a temperature at or below absolute zero (-273.15 °C).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in °C, got {value!r} ({type(value).__name__})")
    temperature = float(value)
    if not math.isfinite(temperature):
        raise ValueError(f"{name}={value!r} is not a finite temperature in °C")
    if temperature <= -ZERO_CELSIUS_K:
        raise ValueError(f"{name}={value!r} °C is at or below absolute zero (-273.15 °C)")
    return temperature


def arrhenius_coefficient(temperature_C, reference_C: float = REFERENCE_TEMPERATURE_C):
    """c(T) of the module docstring: change of log10 sigma per eV of activation energy (1/eV).

    ``temperature_C`` may be a float or an array (°C).
    """
    t_k = np.asarray(temperature_C, dtype=float) + ZERO_CELSIUS_K
    t0_k = reference_C + ZERO_CELSIUS_K
    return -(1.0 / t_k - 1.0 / t0_k) / (BOLTZMANN_EV_PER_K * math.log(10.0))


def convert_log10_sigma(log10_sigma, Ea_eV, temperature_C, reference_C: float = REFERENCE_TEMPERATURE_C):
    """log10 sigma (S/cm) at ``temperature_C`` from its value at ``reference_C`` and Ea (eV)."""
    t_k = np.asarray(temperature_C, dtype=float) + ZERO_CELSIUS_K
    t0_k = reference_C + ZERO_CELSIUS_K
    return (np.asarray(log10_sigma, dtype=float) + np.log10(t0_k / t_k)
            + arrhenius_coefficient(temperature_C, reference_C) * np.asarray(Ea_eV, dtype=float))


def propagate(log10_sigma, log10_sigma_std, lo90, hi90, Ea_eV, Ea_eV_std, correlation: float,
              temperature_C: float, reference_C: float = REFERENCE_TEMPERATURE_C) -> dict[str, np.ndarray]:
    """Conductivity at ``temperature_C`` with the uncertainty of both predictions propagated.

    Parameters
    ----------
    log10_sigma, log10_sigma_std, lo90, hi90 : array-like
        Room-temperature (``reference_C``) prediction, its calibrated std and 90 % bounds
        (log10 S/cm).
    Ea_eV, Ea_eV_std : array-like
        Activation energy and its calibrated std (eV).
    correlation : float
        Correlation between the errors of the room-temperature log10 sigma and of Ea.
    temperature_C : float

    Returns
    -------
    dict of ndarray
        ``mean``, ``std``, ``lo``, ``hi`` in log10 S/cm at ``temperature_C``. At
        ``reference_C`` they equal the inputs.
    """
    if not -1.0 <= correlation <= 1.0:
        raise ValueError(f"correlation={correlation} must be within -1..1")
    mean_rt, std_rt = np.asarray(log10_sigma, float), np.asarray(log10_sigma_std, float)
    lo_rt, hi_rt = np.asarray(lo90, float), np.asarray(hi90, float)
    if temperature_C == reference_C:
        return {"mean": mean_rt.copy(), "std": std_rt.copy(), "lo": lo_rt.copy(), "hi": hi_rt.copy()}
    ea, ea_std = np.asarray(Ea_eV, float), np.asarray(Ea_eV_std, float)
    c = float(arrhenius_coefficient(temperature_C, reference_C))
    mean = convert_log10_sigma(mean_rt, ea, temperature_C, reference_C)
    variance = std_rt**2 + (c * ea_std) ** 2 + 2.0 * c * correlation * std_rt * ea_std
    std = np.sqrt(np.maximum(variance, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(std_rt > 0, std / std_rt, np.nan)
    return {"mean": mean, "std": std, "lo": mean - (mean_rt - lo_rt) * scale, "hi": mean + (hi_rt - mean_rt) * scale}


@dataclass(frozen=True)
class ArrheniusFit:
    """Least-squares fit of log10(sigma*T) against 1/T.

    Attributes
    ----------
    Ea_eV : float
        Activation energy (eV).
    Ea_se_eV : float
        Its standard error (eV); NaN for two temperatures (the line is then exact).
    log10_sigma_25 : float
        The fitted log10 sigma at 25 °C (log10 S/cm).
    log10_sigma_25_se : float
        Its standard error (NaN for two temperatures).
    n_points : int
    T_min_C, T_max_C : float
        Temperature range of the points (°C).
    residual_std : float
        Standard deviation of the residuals of log10(sigma*T) (NaN for two temperatures).
    """

    Ea_eV: float
    Ea_se_eV: float
    log10_sigma_25: float
    log10_sigma_25_se: float
    n_points: int
    T_min_C: float
    T_max_C: float
    residual_std: float


def fit_arrhenius(temperatures_C, log10_sigma) -> ArrheniusFit:
    """Fit sigma*T = A*exp(-Ea/(k*T)) to measurements at several temperatures.

    Ordinary least squares of log10(sigma*T) on 1/T (T in K): the slope is -Ea/(k ln 10).

    Parameters
    ----------
    temperatures_C : array-like, °C
    log10_sigma : array-like, log10(S/cm)

    Raises
    ------
    ValueError
        With fewer than two distinct temperatures, or non-finite values.
    """
    t_c = np.asarray(temperatures_C, dtype=float)
    y_sigma = np.asarray(log10_sigma, dtype=float)
    if t_c.shape != y_sigma.shape or t_c.ndim != 1:
        raise ValueError(f"temperatures ({t_c.shape}) and log10 sigma ({y_sigma.shape}) must be 1-D of one length")
    if not (np.isfinite(t_c).all() and np.isfinite(y_sigma).all()):
        raise ValueError("temperatures and log10 sigma must be finite")
    if len(np.unique(t_c)) < 2:
        raise ValueError(f"an Arrhenius fit needs at least two distinct temperatures, got {sorted(set(t_c.tolist()))}")
    t_k = t_c + ZERO_CELSIUS_K
    # centred on 25 °C: the intercept is then log10(sigma*T) at 25 °C
    x = 1.0 / t_k - 1.0 / (REFERENCE_TEMPERATURE_C + ZERO_CELSIUS_K)
    y = y_sigma + np.log10(t_k)
    design = np.column_stack([np.ones_like(x), x])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    intercept, slope = coefficients
    scale = BOLTZMANN_EV_PER_K * math.log(10.0)
    n = len(x)
    if n > 2:
        residuals = y - design @ coefficients
        residual_var = float(residuals @ residuals) / (n - 2)
        covariance = residual_var * np.linalg.inv(design.T @ design)
        intercept_se, slope_se, residual_std = math.sqrt(covariance[0, 0]), math.sqrt(covariance[1, 1]), math.sqrt(residual_var)
    else:
        intercept_se = slope_se = residual_std = float("nan")
    return ArrheniusFit(
        Ea_eV=float(-slope * scale), Ea_se_eV=float(slope_se * scale),
        log10_sigma_25=float(intercept - math.log10(REFERENCE_TEMPERATURE_C + ZERO_CELSIUS_K)),
        log10_sigma_25_se=float(intercept_se), n_points=int(n),
        T_min_C=float(t_c.min()), T_max_C=float(t_c.max()), residual_std=float(residual_std),
    )
