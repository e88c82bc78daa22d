"""Held-out papers: how well a model predicts compositions from a paper it has never seen.

Two protocols, both on the curated dataset's papers:

- **Held-out halide papers** (:func:`evaluate_held_out_papers`): the papers are dealt into
  folds; each fold's papers are removed from training (every composition they report and
  every training row that cites them), the model is fitted on the rest and predicts the fold's
  room-temperature halide compositions (chloride, bromide, iodide, fluoride, mixed-halide,
  oxyhalide), each against the paper's own value. Scored by :func:`held_out_paper_metrics`:
  pooled, per anion family and carrier, within each paper, and on the quarter of compositions
  farthest from their fold's training data.
- **Doping series** (:func:`evaluate_leave_one_paper_out`), below.

Doping series: does a model rank a new lab's series?

A user's doping series (Li3-xY1-xZrxCl6, Li3InBr6-xClx, ...) comes from a lab the model has
never seen. This protocol reproduces that: for each paper of the curated dataset that reports
a series (at least ``min_compositions`` distinct room-temperature compositions spanning at
least ``min_span`` decades), drop the paper (every composition it reports and every training
row that shares its DOI), fit on everything else, predict the paper's compositions and score
within the paper: Spearman rank correlation (does the model order the series?) and MAE
(log10 S/cm, against the paper's own values).

Which reports count (the curated label rules of :func:`predictor.loaders.curated.room_temperature_labels`):
experimental, single values (no bounds), single phases (no composites), at room temperature
(measured at 20-30 C, an Arrhenius estimate at 25 C, or temperature not stated). A paper is
its DOI, or its full reference when the DOI is not known; review tables (rows whose reference
is a review's table rather than a primary paper) are left out, since their compositions come
from many labs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from predictor.composition import composition_groups, composition_key, parse_formula
from predictor.evaluation import training_labels

log = logging.getLogger(__name__)

MIN_COMPOSITIONS = 4
MIN_SPAN_LOG10 = 0.3


def _paper_of(row: pd.Series) -> str:
    doi = str(row["doi"] or "").strip()
    return doi.lower() if doi else str(row["reference"] or "").strip()


def _room_temperature_reports(table: pd.DataFrame | None, include_reviews: bool = False) -> pd.DataFrame:
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


def doping_series(table: pd.DataFrame | None = None, min_compositions: int = MIN_COMPOSITIONS,
                  min_span: float = MIN_SPAN_LOG10) -> pd.DataFrame:
    """The papers' series of the curated conductivity table, one row per paper and composition.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        The curated conductivity reports (default: ``datasets/halide_conductivity.csv``).
    min_compositions : int, default=4
        Distinct room-temperature compositions a paper needs to count as a series.
    min_span : float, default=0.3
        Spread (max - min of log10 sigma, decades) a series needs.

    Returns
    -------
    pandas.DataFrame
        Columns ``paper`` (DOI or reference), ``doi``, ``formula``, ``composition_key``,
        ``log10_sigma`` (log10 S/cm at room temperature: the median of the paper's reports of
        that composition) and ``n_reports``.
    """
    reports = _room_temperature_reports(table)
    first_key: dict[int, str] = {}
    for group, formula in zip(reports["composition_group"], reports["formula"]):
        if group not in first_key:
            first_key[group] = composition_key(parse_formula(formula))
    reports = reports.assign(composition_key=[first_key[g] for g in reports["composition_group"]])
    rows = []
    for paper, group in reports.groupby("paper", sort=True):
        per_composition = group.groupby("composition_key", sort=False)
        values = per_composition["log10_sigma_25"].median()
        if len(values) < min_compositions or values.max() - values.min() < min_span:
            continue
        for key, value in values.items():
            members = per_composition.get_group(key)
            rows.append({"paper": paper, "doi": str(members["doi"].iloc[0] or ""), "formula": members["formula"].iloc[0],
                         "composition_key": key, "log10_sigma": float(value), "n_reports": len(members)})
    return pd.DataFrame(rows, columns=["paper", "doi", "formula", "composition_key", "log10_sigma", "n_reports"])


def inter_lab_spread(table: pd.DataFrame | None = None) -> dict[str, float]:
    """How much two papers' values of the same composition differ (log10 S/cm).

    Over the compositions of the curated table that at least two papers report at room
    temperature (each paper's median report), every pair of papers' values: ``median_difference``
    is the median absolute difference, ``sd`` the standard deviation of Gaussian lab-to-lab
    noise with that median difference (median |difference| = 0.954 sd), robust to the outlying
    reports that processing produces; ``compositions`` and ``pairs`` count what it rests on.
    """
    reports = _room_temperature_reports(table)
    per_paper = reports.groupby(["composition_group", "paper"])["log10_sigma_25"].median()
    differences = []
    for _, values in per_paper.groupby(level="composition_group"):
        v = values.to_numpy()
        differences += [abs(a - b) for i, a in enumerate(v) for b in v[i + 1:]]
    n_compositions = int((per_paper.groupby(level="composition_group").size() >= 2).sum())
    median = float(np.median(differences)) if differences else float("nan")
    return {"median_difference": median, "sd": median / 0.954, "compositions": n_compositions,
            "pairs": len(differences)}


def noise_ceiling(series: pd.DataFrame, sd: float, n_draws: int = 2000, seed: int = 0) -> dict[str, float]:
    """What a model that knew every composition's value would score against a lab with noise ``sd``.

    Each draw adds independent Gaussian noise of standard deviation ``sd`` (log10 S/cm) to
    every composition of every series (another lab measuring the same compositions) and scores
    the noiseless values against the noisy ones with :func:`series_metrics`; returns the mean
    over draws of the median within-paper Spearman and MAE, and the 5-95 % range of the
    median Spearman: the scores a perfect composition model would get, limited by lab noise alone.
    """
    rng = np.random.default_rng(seed)
    papers = [part["log10_sigma"].to_numpy(dtype=float) for _, part in series.groupby("paper", sort=False)]
    spearmans, maes = np.empty(n_draws), np.empty(n_draws)
    for draw in range(n_draws):
        scores = [series_metrics(values + rng.normal(0.0, sd, len(values)), values) for values in papers]
        spearmans[draw] = np.median([score["spearman"] for score in scores])
        maes[draw] = np.median([score["mae"] for score in scores])
    return {"sd": float(sd), "median_spearman": float(spearmans.mean()), "median_mae": float(maes.mean()),
            "median_spearman_5": float(np.quantile(spearmans, 0.05)),
            "median_spearman_95": float(np.quantile(spearmans, 0.95))}


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


def _fit_and_predict(make_model: Callable, training: pd.DataFrame, series: pd.DataFrame,
                     censored_log10_sigma: float | None) -> np.ndarray:
    train = training_without_paper(training, series)
    model = make_model().fit(train["formula"].tolist(), training_labels(train, censored_log10_sigma),
                             groups=train["group"])
    return np.asarray(model.predict(series["formula"].tolist()), dtype=float)


def series_metrics(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Within-paper Spearman rank correlation and MAE (log10 S/cm) of one series."""
    observed, predicted = np.asarray(observed, float), np.asarray(predicted, float)
    spearman = spearmanr(observed, predicted)[0] if np.ptp(predicted) > 0 and np.ptp(observed) > 0 else 0.0
    return {"n": int(len(observed)), "spearman": float(spearman), "mae": float(np.mean(np.abs(predicted - observed))),
            "span_observed": float(np.ptp(observed)), "span_predicted": float(np.ptp(predicted))}


def evaluate_leave_one_paper_out(make_model: Callable, training: pd.DataFrame, series: pd.DataFrame | None = None,
                                 censored_log10_sigma: float | None = None, n_jobs: int = 1) -> dict:
    """Leave each paper out, fit on the rest, score the paper's series.

    Parameters
    ----------
    make_model : callable
        Returns a fresh, unfitted regressor with ``fit(formulas, y, groups=...)`` and
        ``predict(formulas)`` (log10 S/cm). Must be picklable when ``n_jobs > 1``.
    training : pandas.DataFrame
        The training table of :func:`predictor.loaders.combined.load_conductivity_data`.
    series : pandas.DataFrame, optional
        The output of :func:`doping_series` (default: computed from the curated table).
    censored_log10_sigma : float or None, default=None
        Training label of below-detection entries; None: their detection bound (as in
        :mod:`predictor.training`).
    n_jobs : int, default=1
        Papers fitted at a time, each in its own process.

    Returns
    -------
    dict
        ``per_paper`` (DataFrame: paper, n, spearman, mae, spans), ``predictions`` (the series
        with a ``predicted`` column), ``median_spearman`` and ``median_mae`` over papers.
    """
    series = doping_series() if series is None else series
    papers = list(dict.fromkeys(series["paper"]))
    parts = [series[series["paper"] == paper] for paper in papers]
    if n_jobs > 1:
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            futures = [pool.submit(_fit_and_predict, make_model, training, part, censored_log10_sigma) for part in parts]
            predicted = [f.result() for f in futures]
    else:
        predicted = [_fit_and_predict(make_model, training, part, censored_log10_sigma) for part in parts]
    rows, frames = [], []
    for paper, part, values in zip(papers, parts, predicted):
        metrics = series_metrics(part["log10_sigma"].to_numpy(), values)
        rows.append({"paper": paper, **metrics})
        frames.append(part.assign(predicted=values))
        log.info("%s: Spearman %.2f, MAE %.2f", paper[:60], metrics["spearman"], metrics["mae"])
    per_paper = pd.DataFrame(rows)
    return {
        "per_paper": per_paper,
        "predictions": pd.concat(frames, ignore_index=True),
        "median_spearman": float(per_paper["spearman"].median()),
        "median_mae": float(per_paper["mae"].median()),
    }


# -- held-out halide papers ----------------------------------------------------------------

#: The anion families scored by the held-out-papers protocol: the halides the package is for.
HALIDE_FAMILIES = ("chloride", "bromide", "iodide", "fluoride", "mixed-halide", "oxyhalide")
PAPER_FOLDS = 10


def held_out_paper_items(table: pd.DataFrame | None = None, families: tuple[str, ...] = HALIDE_FAMILIES) -> pd.DataFrame:
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
    reports = _room_temperature_reports(table, include_reviews=True)
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
    from predictor.domain import ApplicabilityDomain
    from predictor.featurizers import CompositionFeaturizer

    items = held_out_paper_items() if items is None else items
    reports = _room_temperature_reports(None, include_reviews=True)
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
        "spearman": float(spearmanr(observed, predicted)[0]) if len(part) > 2 else float("nan"),
        "median_within_paper_spearman": float(np.median(within)) if within else float("nan"),
        "papers_with_3": len(within),
        "coverage90": float(np.mean((observed >= lo) & (observed <= hi))) if has_interval else float("nan"),
        "interval_width90": float(np.mean(hi - lo)) if has_interval else float("nan"),
    }


def held_out_paper_metrics(predictions: pd.DataFrame) -> dict:
    """Scores of :func:`evaluate_held_out_papers` predictions (log10 S/cm).

    Returns
    -------
    dict
        ``all``, ``far_quarter`` (the quarter of compositions farthest from their fold's
        training data), ``per_anion_family`` and ``per_carrier``; each with ``n``, ``papers``,
        ``mae``, ``median_abs_error``, ``spearman``, ``median_within_paper_spearman`` (over
        papers with at least 3 compositions of distinct values; the median is NaN without
        such papers), ``coverage90`` and ``interval_width90`` (NaN without intervals).
    """
    far = predictions["distance"] >= predictions["distance"].quantile(0.75)
    return {
        "all": _scores(predictions),
        "far_quarter": _scores(predictions[far]),
        "per_anion_family": {name: _scores(part) for name, part in predictions.groupby("anion_family")},
        "per_carrier": {name: _scores(part) for name, part in predictions.groupby("carrier")},
    }
