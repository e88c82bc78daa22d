"""Activation-energy labels (Ea, eV): reported values and Arrhenius fits of multi-temperature data.

The rule (also in the README, section "Conductivity at other temperatures"):

1. **Reported** (source ``curated``): every row of ``datasets/halide_conductivity.csv`` with an
   ``Ea_eV``, experimental (``value_kind``), not a composite, with no bound on its conductivity.
   The fit's temperature range is not stated in the file (``T_min_C``/``T_max_C`` NaN).
2. **Arrhenius fit** (source ``liiondb``): the Liverpool measurements of one composition from one
   paper at no more than :data:`LIIONDB_MAX_T_C` (higher temperatures often cross phase
   transitions and say little about a cell's range), at least two distinct temperatures spanning
   at least :data:`MIN_SPAN_K`: least squares of log10(sigma*T) on 1/T
   (:func:`predictor.prediction.temperature.fit_arrhenius`), with the standard error of Ea when there are
   three or more temperatures. A fit outside :data:`EA_RANGE_EV` is not a label: it is listed in
   ``rejected`` with the reason, as are too-narrow series.
3. One label per composition (atomic fractions rounded to 1e-4, as for conductivity): the
   median Ea of its reports from all sources, the number of reports, their spread (max - min)
   and their DOIs.

Consistency (:func:`consistency_checks`): where the curated file reports, for one composition
and paper, an Ea beside conductivities at two or more temperatures, the Ea implied by those
conductivities must agree with the reported one within :data:`CONSISTENCY_TOLERANCE_EV`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predictor.errors import DataNotFoundError
from predictor.loaders.curated.schema import EA_RANGE_EV  # plausible Ea (eV): the curated file's rule, one place
from predictor.prediction.temperature import fit_arrhenius

log = logging.getLogger(__name__)

SOURCES = ("curated", "liiondb", "laskowski")
#: Sources whose labels count only for compositions the sources before them lack (their precedence is lower).
SECONDARY = ("laskowski",)
#: Highest measurement temperature (°C) used in the Arrhenius fits of the Liverpool data.
LIIONDB_MAX_T_C = 200.0
#: Narrowest temperature span (K) of a fitted series.
MIN_SPAN_K = 20.0
#: Largest difference (eV) between a reported Ea and the one implied by the same paper's conductivities.
CONSISTENCY_TOLERANCE_EV = 0.1
METHOD_REPORTED = "reported"
METHOD_FIT = "Arrhenius fit of log10(sigma*T) vs 1/T"

REPORT_COLUMNS = ["formula", "Ea_eV", "Ea_se_eV", "T_min_C", "T_max_C", "n_points", "method", "source", "doi",
                  "reference"]
REPORT_DTYPES = {"formula": object, "Ea_eV": float, "Ea_se_eV": float, "T_min_C": float, "T_max_C": float,
                 "n_points": int, "method": object, "source": object, "doi": object, "reference": object}
LABEL_COLUMNS = ["formula", "reduced_formula", "carrier", "anion_family", "Ea_eV", "Ea_se_eV", "Ea_spread_eV",
                 "n_reports", "T_min_C", "T_max_C", "method", "source", "doi", "group", "composition_key"]


@dataclass
class ActivationData:
    """Activation-energy labels, the reports behind them and the rows not used (with the reason)."""

    table: pd.DataFrame
    reports: pd.DataFrame
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)


def curated_reports(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Reported activation energies of the curated file (rule 1), with :data:`REPORT_COLUMNS`.

    The file is refused unless it passes the schema rules (``Ea_eV`` within :data:`EA_RANGE_EV`;
    :func:`predictor.loaders.curated.checked_conductivity_table`).
    """
    from predictor.loaders.curated import checked_conductivity_table

    table = checked_conductivity_table() if table is None else table
    keep = (table["Ea_eV"].notna() & (table["value_kind"] == "experimental") & ~table["composite"].astype(bool)
            & (table["bound"].fillna("") == ""))
    rows = table[keep]
    return pd.DataFrame({
        "formula": rows["formula"].to_numpy(), "Ea_eV": rows["Ea_eV"].to_numpy(dtype=float),
        "Ea_se_eV": np.nan, "T_min_C": np.nan, "T_max_C": np.nan, "n_points": 0, "method": METHOD_REPORTED,
        "source": "curated", "doi": rows["doi"].fillna("").to_numpy(), "reference": rows["reference"].fillna("").to_numpy(),
    }, columns=REPORT_COLUMNS)


def arrhenius_reports(measurements: pd.DataFrame, source: str, max_T_C: float = LIIONDB_MAX_T_C,
                      min_span_K: float = MIN_SPAN_K) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit an Ea to each composition and paper measured at several temperatures (rule 2).

    Parameters
    ----------
    measurements : pandas.DataFrame
        Columns ``formula``, ``doi``, ``T_C`` (°C), ``log10_sigma`` (log10 S/cm).
    source : str
        Name written into the ``source`` column.

    Returns
    -------
    (reports, rejected)
        ``reports`` with :data:`REPORT_COLUMNS`; ``rejected`` with ``source``, ``formula``,
        ``reason`` for the series with at least two temperatures that gave no label.
    """
    reports, rejected = [], []
    usable = measurements[measurements["T_C"] <= max_T_C]
    for (formula, doi), series in usable.groupby(["formula", "doi"], sort=True):
        temperatures = series["T_C"].to_numpy(dtype=float)
        if len(np.unique(temperatures)) < 2:
            continue
        if np.ptp(temperatures) < min_span_K:
            rejected.append({"source": source, "formula": formula,
                             "reason": f"temperatures span {np.ptp(temperatures):.0f} K < {min_span_K:g} K"})
            continue
        fit = fit_arrhenius(temperatures, series["log10_sigma"].to_numpy(dtype=float))
        if not EA_RANGE_EV[0] <= fit.Ea_eV <= EA_RANGE_EV[1]:
            rejected.append({"source": source, "formula": formula,
                             "reason": f"fitted Ea {fit.Ea_eV:.2f} eV outside {EA_RANGE_EV[0]:g}-{EA_RANGE_EV[1]:g} eV"})
            continue
        reports.append({"formula": formula, "Ea_eV": fit.Ea_eV, "Ea_se_eV": fit.Ea_se_eV, "T_min_C": fit.T_min_C,
                        "T_max_C": fit.T_max_C, "n_points": fit.n_points, "method": METHOD_FIT, "source": source,
                        "doi": doi, "reference": ""})
    return (pd.DataFrame(reports, columns=REPORT_COLUMNS),
            pd.DataFrame(rejected, columns=["source", "formula", "reason"]))


def liiondb_measurements() -> pd.DataFrame:
    """Every Liverpool measurement (any temperature): ``formula``, ``doi``, ``T_C`` (°C), ``log10_sigma``.

    Raises
    ------
    DataNotFoundError
        When the Liverpool file is not in the data directory.
    """
    from predictor.loaders.liiondb import clean_formula
    from predictor.paths import data_file

    raw = pd.read_csv(data_file("liiondb", "LiIonDatabase.csv"), encoding="utf-8-sig")
    return pd.DataFrame({
        "formula": raw["composition"].map(clean_formula), "doi": raw["source"].fillna("").astype(str),
        "T_C": raw["temperature"].astype(float), "log10_sigma": raw["log_target"].astype(float),
    })


def _source_reports(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if name == "curated":
        return curated_reports(), pd.DataFrame(columns=["source", "formula", "reason"])
    if name == "liiondb":
        return arrhenius_reports(liiondb_measurements(), "liiondb")
    if name == "laskowski":
        from predictor.loaders.laskowski import laskowski_activation_reports

        return laskowski_activation_reports()
    raise ValueError(f"unknown activation-energy source {name!r}; choose from {SOURCES}")


def merge_reports(reports: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One label per composition (rule 3); rows whose formula does not parse are returned as rejected."""
    from predictor.loaders.combined import annotate

    good, rejected = annotate(reports.reset_index(drop=True))
    if good.empty:
        return pd.DataFrame(columns=LABEL_COLUMNS), rejected
    grouped = good.groupby("composition_key", sort=True)
    first = grouped.first()
    table = pd.DataFrame({
        "formula": first["formula"], "reduced_formula": first["reduced_formula"], "carrier": first["carrier"],
        "anion_family": first["anion_family"],
        "Ea_eV": grouped["Ea_eV"].median(),
        # the standard error of a single fit; of several reports, their spread says more
        "Ea_se_eV": grouped["Ea_se_eV"].agg(lambda s: s.iloc[0] if len(s) == 1 else np.nan),
        "Ea_spread_eV": grouped["Ea_eV"].agg(lambda s: float(s.max() - s.min())),
        "n_reports": grouped.size(),
        "T_min_C": grouped["T_min_C"].min(), "T_max_C": grouped["T_max_C"].max(),
        "method": grouped["method"].agg(lambda s: "; ".join(sorted(set(s)))),
        "source": grouped["source"].agg(lambda s: "; ".join(dict.fromkeys(s))),
        "doi": grouped["doi"].agg(lambda s: "; ".join(sorted(set(filter(None, s))))),
        "group": first["group"],
    }).reset_index()
    return table[LABEL_COLUMNS].reset_index(drop=True), rejected


def load_activation_labels(sources: tuple[str, ...] = SOURCES, require_all: bool = False,
                           extra: pd.DataFrame | None = None) -> ActivationData:
    """Activation-energy labels from the given sources (see the module docstring for the rule).

    A third-party source that is not in the data directory is skipped with a warning (raised
    with ``require_all``). ``extra``: a lab's rows
    (:func:`predictor.loaders.user_labels.read_user_labels`); those with an ``Ea_eV`` replace
    every source's label of the same composition, all in one calibration group.

    Returns
    -------
    ActivationData
        ``table``: one row per composition with :data:`LABEL_COLUMNS` (``Ea_eV`` in eV,
        temperatures in °C, ``group`` the chemical system); ``reports``: the reports before
        merging; ``rejected``: rows not used and why.
    """
    reports, rejected = [], []
    for name in sources:
        try:
            part, bad = _source_reports(name)
        except DataNotFoundError as exc:
            if require_all:
                raise
            log.warning("activation energies: skipping source %s: %s", name, exc)
            continue
        reports.append(part)
        rejected.append(bad)
    if not reports:
        raise DataNotFoundError(f"no activation-energy source could be loaded from {sources}")
    # column by column: pandas warns when concatenating the all-NaN columns of reported values
    reports = pd.DataFrame({c: np.concatenate([part[c].to_numpy(dtype=object) for part in reports])
                            for c in REPORT_COLUMNS}).astype(REPORT_DTYPES)
    secondary = reports["source"].isin(SECONDARY)
    table, unparsed = merge_reports(reports[~secondary])
    if secondary.any():  # the Laskowski table adds the compositions the other sources lack
        extra_table, extra_unparsed = merge_reports(reports[secondary])
        table = _first_then_new(table, extra_table)
        unparsed = pd.concat([unparsed, extra_unparsed], ignore_index=True)
    if extra is not None and extra["Ea_eV"].notna().any():
        table = _with_user_labels(table, extra[extra["Ea_eV"].notna()])
    rejected = pd.concat([*rejected, unparsed], ignore_index=True)
    log.info("activation energies: %d compositions from %d reports; %d rows rejected", len(table), len(reports),
             len(rejected))
    return ActivationData(table=table, reports=reports, rejected=rejected)


def _with_user_labels(table: pd.DataFrame, mine: pd.DataFrame) -> pd.DataFrame:
    """The labels with a lab's Ea values first, replacing the others' of the same composition."""
    from predictor.loaders.user_labels import USER_GROUP, USER_SOURCE

    reports = pd.DataFrame({"formula": mine["formula"], "Ea_eV": mine["Ea_eV"], "Ea_se_eV": np.nan,
                            "T_min_C": np.nan, "T_max_C": np.nan, "n_points": 0, "method": METHOD_REPORTED,
                            "source": USER_SOURCE, "doi": mine["doi"], "reference": ""}).astype(REPORT_DTYPES)
    own = merge_reports(reports)[0].assign(group=USER_GROUP)
    return _first_then_new(own, table, "your labels replace")


def _first_then_new(first: pd.DataFrame, then: pd.DataFrame, say: str = "") -> pd.DataFrame:
    """The labels of ``first``, then those of ``then`` for compositions ``first`` lacks (one composition key)."""
    from predictor.loaders.combined import label_same_compositions

    first, then = label_same_compositions([first, then])
    # the one rule of composition identity can unite two compositions that merge_reports kept apart
    first, then = (frame.drop_duplicates("composition_key") for frame in (first, then))
    present = then["composition_key"].isin(set(first["composition_key"]))
    if say and present.any():
        log.info("activation energies: %s %d compositions' labels", say, int(present.sum()))
    return pd.concat([first, then[~present]], ignore_index=True)[LABEL_COLUMNS]


def consistency_checks(table: pd.DataFrame | None = None,
                       tolerance_eV: float = CONSISTENCY_TOLERANCE_EV) -> pd.DataFrame:
    """Reported Ea against the Ea implied by the same paper's conductivities at several temperatures.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        Curated conductivity reports (default: ``datasets/halide_conductivity.csv``).
    tolerance_eV : float, default=0.1

    Returns
    -------
    pandas.DataFrame
        One row per composition and paper with a reported Ea and single-value experimental
        conductivities at two or more distinct temperatures: ``formula``, ``doi``,
        ``Ea_reported_eV`` (median of the reported values), ``Ea_from_sigma_eV`` (Arrhenius
        fit of those conductivities), ``T_min_C``, ``T_max_C``, ``difference_eV`` and
        ``consistent`` (bool).
    """
    from predictor.loaders.combined import composition_key
    from predictor.composition import parse_formula
    from predictor.loaders.curated import checked_conductivity_table

    table = checked_conductivity_table() if table is None else table
    rows = table[(table["value_kind"] == "experimental") & ~table["composite"].astype(bool)].copy()
    rows["paper"] = rows["doi"].fillna("").where(rows["doi"].fillna("") != "", rows["reference"].fillna(""))
    rows = rows[rows["paper"] != ""]
    rows["key"] = [composition_key(parse_formula(f)) for f in rows["formula"]]
    results = []
    for (key, paper), group in rows.groupby(["key", "paper"], sort=True):
        sigma = group[group["sigma_S_cm"].notna() & group["T_C"].notna() & (group["bound"].fillna("") == "")]
        reported = group["Ea_eV"].dropna()
        if reported.empty or sigma["T_C"].nunique() < 2:
            continue
        fit = fit_arrhenius(sigma["T_C"].to_numpy(float), np.log10(sigma["sigma_S_cm"].to_numpy(float)))
        difference = fit.Ea_eV - float(reported.median())
        results.append({"formula": group["formula"].iloc[0], "doi": paper, "Ea_reported_eV": float(reported.median()),
                        "Ea_from_sigma_eV": fit.Ea_eV, "T_min_C": fit.T_min_C, "T_max_C": fit.T_max_C,
                        "difference_eV": difference, "consistent": abs(difference) <= tolerance_eV})
    return pd.DataFrame(results, columns=["formula", "doi", "Ea_reported_eV", "Ea_from_sigma_eV", "T_min_C", "T_max_C",
                                          "difference_eV", "consistent"])
