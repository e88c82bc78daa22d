"""One tidy table of room-temperature conductivity labels from every available source.

Sources, in order of precedence when the same composition appears in several:

1. ``obelix``: OBELiX (kept whole, so that its official split stays intact);
2. ``curated``: the project's curated halide dataset in ``datasets/`` (always available);
3. ``liiondb``: the Liverpool database, at room temperature (20-30 °C, :data:`predictor.loaders.ROOM_TEMPERATURE_RANGE_C`);
4. ``laskowski``: the Laskowski et al. (2023) table (:mod:`.laskowski`), where it adds a composition.

Compositions are matched by the package's one rule, :func:`predictor.composition.same_composition`
(same elements, every atomic fraction within 1 % of its value: Li3YCl6 and Li6Y2Cl12 are the
same, and so are Li2In0.666Cl4 and Li3InCl6). Several reports of one composition from a source
other than OBELiX are merged into their median. Rows whose formula cannot be parsed are not dropped silently: they are returned in
``LabelledData.rejected`` with the reason, and counted in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predictor.composition import (anion_family, chemical_system, composition_groups, composition_key, mobile_ion,
                                  parse_formula)
from predictor.errors import CompositionError, DataNotFoundError
from predictor.loaders import ALL_SOURCES, SOURCES

log = logging.getLogger(__name__)

COLUMNS = [
    "formula", "reduced_formula", "carrier", "anion_family", "log10_sigma", "T_C",
    "source", "doi", "group", "composition_key", "split", "censored",
]


@dataclass
class LabelledData:
    """Conductivity labels and the rows that could not be used, with the reason."""

    table: pd.DataFrame
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)

    def counts(self) -> pd.Series:
        """Number of labels per source."""
        return self.table["source"].value_counts()


def _load_source(name: str) -> pd.DataFrame:
    if name == "obelix":
        from predictor.loaders.obelix import load_obelix

        return load_obelix()
    if name == "liiondb":
        from predictor.loaders.liiondb import load_liiondb

        return load_liiondb()
    if name == "curated":
        from predictor.loaders.curated import room_temperature_conductivity

        return room_temperature_conductivity()
    if name == "laskowski":
        from predictor.loaders.laskowski import laskowski_conductivity

        return laskowski_conductivity()
    raise ValueError(f"unknown conductivity source {name!r}; choose from {ALL_SOURCES}")


def annotate(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse every formula and add the composition columns; split off rows that do not parse.

    ``composition_key`` is each row's own key; :func:`label_same_compositions` makes it the
    same for every row of the same composition.
    """
    records, rejected = [], []
    for index, formula in frame["formula"].items():
        try:
            composition = parse_formula(formula)
        except CompositionError as exc:
            rejected.append({"source": frame.at[index, "source"], "formula": formula, "reason": exc.reason})
            continue
        records.append(
            {
                "index": index,
                "reduced_formula": composition.reduced_formula,
                "carrier": mobile_ion(composition),
                "anion_family": anion_family(composition),
                "group": chemical_system(composition),
                "composition_key": composition_key(composition),
            }
        )
    extra = pd.DataFrame.from_records(records).set_index("index") if records else pd.DataFrame()
    good = frame.loc[extra.index].drop(columns=extra.columns, errors="ignore").join(extra) if records else frame.iloc[:0]
    return good, pd.DataFrame(rejected, columns=["source", "formula", "reason"])


def label_same_compositions(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Give every row of the same composition, across all ``frames``, one ``composition_key``.

    The frames (annotated by :func:`annotate`) are taken in order of precedence; rows of the
    same composition (:func:`predictor.composition.same_composition`) get the key of the first
    such row, so that ``composition_key`` can be compared and grouped on within and across them.
    """
    if not frames:
        return []
    sizes = [len(frame) for frame in frames]
    keys = pd.concat([frame["composition_key"] for frame in frames], ignore_index=True)
    formulas = pd.concat([frame["formula"] for frame in frames], ignore_index=True)
    groups = np.asarray(composition_groups(parse_formula(f) for f in formulas), dtype=int)
    first_key = keys.groupby(groups, sort=False).first()
    unified = first_key.reindex(groups).to_numpy()
    bounds = np.cumsum([0, *sizes])
    return [frame.assign(composition_key=unified[start:end]) for frame, start, end in zip(frames, bounds, bounds[1:])]


def _merge_repeats(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per composition key: the median label, DOIs joined, reports counted."""
    frame = frame.assign(n_reports=frame["n_reports"] if "n_reports" in frame else 1)
    grouped = frame.groupby("composition_key", sort=False)
    merged = grouped.first()
    merged["log10_sigma"] = grouped["log10_sigma"].median()
    merged["doi"] = grouped["doi"].agg(lambda d: "; ".join(sorted(set(filter(None, d)))))
    merged["n_reports"] = grouped["n_reports"].sum()
    return merged.reset_index()


def _say_which_user_labels_take_precedence(name: str, replaced: pd.DataFrame, tables: list[pd.DataFrame]) -> None:
    """Log, for each of a lab's compositions that ``name`` also holds, the two values (log10 S/cm)."""
    from predictor.loaders.user_labels import USER_SOURCE

    users = [t for t in tables if len(t) and t["source"].iloc[0] == USER_SOURCE]
    if not users:
        return
    mine = users[0].set_index("composition_key")
    for _, row in replaced[replaced["composition_key"].isin(mine.index)].iterrows():
        own = mine.loc[row["composition_key"]]
        log.info("your labels: %s (row %s, log10 sigma %.2f) takes precedence over %s's %s (%.2f)",
                 own["formula"], own["row"], own["log10_sigma"], name, row["formula"], row["log10_sigma"])


def load_conductivity_data(sources: tuple[str, ...] = SOURCES, require_all: bool = False,
                           extra_labels=None) -> LabelledData:
    """Room-temperature conductivity labels from the given sources, de-duplicated.

    Parameters
    ----------
    sources : tuple of str, default=("obelix", "curated", "liiondb")
        Which sources to use, in order of precedence.
    require_all : bool, default=False
        Raise when a third-party source is missing instead of skipping it with a warning.
    extra_labels : path of a CSV file or DataFrame, optional
        A lab's own measurements (:mod:`predictor.loaders.user_labels`): the ``user`` source,
        before every other for the same composition, all in one ``group`` (so that grouped
        folds hold them out together); its unusable rows go to ``rejected`` with their row
        number and reason.

    Returns
    -------
    LabelledData
        ``table`` has the columns of :data:`COLUMNS` (log10_sigma in log10 S/cm, T_C in °C, NaN
        when reported only as room temperature); ``n_reports`` counts the reports merged into a
        label; ``split`` is the OBELiX split ("train"/"test")
        for OBELiX rows and "extra" otherwise; ``censored`` marks labels below detection.
    """
    loaded, rejected = {}, []
    if extra_labels is not None:
        from predictor.loaders.user_labels import USER_GROUP, USER_SOURCE, read_user_labels

        usable, unusable = read_user_labels(extra_labels)
        usable = usable[usable["log10_sigma"].notna()]  # the others give Ea or window labels only
        rejected.append(unusable)
        if len(usable):
            # one group: the calibration folds hold the lab's rows out together (leave-the-lab-out)
            loaded[USER_SOURCE] = annotate(usable)[0].assign(group=USER_GROUP)
    for name in sources:
        try:
            frame = _load_source(name)
        except DataNotFoundError as exc:
            if require_all:
                raise
            log.warning("skipping source %s: %s", name, exc)
            continue
        good, bad = annotate(frame)
        rejected.append(bad)
        loaded[name] = good
        if len(bad):
            log.warning("%s: %d rows with unusable formulas (see LabelledData.rejected)", name, len(bad))

    tables, seen = [], set()
    for name, good in zip(loaded, label_same_compositions(list(loaded.values()))):
        if name != "obelix":
            good = _merge_repeats(good)
        duplicate = good["composition_key"].isin(seen)
        if duplicate.any():
            log.info("%s: %d compositions already present in a preferred source", name, duplicate.sum())
            _say_which_user_labels_take_precedence(name, good[duplicate], tables)
        good = good[~duplicate]
        seen.update(good["composition_key"])
        tables.append(good)

    if not tables:
        raise DataNotFoundError(f"no conductivity source could be loaded from {sources}")
    table = pd.concat(tables, ignore_index=True)
    split = table["split"] if "split" in table else pd.Series(np.nan, index=table.index)
    table["split"] = split.where(split.notna(), "extra")
    table["censored"] = table["censored"].eq(True) if "censored" in table else False
    table["T_C"] = table["T_C"].astype(float)
    table["n_reports"] = table["n_reports"].fillna(1).astype(int) if "n_reports" in table else 1
    table = table[COLUMNS + [c for c in table.columns if c not in COLUMNS]]
    finite = np.isfinite(table["log10_sigma"].to_numpy(dtype=float))
    if not finite.all():
        rejected.append(table.loc[~finite, ["source", "formula"]].assign(reason="label is not a finite number"))
    table = table[finite].reset_index(drop=True)
    return LabelledData(table=table, rejected=pd.concat(rejected, ignore_index=True))
