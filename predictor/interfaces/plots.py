"""Diagnostic figures of a trained model, drawn from held-out (out-of-fold) predictions.

Each function returns a matplotlib Figure; :func:`save_diagnostics` writes them all as PNG.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import norm  # noqa: E402


def parity_plot(predictions: pd.DataFrame, unit: str = "log10(S/cm)"):
    """Observed vs predicted with 90 % interval bars, coloured by source."""
    fig, ax = plt.subplots(figsize=(5.5, 5.2))
    for source, part in predictions.groupby("source"):
        low = (part["predicted"] - part["lo90"]).clip(lower=0)
        high = (part["hi90"] - part["predicted"]).clip(lower=0)
        ax.errorbar(part["predicted"], part["observed"], xerr=[low, high], fmt="o", ms=3, alpha=0.6,
                    elinewidth=0.5, label=f"{source} ({len(part)})")
    limits = [np.nanmin(predictions[["observed", "lo90"]].to_numpy()), np.nanmax(predictions[["observed", "hi90"]].to_numpy())]
    ax.plot(limits, limits, "k--", lw=1)
    ax.set(xlabel=f"predicted {unit}", ylabel=f"observed {unit}", title="held-out predictions (grouped CV)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def calibration_curve(predictions: pd.DataFrame):
    """Observed fraction of held-out labels inside central intervals of each nominal coverage."""
    z = np.abs(predictions["observed"] - predictions["predicted"]) / predictions["std"]
    expected = np.linspace(0.05, 0.99, 40)
    observed = [(z <= norm.ppf(0.5 + p / 2)).mean() for p in expected]
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    ax.plot(expected, observed, "o-", ms=3, label="model")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="ideal")
    ax.set(xlabel="expected coverage", ylabel="observed coverage", title="uncertainty calibration (grouped CV)")
    ax.legend()
    fig.tight_layout()
    return fig


def error_vs_prediction(predictions: pd.DataFrame, unit: str = "log10(S/cm)"):
    """Absolute held-out error and predicted standard deviation against the prediction."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    order = np.argsort(predictions["predicted"].to_numpy())
    ax.scatter(predictions["predicted"], np.abs(predictions["observed"] - predictions["predicted"]), s=6, alpha=0.5,
               label="|error|")
    ax.plot(predictions["predicted"].to_numpy()[order], predictions["std"].to_numpy()[order], "r-", lw=1,
            label="predicted std")
    ax.set(xlabel=f"predicted {unit}", ylabel=f"{unit}", title="error vs prediction (grouped CV)")
    ax.legend()
    fig.tight_layout()
    return fig


def feature_importance(labels: list[str], gains: np.ndarray, top: int = 25):
    """Total split gain per descriptor, summed over the ensemble, top ``top``."""
    order = np.argsort(gains)[::-1][:top]
    fig, ax = plt.subplots(figsize=(6.5, 0.25 * len(order) + 1))
    ax.barh([labels[i] for i in order][::-1], gains[order][::-1])
    ax.set(xlabel="total gain", title="descriptor importance")
    fig.tight_layout()
    return fig


def save_diagnostics(predictions: pd.DataFrame, labels: list[str], gains: np.ndarray, folder: Path) -> list[Path]:
    """Write the four figures as PNG files in ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures = {
        "parity.png": parity_plot(predictions),
        "calibration.png": calibration_curve(predictions),
        "error_vs_prediction.png": error_vs_prediction(predictions),
        "feature_importance.png": feature_importance(labels, gains),
    }
    paths = []
    for name, fig in figures.items():
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        paths.append(folder / name)
    return paths


def plot_screening(table: pd.DataFrame):
    """Conductivity with its 90 % band (top) and both window limits (bottom) against x, per dopant.

    ``table`` is the output of :func:`predictor.prediction.screening.screen`; the measured values it holds
    (``measured_log10_sigma``: training labels, and a lab's ``--measured`` rows) are drawn as stars.
    """
    ok = table[table["error"] == ""].sort_values("x")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 6.5), sharex=True)
    for i, (dopant, series) in enumerate(ok.groupby("dopant", sort=False)):
        colour = f"C{i}"
        top.plot(series["x"], series["log10_sigma"], "o-", color=colour, label=dopant)
        top.fill_between(series["x"], series["log10_sigma_lo90"], series["log10_sigma_hi90"], color=colour, alpha=0.2)
        measured = series[series["measured_log10_sigma"].notna()] if "measured_log10_sigma" in series else series[:0]
        if len(measured):
            top.plot(measured["x"], measured["measured_log10_sigma"], "*", color=colour, markeredgecolor="black",
                     markersize=11, label=f"{dopant}: measured (training labels, --measured)")
        for limit, marker in (("reduction_limit_V", "v"), ("oxidation_limit_V", "^")):
            bottom.errorbar(series["x"], series[limit], yerr=series[f"{limit}_std"], fmt=f"{marker}-", color=colour,
                            label=f"{dopant} {limit.split('_')[0]}")
    site = table["site"].iloc[0] if len(table) else ""
    reference = ok["window_reference"].iloc[0] if len(ok) else ""
    top.set(ylabel="log10 σ (S/cm)", title=f"{table.attrs.get('parent', '')}: dopant on the {site} site "
                                            f"(band: 90 % interval)")
    top.legend(fontsize=8)
    bottom.set(xlabel="x (dopant per formula unit)", ylabel=f"limit (V vs {reference})")
    bottom.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
