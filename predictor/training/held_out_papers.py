"""Held-out papers: how well a model predicts compositions from a paper it has never seen.

The protocol (:func:`evaluate_held_out_papers`), on the curated dataset's papers: the papers are
dealt into folds; each fold's papers are removed from training (every composition they report
and every training row that cites them: :func:`training_without_paper`), the model is fitted on
the rest and predicts the fold's room-temperature halide compositions (chloride, bromide,
iodide, fluoride, mixed-halide, oxyhalide), each against the paper's own value. Scored by
:func:`held_out_paper_metrics`: pooled, per anion family and carrier, within each paper, on
the quarter of compositions farthest from their fold's training data, and on the compositions
that another paper also reports. On those, :func:`other_papers_median` gives the scale of the
scatter between labs: the prediction of a model that knew every other paper's value of the
composition (a rough scale, not a bound: a single other report carries its own lab's scatter).

:func:`series_metrics` scores one paper's series within the paper (Spearman rank correlation and
MAE), for the Ea model's leave-one-paper-out (:mod:`predictor.training.activation`) and the
doping-series benchmark (``benchmarks/doping_series.py``, which holds that protocol).

Which reports count (the curated label rules of :func:`predictor.loaders.curated.room_temperature_labels`):
experimental, single values (no bounds), single phases (no composites), at room temperature
(measured at 20-30 C, an Arrhenius estimate at 25 C, or temperature not stated). A paper is
its DOI, or its full reference when the DOI is not known; a review's table (rows whose
reference is a review's table rather than a primary paper) counts as one paper.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from predictor.composition import composition_groups, parse_formula
from predictor.training.evaluation import training_labels

log = logging.getLogger(__name__)


def _paper_of(row: pd.Series) -> str:
    doi = str(row["doi"] or "").strip()
    return doi.lower() if doi else str(row["reference"] or "").strip()


def room_temperature_reports(table: pd.DataFrame | None, include_reviews: bool = False) -> pd.DataFrame:
    """Single-phase experimental room-temperature reports (of primary papers unless
    ``include_reviews``), with ``paper`` and ``composition_group``."""
    from predictor.loaders.curated.conductivity_labels import classify_reports, label_candidates
    from predictor.loaders.curated.schema import checked_conductivity_table

    table = checked_conductivity_table() if table is None else table
    reports = classify_reports(label_candidates(table, include_computed=False, include_non_halide=True))
    if not include_reviews:
        reports = reports[~reports["reference"].fillna("").str.contains("review", case=False)]
    groups = composition_groups(parse_formula(f) for f in reports["formula"])
    return reports.assign(paper=reports.apply(_paper_of, axis=1), composition_group=groups)


def training_without_paper(training: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """Training rows that neither share a composition nor a DOI with one paper's series."""
    formulas = [*series["formula"], *training["formula"]]
    groups = composition_groups(parse_formula(f) for f in formulas)
    series_groups = set(groups[:len(series)])
    same_composition = np.array([g in series_groups for g in groups[len(series):]], dtype=bool)
    dois = {d.strip().lower() for d in series["doi"] if d.strip()}
    shares_doi = training["doi"].fillna("").map(
        lambda text: bool(dois & {part.strip().lower() for part in str(text).split(";") if part.strip()})
    )
    return training[~same_composition & ~shares_doi.to_numpy(dtype=bool)]


def series_metrics(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Within-paper Spearman rank correlation and MAE (log10 S/cm) of one series."""
    observed, predicted = np.asarray(observed, float), np.asarray(predicted, float)
    spearman = spearmanr(observed, predicted)[0] if np.ptp(predicted) > 0 and np.ptp(observed) > 0 else 0.0
    return {"n": int(len(observed)), "spearman": float(spearman), "mae": float(np.mean(np.abs(predicted - observed))),
            "span_observed": float(np.ptp(observed)), "span_predicted": float(np.ptp(predicted))}


# -- held-out halide papers ----------------------------------------------------------------

#: The anion families scored by the held-out-papers protocol: the halides the package is for.
HALIDE_FAMILIES = ("chloride", "bromide", "iodide", "fluoride", "mixed-halide", "oxyhalide")
PAPER_FOLDS = 10


def held_out_paper_items(table: pd.DataFrame | None = None,
                         families: tuple[str, ...] = HALIDE_FAMILIES) -> pd.DataFrame:
    """What the held-out-papers protocol scores: one row per paper and composition.

    Every paper of the curated table (its DOI, else its reference; a review's table counts as
    one paper) with a room-temperature report of a composition of ``families``; the value is
    the median of that paper's reports of the composition.

    Returns
    -------
    pandas.DataFrame
        Columns ``paper``, ``doi``, ``formula``, ``anion_family``, ``carrier`` and
        ``log10_sigma`` (log10 S/cm at room temperature).
    """
    reports = room_temperature_reports(table, include_reviews=True)
    reports = reports[reports["anion_family"].isin(families)]
    rows = []
    for (paper, _), part in reports.groupby(["paper", "composition_group"], sort=True):
        rows.append({"paper": paper, "doi": str(part["doi"].iloc[0] or ""), "formula": part["formula"].mode().iloc[0],
                     "anion_family": part["anion_family"].iloc[0], "carrier": part["carrier"].iloc[0],
                     "log10_sigma": float(part["log10_sigma_25"].median())})
    return pd.DataFrame(rows, columns=["paper", "doi", "formula", "anion_family", "carrier", "log10_sigma"])


def paper_folds(papers, n_folds: int = PAPER_FOLDS, seed: int = 0) -> list[set[str]]:
    """The papers dealt into ``n_folds`` folds in a shuffled order (fixed by ``seed``)."""
    order = sorted(set(papers))
    np.random.default_rng(seed).shuffle(order)
    return [set(order[k::n_folds]) for k in range(n_folds)]


def evaluate_held_out_papers(make_model: Callable, training: pd.DataFrame, items: pd.DataFrame | None = None,
                             n_folds: int = PAPER_FOLDS, seed: int = 0, censored_log10_sigma: float | None = None,
                             progress: bool = False) -> pd.DataFrame:
    """Fit once per fold of papers without them, predict their halide compositions.

    Parameters
    ----------
    make_model : callable
        Returns a fresh, unfitted regressor with ``fit(formulas, y, groups=...)`` and either
        ``predict_distribution`` (mean and 90 % interval) or ``predict`` (log10 S/cm).
    training : pandas.DataFrame
        The training table of :func:`predictor.loaders.combined.load_conductivity_data`.
    items : pandas.DataFrame, optional
        The output of :func:`held_out_paper_items` (default: computed from the curated table).
    n_folds, seed : int
        Folds of papers (:func:`paper_folds`).
    censored_log10_sigma : float or None, default=None
        Training label of below-detection entries (None: their detection bound).

    Returns
    -------
    pandas.DataFrame
        ``items`` with ``fold``, ``predicted``, ``lo90``, ``hi90`` (NaN for a model without
        intervals) and ``distance`` (to the fold's training compositions in the default
        descriptors, relative to a typical training distance: the same for every model).
    """
    from predictor.estimators.domain import ApplicabilityDomain
    from predictor.featurizers import CompositionFeaturizer

    items = held_out_paper_items() if items is None else items
    reports = room_temperature_reports(None, include_reviews=True)
    featurizer = CompositionFeaturizer()
    result = items.assign(fold=-1, predicted=np.nan, lo90=np.nan, hi90=np.nan, distance=np.nan)
    for k, papers in enumerate(paper_folds(items["paper"], n_folds, seed)):
        held = items["paper"].isin(papers).to_numpy()
        if not held.any():
            continue
        train = training_without_paper(training, reports[reports["paper"].isin(papers)])
        model = make_model().fit(train["formula"].tolist(), training_labels(train, censored_log10_sigma),
                                 groups=train["group"])
        formulas = items.loc[held, "formula"].tolist()
        if hasattr(model, "predict_distribution"):
            prediction = model.predict_distribution(formulas)
            mean, lo, hi = prediction["mean"], prediction["lo"], prediction["hi"]
        else:
            mean = np.asarray(model.predict(formulas), dtype=float)
            lo = hi = np.full(len(formulas), np.nan)
        train_features = featurizer.transform(train["formula"].tolist())
        train_elements = [set(parse_formula(f).as_dict()) for f in train["formula"]]
        domain = ApplicabilityDomain().fit(train_features, train_elements)
        result.loc[held, ["fold", "predicted", "lo90", "hi90"]] = np.column_stack([np.full(len(mean), k), mean, lo, hi])
        result.loc[held, "distance"] = domain.distance(featurizer.transform(formulas))
        if progress:
            error = np.abs(mean - items.loc[held, "log10_sigma"].to_numpy())
            log.info("  fold %d/%d: %d papers, %d compositions, MAE %.2f", k + 1, n_folds, len(papers), held.sum(),
                     error.mean())
    result["fold"] = result["fold"].astype(int)
    return result


#: Two papers' values of one composition this close (log10 units) are taken for one measurement,
#: quoted again (a review's table, a thesis), not two.
SAME_MEASUREMENT = 0.02


def other_papers_median(items: pd.DataFrame) -> np.ndarray:
    """For each row of :func:`held_out_paper_items`, the median of the values (log10 S/cm) that
    the other papers report for the same composition, leaving out values within
    :data:`SAME_MEASUREMENT` of the row's own; NaN where no other paper reports it."""
    groups = np.asarray(composition_groups(parse_formula(f) for f in items["formula"]))
    papers, values = items["paper"].to_numpy(), items["log10_sigma"].to_numpy(float)
    result = np.full(len(items), np.nan)
    for i in range(len(items)):
        others = values[(groups == groups[i]) & (papers != papers[i])]
        others = others[np.abs(others - values[i]) > SAME_MEASUREMENT]
        if len(others):
            result[i] = np.median(others)
    return result


def _scores(part: pd.DataFrame) -> dict[str, float]:
    observed, predicted = part["log10_sigma"].to_numpy(float), part["predicted"].to_numpy(float)
    error = np.abs(predicted - observed)
    within = [spearmanr(p["log10_sigma"], p["predicted"])[0] for _, p in part.groupby("paper")
              if len(p) >= 3 and p["log10_sigma"].nunique() > 1 and p["predicted"].nunique() > 1]
    lo, hi = part["lo90"].to_numpy(float), part["hi90"].to_numpy(float)
    has_interval = bool(np.isfinite(lo).all() and np.isfinite(hi).all())
    return {
        "n": int(len(part)), "papers": int(part["paper"].nunique()),
        "mae": float(error.mean()) if len(part) else float("nan"),
        "median_abs_error": float(np.median(error)) if len(part) else float("nan"),
        "abs_error_q90": float(np.quantile(error, 0.9)) if len(part) else float("nan"),
        "spearman": float(spearmanr(observed, predicted)[0]) if len(part) > 2 else float("nan"),
        "median_within_paper_spearman": float(np.median(within)) if within else float("nan"),
        "papers_with_3": len(within),
        "coverage90": float(np.mean((observed >= lo) & (observed <= hi))) if has_interval else float("nan"),
        "interval_width90": float(np.mean(hi - lo)) if has_interval else float("nan"),
    }


def repeat_measurement_scores(items: pd.DataFrame) -> dict[str, float]:
    """The scores of :func:`held_out_paper_metrics` (``reported_elsewhere``) for the other papers'
    median as the prediction (:func:`other_papers_median`; no intervals)."""
    median = other_papers_median(items)
    reported = np.isfinite(median)
    return _scores(items[reported].assign(predicted=median[reported], lo90=np.nan, hi90=np.nan))


def held_out_paper_metrics(predictions: pd.DataFrame) -> dict:
    """Scores of :func:`evaluate_held_out_papers` predictions (log10 S/cm).

    Returns
    -------
    dict
        ``all``, ``far_quarter`` (the quarter of compositions farthest from their fold's
        training data), ``reported_elsewhere`` (the compositions another paper also reports),
        ``per_anion_family`` and ``per_carrier``; each with ``n``, ``papers``, ``mae``,
        ``median_abs_error``, ``abs_error_q90`` (the 90th percentile of the absolute errors:
        half the width of the narrowest fixed-width 90 % interval), ``spearman``,
        ``median_within_paper_spearman`` (over papers with at least 3 compositions of distinct
        values; the median is NaN without such papers), ``coverage90`` and ``interval_width90``
        (NaN without intervals).
    """
    far = predictions["distance"] >= predictions["distance"].quantile(0.75)
    return {
        "all": _scores(predictions),
        "far_quarter": _scores(predictions[far]),
        "reported_elsewhere": _scores(predictions[np.isfinite(other_papers_median(predictions))]),
        "per_anion_family": {name: _scores(part) for name, part in predictions.groupby("anion_family")},
        "per_carrier": {name: _scores(part) for name, part in predictions.groupby("carrier")},
    }
