"""Held-out evaluation of conductivity models: the OBELiX official split and grouped CV.

Both protocols fit a fresh model on the training part only (its uncertainty calibration
included) and score it on compositions it never saw:

- **OBELiX split**: train on OBELiX ``train`` (plus, optionally, the other sources minus every
  composition of the OBELiX test set and every row from a paper that contributed a test entry),
  test on OBELiX ``test``. Censored test labels take the same value as censored training
  labels (:func:`training_labels`: by default their detection bound) for the error metrics;
  the metrics on uncensored test rows are reported beside.

Interval coverage of a censored label ("below 1e-10 S/cm") counts the interval as covering
it when its lower bound reaches below the detection bound, i.e. when the interval is consistent
with what was observed (``coverage90``); ``coverage90_literal`` takes the conventional -15 at
face value.
- **Grouped CV**: K folds over all labels, grouped by chemical system (Li-Y-Cl, Li-In-Cl...),
  so no chemical system is in both training and held-out parts: the folds a model fits to
  calibrate its uncertainty, read after the fit (:func:`grouped_cv_scores`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import r2_score

from predictor.estimators.base import grouped_folds

log = logging.getLogger(__name__)


def regression_metrics(y_true, y_pred, lo=None, hi=None, censor_bound=None) -> dict[str, float]:
    """MAE, RMSE, R², Spearman rank correlation and (with bounds) interval coverage and width.

    ``censor_bound`` (same shape, NaN for ordinary labels) gives the detection bound of
    censored labels, for the censoring-aware coverage (see the module docstring).
    """
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    error = y_pred - y_true
    metrics = {
        "n": int(len(y_true)),
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
        "spearman": float(spearmanr(y_true, y_pred)[0]) if len(y_true) > 2 else float("nan"),
    }
    if lo is not None and hi is not None:
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        literal = (y_true >= lo) & (y_true <= hi)
        covered = literal
        if censor_bound is not None:
            bound = np.asarray(censor_bound, float)
            censored = np.isfinite(bound)
            covered = np.where(censored, lo <= bound, literal)
            metrics["coverage90_literal"] = float(np.mean(literal))
        metrics["coverage90"] = float(np.mean(covered))
        metrics["interval_width90"] = float(np.mean(hi - lo))
    return metrics


def training_labels(table: pd.DataFrame, censored_log10_sigma: float | None = None) -> np.ndarray:
    """Targets for fitting: censored (below-detection) labels replaced by ``censored_log10_sigma``
    (log10 S/cm), or by their detection bound (``censor_bound_log10``) when it is None."""
    y = table["log10_sigma"].to_numpy(dtype=float).copy()
    censored = table["censored"].to_numpy(dtype=bool)
    y[censored] = detection_bounds(table)[censored] if censored_log10_sigma is None else censored_log10_sigma
    return y


def _normalised_dois(text: str) -> set[str]:
    return {part.strip().lower() for part in str(text).split(";") if part.strip()}


def obelix_split(table: pd.DataFrame, extra_sources: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and test tables of the OBELiX official split, without leakage from other sources."""
    test = table[table["split"] == "test"]
    train = table[table["split"] == "train"]
    if extra_sources:
        test_dois = set().union(*map(_normalised_dois, test["doi"])) if len(test) else set()
        extra = table[table["split"] == "extra"]
        leaks = extra["composition_key"].isin(set(test["composition_key"])) | extra["doi"].map(
            lambda d: bool(_normalised_dois(d) & test_dois)
        )
        train = pd.concat([train, extra[~leaks]])
    return train, test


def detection_bounds(table: pd.DataFrame) -> np.ndarray:
    """log10 of the detection bound (S/cm) of each censored label ("below 1e-10 S/cm"), NaN for ordinary labels."""
    if "censor_bound_log10" not in table:
        return np.full(len(table), np.nan)
    return table["censor_bound_log10"].to_numpy(dtype=float)


def _score(model, test: pd.DataFrame, y_test: np.ndarray) -> tuple[dict, dict]:
    prediction = model.predict_distribution(test["formula"].tolist())
    metrics = regression_metrics(y_test, prediction["mean"], prediction["lo"], prediction["hi"], detection_bounds(test))
    return prediction, metrics


def evaluate_obelix_split(
    make_model: Callable, table: pd.DataFrame, censored_log10_sigma: float | None = None, extra_sources: bool = True
) -> dict:
    """Fit on the OBELiX training split and score on its test split.

    Returns
    -------
    dict
        ``all`` (metrics on the 121 test entries, censored ones as :func:`training_labels` sets them),
        ``uncensored`` (the same without censored entries), ``n_train``, and ``predictions``
        (a DataFrame of formula, observed, predicted, lo90, hi90).
    """
    train, test = obelix_split(table, extra_sources)
    if test.empty:
        raise ValueError("the table has no OBELiX test rows; load the obelix source")
    model = make_model().fit(train["formula"].tolist(), training_labels(train, censored_log10_sigma), groups=train["group"])
    y = training_labels(test, censored_log10_sigma)
    prediction, metrics = _score(model, test, y)
    uncensored = ~test["censored"].to_numpy(bool)
    return {
        "n_train": int(len(train)),
        "all": metrics,
        "uncensored": regression_metrics(
            y[uncensored], prediction["mean"][uncensored], prediction["lo"][uncensored], prediction["hi"][uncensored]
        ),
        "predictions": pd.DataFrame(
            {"formula": test["formula"].to_numpy(), "observed": y, "predicted": prediction["mean"],
             "lo90": prediction["lo"], "hi90": prediction["hi"], "censored": ~uncensored}
        ),
    }


def grouped_cv_scores(model, table: pd.DataFrame, y: np.ndarray) -> dict:
    """Grouped cross-validation of a fitted model, read from its calibration folds.

    ``model`` was fitted on ``table`` (targets ``y``) with its folds grouped by chemical system
    (``groups=table["group"]``); its ``held_out_`` (:func:`predictor.estimators.calibration.cross_conformal`)
    holds what each fold's model predicted for the compositions it held out, with
    cross-conformal intervals. So the model card's held-out numbers come from the fits that
    calibrate the shipped model, not from a second set of fits.

    Returns
    -------
    dict
        ``all`` (pooled out-of-fold metrics), ``halides`` (the same on halide-family rows),
        ``per_fold`` (list of metric dicts) and ``predictions`` (out-of-fold DataFrame).
    """
    held = getattr(model, "held_out_", None)
    if held is None:
        raise ValueError(f"{type(model).__name__} was fitted without calibration folds: no held-out predictions")
    y = np.asarray(y, dtype=float)
    mean, std, lo, hi, fold = (held[k] for k in ("mean", "std", "lo", "hi", "fold"))
    bounds = detection_bounds(table)
    halide = (table["anion_family"] != "non-halide").to_numpy()
    result = {
        "all": regression_metrics(y, mean, lo, hi, bounds),
        "per_fold": [regression_metrics(y[fold == k], mean[fold == k], lo[fold == k], hi[fold == k], bounds[fold == k])
                     for k in range(int(fold.max()) + 1)],
        "predictions": pd.DataFrame(
            {"formula": table["formula"].to_numpy(), "source": table["source"].to_numpy(), "observed": y,
             "predicted": mean, "std": std, "lo90": lo, "hi90": hi}
        ),
    }
    if halide.sum() > 2:
        result["halides"] = regression_metrics(y[halide], mean[halide], lo[halide], hi[halide], bounds[halide])
    return result


def window_cv_scores(model, table: pd.DataFrame) -> dict:
    """Grouped cross-validation of a fitted :class:`WindowRegressor`, read from each limit's calibration folds.

    The limit regressors alone (their out-of-fold predictions, before the thermodynamic rules,
    which :func:`evaluate_window_cv` measures by refitting).

    Returns
    -------
    dict
        Per limit: metrics (V) on all held-out rows, on published DFT windows and on published
        halide windows; plus ``predictions`` (out-of-fold DataFrame).
    """
    published = (table["source"] == "published").to_numpy()
    halide = (table["anion_family"] != "non-halide").to_numpy()
    report, frame = {}, table[["formula", "source", "anion_family"]].copy()
    for limit, limit_model in model.models_.items():
        held = getattr(limit_model, "held_out_", None)
        if held is None:
            raise ValueError(f"the {limit} model was fitted without calibration folds: no held-out predictions")
        y = table[limit].to_numpy(float)
        masks = [(name, mask) for name, mask in (("all", np.ones(len(y), bool)), ("published", published),
                                                 ("published_halides", published & halide)) if mask.sum() > 2]
        report[limit] = {name: regression_metrics(y[mask], held["mean"][mask], held["lo"][mask], held["hi"][mask])
                         for name, mask in masks}
        frame[limit] = y
        frame[f"{limit}_predicted"] = held["mean"]
        frame[f"{limit}_lo90"], frame[f"{limit}_hi90"] = held["lo"], held["hi"]
    report["predictions"] = frame
    return report


def evaluate_window_cv(make_model: Callable, table: pd.DataFrame, n_splits: int = 5) -> dict:
    """Grouped (by chemical system) CV of a :class:`WindowRegressor` on window labels.

    Returns
    -------
    dict
        Per limit (``reduction_limit_V``, ``oxidation_limit_V``): metrics on all held-out rows,
        on held-out published DFT windows, and on published halide windows (V), and the same
        for the regressors alone, without the thermodynamic rules (``without_rules``, what the
        rules cost or gain); plus ``predictions`` (out-of-fold DataFrame).
    """
    from predictor.estimators.window import LIMITS

    predicted = {limit: {k: np.full(len(table), np.nan) for k in ("mean", "lo", "hi", "raw")} for limit in LIMITS}
    for k, (train, held) in enumerate(grouped_folds(len(table), table["group"], n_splits), start=1):
        log.debug("window CV fold %d/%d", k, n_splits)
        part = table.iloc[train]
        model = make_model().fit(part["formula"].tolist(), part[list(LIMITS)], groups=part["group"])
        formulas = table.iloc[held]["formula"].tolist()
        result, raw = model.predict_distribution(formulas), model.predict_distribution(formulas, rules=False)
        for limit in LIMITS:
            for key in ("mean", "lo", "hi"):
                predicted[limit][key][held] = result[limit][key]
            predicted[limit]["raw"][held] = raw[limit]["mean"]
    published = (table["source"] == "published").to_numpy()
    halide = (table["anion_family"] != "non-halide").to_numpy()
    report, frame = {}, table[["formula", "source", "anion_family"]].copy()
    for limit in LIMITS:
        y, p = table[limit].to_numpy(float), predicted[limit]
        masks = [(name, mask) for name, mask in (("all", np.ones(len(y), bool)), ("published", published),
                                                 ("published_halides", published & halide)) if mask.sum() > 2]
        report[limit] = {name: regression_metrics(y[mask], p["mean"][mask], p["lo"][mask], p["hi"][mask])
                         for name, mask in masks}
        report[limit]["without_rules"] = {name: regression_metrics(y[mask], p["raw"][mask]) for name, mask in masks}
        frame[limit] = y
        frame[f"{limit}_predicted"] = p["mean"]
        frame[f"{limit}_lo90"], frame[f"{limit}_hi90"] = p["lo"], p["hi"]
    report["predictions"] = frame
    return report
