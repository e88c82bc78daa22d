"""Evaluate and fit the activation-energy model (``predictor train`` calls :func:`train_activation`).

Held-out protocols, as for conductivity:

- **grouped CV by chemical system** over every Ea label, from the folds that calibrate the
  model: MAE, RMSE, R², Spearman, 90 % coverage and width (eV), beside the baseline that
  predicts the training folds' median Ea;
- **leave one paper out** (``predictor train --evaluate full``): for each paper (DOI) that reports the Ea of at least
  :data:`MIN_PAPER_LABELS` compositions, drop its compositions and every label sharing its DOI,
  fit on the rest, predict the paper's compositions and score them within the paper (Spearman
  and MAE, as the doping-series benchmark ``benchmarks/doping_series.py``).

The final model is saved as an :class:`~predictor.estimators.gbm.activation_energy.ArrheniusModel` with the
correlation between the out-of-fold errors of room-temperature log10 sigma and of Ea.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.estimators.gbm.activation_energy import ArrheniusModel
from predictor.training.evaluation import regression_metrics
from predictor.loaders.activation_labels import consistency_checks, load_activation_labels
from predictor.training.report import ActivationData, ActivationModelSummary, TrainingReport

log = logging.getLogger(__name__)

ACTIVATION_CV_FILE = "activation_cv_predictions.csv"
#: Ea labels (compositions) a paper needs to be left out and scored on its own.
MIN_PAPER_LABELS = 4


def activation_cv_scores(model, labels: pd.DataFrame) -> dict:
    """Grouped K-fold CV (by chemical system) of a fitted Ea model, from its calibration folds.

    ``model`` was fitted on ``labels`` with ``groups=labels["group"]``; its ``held_out_``
    (:func:`predictor.estimators.calibration.cross_conformal`) holds each fold's predictions for
    the compositions it held out. Beside it, the baseline that predicts each fold's training
    median Ea.

    Returns
    -------
    dict
        ``all`` and (when more than 2 rows) ``halides``: metrics in eV (see
        :func:`predictor.training.evaluation.regression_metrics`); ``median_baseline``: the same metrics
        of predicting each training part's median Ea; ``predictions``: out-of-fold DataFrame.
    """
    y = labels["Ea_eV"].to_numpy(dtype=float)
    held = model.held_out_
    mean, std, lo, hi, fold = (held[k] for k in ("mean", "std", "lo", "hi", "fold"))
    baseline = np.array([np.median(y[fold != k]) for k in fold])
    halide = (labels["anion_family"] != "non-halide").to_numpy()
    result = {
        "all": regression_metrics(y, mean, lo, hi),
        "median_baseline": regression_metrics(y, baseline),
        "predictions": pd.DataFrame({"formula": labels["formula"].to_numpy(), "source": labels["source"].to_numpy(),
                                     "observed": y, "predicted": mean, "std": std, "lo90": lo, "hi90": hi}),
    }
    if halide.sum() > 2:
        result["halides"] = regression_metrics(y[halide], mean[halide], lo[halide], hi[halide])
        result["halides_median_baseline"] = regression_metrics(y[halide], baseline[halide])
    return result


def paper_series(labels: pd.DataFrame, min_labels: int = MIN_PAPER_LABELS) -> pd.DataFrame:
    """One row per paper (DOI) and Ea label of the papers with at least ``min_labels`` labels.

    Columns ``paper``, ``doi``, ``formula``, ``composition_key``, ``Ea_eV``.
    """
    rows = []
    for _, label in labels.iterrows():
        for doi in {d.strip().lower() for d in str(label["doi"]).split(";") if d.strip()}:
            rows.append({"paper": doi, "doi": doi, "formula": label["formula"],
                         "composition_key": label["composition_key"], "Ea_eV": float(label["Ea_eV"])})
    table = pd.DataFrame(rows, columns=["paper", "doi", "formula", "composition_key", "Ea_eV"])
    counts = table.groupby("paper")["composition_key"].transform("nunique")
    return table[counts >= min_labels].sort_values(["paper", "formula"], kind="stable").reset_index(drop=True)


def evaluate_activation_papers(make_model: Callable, labels: pd.DataFrame,
                               min_labels: int = MIN_PAPER_LABELS) -> dict:
    """Leave each paper with at least ``min_labels`` Ea labels out, fit on the rest, score within it.

    Returns
    -------
    dict
        ``papers`` (int), ``per_paper`` (list of dicts: paper, n, spearman, mae in eV, spans,
        ``mae_median_baseline``: MAE of predicting the training median), ``median_spearman``,
        ``median_mae`` and ``median_mae_baseline`` (eV) over papers (NaN without papers).
    """
    from predictor.training.held_out_papers import series_metrics, training_without_paper

    series = paper_series(labels, min_labels)
    per_paper = []
    for paper, part in series.groupby("paper", sort=True):
        train = training_without_paper(labels, part)
        model = make_model().fit(train["formula"].tolist(), train["Ea_eV"].to_numpy(float), groups=train["group"])
        predicted = np.asarray(model.predict(part["formula"].tolist()), dtype=float)
        observed = part["Ea_eV"].to_numpy()
        baseline = float(np.mean(np.abs(observed - np.median(train["Ea_eV"].to_numpy(float)))))
        per_paper.append({"paper": paper, "n_train": int(len(train)), **series_metrics(observed, predicted),
                          "mae_median_baseline": baseline})

    def median(key: str) -> float:
        return float(np.median([p[key] for p in per_paper])) if per_paper else float("nan")

    return {"papers": len(per_paper), "per_paper": per_paper, "median_spearman": median("spearman"),
            "median_mae": median("mae"), "median_mae_baseline": median("mae_median_baseline")}


def activation_metrics_table(report: TrainingReport) -> str:
    """Markdown table of the held-out Ea metrics (eV) of a training report."""
    evaluation = report.evaluation
    cv = evaluation.get("activation_grouped_cv")
    if not cv:
        return "(not evaluated)"
    folds = report.config["cv_folds"]
    lines = ["| evaluation (held-out) | n | MAE (eV) | RMSE (eV) | R² | Spearman | 90 % coverage | 90 % width (eV) |",
             "|---|---|---|---|---|---|---|---|"]
    for key, title in (("all", "all labels"), ("median_baseline", "all labels, baseline: training median"),
                       ("halides", "halide-family rows"), ("halides_median_baseline", "halide-family rows, baseline: training median")):
        if key in cv:
            m = cv[key]
            lines.append(f"| grouped {folds}-fold CV by chemical system, {title} | {m['n']} | {m['mae']:.3f} | "
                         f"{m['rmse']:.3f} | {m['r2']:.3f} | {m['spearman']:.3f} | {m.get('coverage90', float('nan')):.3f} | "
                         f"{m.get('interval_width90', float('nan')):.3f} |")
    papers = evaluation.get("activation_leave_one_paper_out")
    if papers:
        lines += ["", f"Leave one paper out ({papers['papers']} papers with at least {MIN_PAPER_LABELS} Ea labels): "
                      f"median within-paper Spearman {papers['median_spearman']:.2f}, median MAE "
                      f"{papers['median_mae']:.3f} eV (predicting the training median: "
                      f"{papers.get('median_mae_baseline', float('nan')):.3f} eV)."]
    return "\n".join(lines)


def train_activation(config, output_dir: Path, report: TrainingReport, conductivity_model,
                     conductivity_table: pd.DataFrame,
                     progress: bool = True, extra: pd.DataFrame | None = None) -> ArrheniusModel:
    """Evaluate and fit the Ea model, save it in ``output_dir/activation``; add its metrics to ``report``.

    Parameters
    ----------
    config : predictor.training.pipeline.TrainConfig
        ``activation_sources``, ``activation_params``, ``cv_folds``, ``evaluate``.
    conductivity_model : ConductivityRegressor
        The final conductivity model, fitted with calibration on ``conductivity_table`` (its
        ``oof_residuals_`` give the correlation of the errors).
    conductivity_table : pandas.DataFrame
        Its training table (``composition_key``, ``censored``).
    extra : pandas.DataFrame, optional
        A lab's usable rows: their ``Ea_eV`` values replace the other sources' labels.
    """
    data = load_activation_labels(config.activation_sources, extra=extra)
    labels = data.table
    checks = consistency_checks()
    report.activation_data = ActivationData(
        rows=int(len(labels)),
        reports=int(len(data.reports)),
        reports_per_method={k: int(v) for k, v in data.reports["method"].value_counts().items()},
        rows_per_source={k: int(v) for k, v in labels["source"].value_counts().items()},
        halide_rows=int((labels["anion_family"] != "non-halide").sum()),
        rejected=int(len(data.rejected)),
        consistency_checked=int(len(checks)),
        consistency_failed=checks.loc[~checks["consistent"], ["formula", "doi", "difference_eV"]].to_dict("records"),
    )
    if progress:
        log.info("activation-energy model: %d labels (%d reports; %d series rejected)",
                 len(labels), len(data.reports), len(data.rejected))
    model = config.make_activation_model().set_params(progress=progress)
    model.fit(labels["formula"].tolist(), labels["Ea_eV"].to_numpy(float), groups=labels["group"])
    if model.held_out_ is not None:
        cv = activation_cv_scores(model, labels)
        cv.pop("predictions").to_csv(output_dir / ACTIVATION_CV_FILE, index=False, float_format="%.4f")
        report.evaluation["activation_grouped_cv"] = cv
        if progress:
            m, b = cv["all"], cv["median_baseline"]
            log.info("  grouped %d-fold CV: MAE %.3f eV (training median: %.3f eV), 90%% coverage %.2f",
                     config.cv_folds, m["mae"], b["mae"], m["coverage90"])
    if config.evaluate == "full":
        papers = evaluate_activation_papers(config.make_activation_model, labels)
        report.evaluation["activation_leave_one_paper_out"] = papers
        if progress:
            log.info("  leave one paper out (%d papers): median Spearman %.2f, median MAE %.3f eV",
                     papers["papers"], papers["median_spearman"], papers["median_mae"])
    residuals = getattr(conductivity_model, "oof_residuals_", None)
    uncensored = ~conductivity_table["censored"].to_numpy(bool)
    keys = conductivity_table["composition_key"].to_numpy()[uncensored]
    arrhenius = ArrheniusModel.from_fitted(model, labels, keys,
                                           None if residuals is None else np.asarray(residuals)[uncensored],
                                           labels["composition_key"].tolist())
    from predictor.model_layout import ACTIVATION_DIR

    arrhenius.save(output_dir / ACTIVATION_DIR)
    report.activation_model = ActivationModelSummary(
        correlation=arrhenius.correlation,
        correlation_estimate=None if np.isnan(arrhenius.correlation_estimate) else arrhenius.correlation_estimate,
        correlation_pairs=arrhenius.correlation_pairs,
        label_temperature_range_C=(None if arrhenius.label_temperature_range_C is None
                                   else list(arrhenius.label_temperature_range_C)),
    )
    if progress:
        log.info("  correlation of room-temperature log10 sigma and Ea errors: %.2f "
                 "(%d compositions with both out-of-fold residuals)", arrhenius.correlation, arrhenius.correlation_pairs)
    return arrhenius
