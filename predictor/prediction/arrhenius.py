"""Arrhenius curves: predicted conductivity against temperature, with the propagated band.

``predictor arrhenius Li3YCl6 Li2ZrCl6 -o arrhenius.png`` draws :func:`plot_arrhenius` of
:func:`arrhenius_table`; in Python::

    from predictor import Predictor
    from predictor.prediction.arrhenius import arrhenius_table, plot_arrhenius
    table = arrhenius_table(Predictor.load(), ["Li3YCl6", "Li2ZrCl6"])
    plot_arrhenius(table).savefig("arrhenius.png")
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from predictor.prediction.temperature import ZERO_CELSIUS_K, check_temperature_C

#: Default temperature range of the curves (°C): a cell's range and a little beyond.
DEFAULT_RANGE_C = (-30.0, 100.0)
DEFAULT_POINTS = 27
#: Most temperatures per curve: a smooth curve needs a few dozen, and each temperature is a
#: prediction of every formula (1,000 take about two minutes on 2 cores); more
#: (``--points 100000000``) is refused before any work.
MAX_POINTS = 1_000


def temperature_grid(t_min_C: float = DEFAULT_RANGE_C[0], t_max_C: float = DEFAULT_RANGE_C[1],
                     points: int = DEFAULT_POINTS) -> np.ndarray:
    """``points`` temperatures (°C) from ``t_min_C`` to ``t_max_C``, 25 °C included.

    Raises
    ------
    TypeError, ValueError
        For a bound that is not a temperature, ``t_min_C >= t_max_C``, ``points`` that is not a
        whole number, fewer than 2 or more than :data:`MAX_POINTS`.
    """
    low, high = check_temperature_C(t_min_C, "t_min_C"), check_temperature_C(t_max_C, "t_max_C")
    if not low < high:
        raise ValueError(f"t_min_C={t_min_C} must be below t_max_C={t_max_C}")
    if isinstance(points, (bool, np.bool_)) or not isinstance(points, numbers.Integral):
        raise TypeError(f"points must be a whole number of temperatures, got {points!r} ({type(points).__name__})")
    if points < 2:
        raise ValueError(f"points={points} must be at least 2")
    if points > MAX_POINTS:
        raise ValueError(f"points={points:,} is more than the {MAX_POINTS:,} temperatures a curve may have")
    grid = np.linspace(low, high, int(points))
    return np.unique(np.append(grid, 25.0)) if low <= 25.0 <= high else grid


def arrhenius_table(predictor, formulas, temperatures_C=None) -> pd.DataFrame:
    """Predictions of every formula at every temperature, one row per formula and temperature.

    Parameters
    ----------
    predictor : Predictor
        With an activation-energy model.
    formulas : str or sequence of str
    temperatures_C : sequence of float, optional
        Default: :func:`temperature_grid`; at most :data:`MAX_POINTS`.

    Returns
    -------
    pandas.DataFrame
        The columns of :meth:`Predictor.predict` (``temperature_C`` says which temperature),
        formulas in input order, temperatures ascending within each.
    """
    if temperatures_C is None:
        temperatures = temperature_grid()
    else:
        temperatures = list(temperatures_C)
        if len(temperatures) > MAX_POINTS:
            raise ValueError(f"{len(temperatures):,} temperatures is more than the {MAX_POINTS:,} a curve may have")
        temperatures = np.asarray([check_temperature_C(t) for t in temperatures], dtype=float)
    formulas = _as_list(formulas)
    order = np.arange(len(formulas))
    tables = [predictor.predict(formulas, temperature_C=float(t)).assign(input_order=order) for t in temperatures]
    table = pd.concat(tables, ignore_index=True).sort_values(["input_order", "temperature_C"], kind="stable")
    return table.drop(columns="input_order").reset_index(drop=True)


def _as_list(formulas) -> list:
    from predictor.predictor import formula_inputs

    return list(formula_inputs(formulas))


def plot_arrhenius(table: pd.DataFrame):
    """log10 sigma against 1000/T with the 90 % band, one curve per formula.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`arrhenius_table`. Rows with an error are left out of the plot (the
        legend lists the formulas that could not be drawn). A formula's measured room-temperature
        value (``measured_log10_sigma``: its training label, or a lab's ``--measured`` value) is
        drawn as a star at 25 °C.

    Returns
    -------
    matplotlib.figure.Figure
        Bottom axis 1000/T (1/K), top axis the same temperatures in °C.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.6))
    failed = []
    for formula, part in table.groupby("formula", sort=False):
        part = part[part["error"] == ""]
        if part.empty:
            failed.append(str(formula))
            continue
        inverse = 1000.0 / (part["temperature_C"].to_numpy(float) + ZERO_CELSIUS_K)
        ea, ea_std = part["Ea_eV"].iloc[0], part["Ea_eV_std"].iloc[0]
        line, = ax.plot(inverse, part["log10_sigma"], lw=1.5, label=f"{formula} (Ea {ea:.2f}±{ea_std:.2f} eV)")
        ax.fill_between(inverse, part["log10_sigma_lo90"], part["log10_sigma_hi90"], color=line.get_color(), alpha=0.15,
                        lw=0)
        measured = part["measured_log10_sigma"].dropna() if "measured_log10_sigma" in part else []
        if len(measured):
            ax.plot(1000.0 / (25.0 + ZERO_CELSIUS_K), measured.iloc[0], "*", color=line.get_color(),
                    markeredgecolor="black", markersize=12, label=f"{formula}: measured at 25 °C")
    ax.axvline(1000.0 / (25.0 + ZERO_CELSIUS_K), color="grey", ls=":", lw=1, label="25 °C (the room-temperature model)")
    ax.set(xlabel="1000 / T (1/K)", ylabel="log10 σ (S/cm)",
           title="predicted conductivity (band: 90 % interval)")
    top = ax.secondary_xaxis("top", functions=(lambda x: 1000.0 / np.maximum(x, 1e-9) - ZERO_CELSIUS_K,
                                               lambda t: 1000.0 / (np.asarray(t) + ZERO_CELSIUS_K)))
    top.set_xlabel("T (°C)")
    if failed:
        ax.plot([], [], " ", label="not predicted: " + ", ".join(failed))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
