"""Predictions anchored to a lab's own measurements, without retraining.

A lab that has measured a few compositions knows something the model does not: how far off the
model is for its samples, near them. The model's error at a measured composition (measured minus
predicted log10 sigma) carries over, in part, to compositions close to it in descriptor space.
Errors are modelled as a Gaussian process over the conductivity model's descriptors
(standardised, distance in units of the typical distance between neighbouring training
compositions, as in :mod:`predictor.estimators.domain`):

    cov(e(x), e(x')) = s(x) s(x') rho0 exp(-d(x, x')^2 / (2 length^2))     (x != x')
    var(e(x))        = s(x)^2

with s the model's calibrated standard deviation. ``rho0`` and ``length`` are fitted when the
model is trained (:meth:`ResidualKernel.fit`), on held-out data: the grouped out-of-fold errors
of pairs of training compositions reported by the same paper, the situation of a lab measuring
its own series. A measurement carries the lab's own spread (``lab_std``, log10 S/cm). The
posterior moves each prediction by what the measurements say about it and narrows its
uncertainty near them; far from every measurement it is unchanged. A measured composition
itself returns its measurement (the mean of its repeats) with the lab's spread.

On the doping-series benchmark (``benchmarks/few_shot.py``: 14 held-out papers) one measured
composition of a paper lowers the median error on its others from 0.80 to 0.73 decades (two:
0.72), against 0.54 for knowing the paper's exact offset: the model's trend within a series,
not its level, limits what a measurement can fix.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
#: Normal quantile of a central 90 % interval.
Z90 = 1.6448536269514722
#: Spread of a lab's repeated measurements of one composition (log10 S/cm), when not given.
DEFAULT_LAB_STD = 0.15


def standardised_descriptors(domain, features: np.ndarray) -> np.ndarray:
    """Descriptors in the space of an :class:`~predictor.estimators.domain.ApplicabilityDomain`, in units of its typical distance."""
    return domain._standardise(features) / domain.typical_distance_


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``a`` and of ``b``, shape (len(a), len(b))."""
    squared = np.einsum("ij,ij->i", a, a)[:, None] + np.einsum("ij,ij->i", b, b)[None, :] - 2.0 * a @ b.T
    return np.maximum(squared, 0.0)


@dataclass(frozen=True)
class ResidualKernel:
    """How the model's errors at two compositions go together: ``correlation * exp(-d^2 / (2 length^2))``.

    ``length`` in units of the typical distance between neighbouring training compositions;
    ``correlation`` is that of two compositions at distance 0 (different samples: a shared lab
    offset, shared model error).
    """

    length: float
    correlation: float
    pairs: int = 0

    @classmethod
    def fit(cls, descriptors: np.ndarray, residuals: np.ndarray, std: np.ndarray, papers: list[set[str]],
            lengths: np.ndarray = np.geomspace(0.25, 16.0, 25)) -> ResidualKernel:
        """Least squares of the products of normalised held-out errors of same-paper pairs.

        Among the length scales whose correlation is at least two standard errors from zero,
        the one with the least squared error; none such: no correlation (anchoring then changes
        nothing but the measured compositions themselves).

        Parameters
        ----------
        descriptors : ndarray, shape (n, n_features)
            :func:`standardised_descriptors` of the training compositions.
        residuals, std : ndarray, shape (n,)
            Grouped out-of-fold errors (observed minus predicted) and calibrated std (log10 S/cm).
        papers : list of set of str
            The papers (DOIs or references) of each composition; pairs sharing one are used.
        lengths : ndarray
            Length scales tried; the correlation is solved in closed form for each.
        """
        normalised = np.asarray(residuals, float) / np.asarray(std, float)
        by_paper: dict[str, list[int]] = {}
        for i, names in enumerate(papers):
            for name in names:
                by_paper.setdefault(name, []).append(i)
        pairs = {(a, b) for rows in by_paper.values() for a in rows for b in rows if a < b}
        if len(pairs) < 10:
            return cls(length=1.0, correlation=0.0, pairs=len(pairs))
        first, second = (np.array(side) for side in zip(*sorted(pairs)))
        products = normalised[first] * normalised[second]
        d2 = np.sum((descriptors[first] - descriptors[second]) ** 2, axis=1)
        best = None
        for length in lengths:
            shape = np.exp(-d2 / (2.0 * length**2))
            weight = max(shape @ shape, 1e-12)
            correlation = float(np.clip(products @ shape / weight, 0.0, 0.99))
            if correlation < 2.0 * np.sqrt(np.mean(products**2) / weight):
                continue  # within two standard errors of none: noise would pass for a correlation
            error = float(np.sum((products - correlation * shape) ** 2))
            if best is None or error < best[0]:
                best = (error, float(length), correlation)
        if best is None:
            return cls(length=1.0, correlation=0.0, pairs=len(pairs))
        return cls(length=best[1], correlation=best[2], pairs=len(pairs))

    def __call__(self, d2: np.ndarray) -> np.ndarray:
        return self.correlation * np.exp(-np.asarray(d2) / (2.0 * self.length**2))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ResidualKernel:
        return cls(length=float(values["length"]), correlation=float(values["correlation"]),
                   pairs=int(values.get("pairs", 0)))


def anchor(query: np.ndarray, mean: np.ndarray, std: np.ndarray, measured: np.ndarray, residuals: np.ndarray,
           measured_std: np.ndarray, kernel: ResidualKernel, lab_std: float = DEFAULT_LAB_STD,
           n_repeats: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian-process posterior of log10 sigma at ``query`` given the measured errors.

    Parameters
    ----------
    query : ndarray, shape (n, n_features)
        :func:`standardised_descriptors` of the predicted compositions.
    mean, std : ndarray, shape (n,)
        The model's prediction and calibrated std there (log10 S/cm).
    measured : ndarray, shape (m, n_features)
        Descriptors of the measured compositions (distinct compositions).
    residuals, measured_std : ndarray, shape (m,)
        Measured minus predicted log10 sigma, and the model's std, at the measured compositions.
    kernel : ResidualKernel
    lab_std : float
        Spread of the lab's measurement of one composition (log10 S/cm).
    n_repeats : ndarray of int, shape (m,), optional
        Measurements averaged into each value (its spread is ``lab_std / sqrt(n)``); default 1.

    Returns
    -------
    mean, std : ndarray, shape (n,)
    """
    measured_std = np.asarray(measured_std, float)
    repeats = np.ones(len(measured_std)) if n_repeats is None else np.asarray(n_repeats, float)
    cross = np.asarray(std)[:, None] * measured_std[None, :] * kernel(squared_distances(query, measured))
    gram = measured_std[:, None] * measured_std[None, :] * kernel(squared_distances(measured, measured))
    np.fill_diagonal(gram, measured_std**2 + lab_std**2 / repeats)
    weights = np.linalg.solve(gram, cross.T).T  # (n, m)
    corrected = np.asarray(mean) + weights @ np.asarray(residuals)
    variance = np.asarray(std) ** 2 - np.einsum("ij,ij->i", weights, cross)
    return corrected, np.sqrt(np.maximum(variance, 0.0))


def check_lab_std(lab_std) -> float:
    """``lab_std`` (log10 S/cm) as a positive finite float; ValueError naming it otherwise."""
    try:
        value = float(lab_std)
    except (TypeError, ValueError):
        raise ValueError(f"lab_std={lab_std!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"lab_std={lab_std!r}: the spread of repeated measurements must be a positive number "
                         "(log10 S/cm, e.g. 0.15)")
    return value


class MeasurementAnchors:
    """A lab's measured room-temperature conductivities, and how they correct predictions.

    Built by :meth:`predictor.Predictor.with_measurements`; :meth:`correct` applies them to a
    batch of predictions.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`measurements_table`: one row per measured composition.
    prediction : dict
        The model's ``predict_distribution`` of its compositions (``mean``, ``std``).
    descriptors : ndarray
        Their :func:`standardised_descriptors`.
    kernel : ResidualKernel
    lab_std : float
        Spread of one measurement (log10 S/cm); a value averaged over n repeats has ``lab_std / sqrt(n)``.
    """

    def __init__(self, table: pd.DataFrame, prediction: dict, descriptors: np.ndarray, kernel: ResidualKernel,
                 lab_std: float = DEFAULT_LAB_STD):
        from predictor.prediction.measured import MeasuredValues

        self.lab_std = check_lab_std(lab_std)
        self.n_repeats = table["n"].to_numpy(int)
        self.residuals = table["log10_sigma"].to_numpy(float) - prediction["mean"]
        self.model_std = np.asarray(prediction["std"], float)
        self.descriptors = descriptors
        self.kernel = kernel
        #: Looks a composition up by the package's rule of composition identity; fills the ``measured_*`` columns.
        self.measured = MeasuredValues(pd.DataFrame({
            "formula": table["formula"], "measured_log10_sigma": table["log10_sigma"], "measured_n": table["n"],
            "measured_refs": "your measurements (rows " + table["rows"] + ")"}))

    def posterior(self, compositions, descriptors: np.ndarray, mean: np.ndarray, std: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """Anchored mean and std of compositions (a measured one: its value and spread), and their
        :meth:`~predictor.prediction.measured.MeasuredValues.lookup` (``measured_n`` 0 when not measured)."""
        mean, std = anchor(descriptors, mean, std, self.descriptors, self.residuals, self.model_std, self.kernel,
                           self.lab_std, self.n_repeats)
        found = self.measured.lookup(compositions)
        measured = (found["measured_n"] > 0).to_numpy()
        mean[measured] = found["measured_log10_sigma"].to_numpy()[measured]
        std[measured] = self.lab_std / np.sqrt(found["measured_n"].to_numpy()[measured])
        return mean, std, found

    def correct(self, compositions, descriptors: np.ndarray, result: dict, predict,
                ceiling: float | None = None) -> tuple[dict, pd.DataFrame]:
        """``result`` (``mean``, ``std``, ``lo``, ``hi`` of ``compositions``) anchored to the measurements.

        ``predict`` maps a list of compositions to the model's ``(mean, std, descriptors)``: a
        composition with trace elements takes the anchoring of its versions without them, weighed
        as the model weighs their predictions (:mod:`predictor.estimators.trace_elements`), so
        that a trace of a dopant in a measured composition moves continuously away from the
        measurement. Returns the corrected result (90 % interval: mean ± 1.645 std, its upper
        bound capped at ``ceiling`` but never below the mean) and the compositions' measured values
        (:meth:`posterior`).
        """
        from predictor.estimators.trace_elements import pin_trace_elements

        model_mean = np.asarray(result["mean"], float)
        anchored, std, found = self.posterior(compositions, descriptors, model_mean.copy(),
                                              np.asarray(result["std"], float).copy())

        def of_versions(versions):
            version_mean, version_std, version_descriptors = predict(versions)
            version_anchored, version_spread, _ = self.posterior(versions, version_descriptors, version_mean.copy(),
                                                                 version_std.copy())
            return version_anchored - version_mean, version_spread

        correction, std = pin_trace_elements(compositions, [anchored - model_mean, std], of_versions, power=1)
        mean = model_mean + correction
        hi = mean + Z90 * std
        if ceiling is not None:
            hi = np.maximum(np.minimum(hi, ceiling), mean)
        return {**result, "mean": mean, "std": std, "lo": mean - Z90 * std, "hi": hi}, found


def measurements_table(labels) -> pd.DataFrame:
    """A lab's measurements (the CSV schema of ``predictor train --labels``) as one row per composition.

    Columns ``formula``, ``log10_sigma`` (at 25 °C; mean of repeats), ``n``, ``rows`` (their row
    numbers); raises :class:`~predictor.errors.LabelsError` when no row is usable, naming each
    row's reason.
    """
    from predictor.composition import composition_groups, parse_formula
    from predictor.errors import LabelsError
    from predictor.loaders.user_labels import read_user_labels

    usable, rejected = read_user_labels(labels)
    other = usable[usable["log10_sigma"].isna()]
    rejected = pd.concat([rejected, pd.DataFrame({"source": other["source"], "formula": other["formula"],
                                                  "row": other["row"],
                                                  "reason": "no conductivity: measurements anchor conductivity"})],
                         ignore_index=True).sort_values("row", kind="stable")
    usable = usable[usable["log10_sigma"].notna()]
    if usable.empty:
        reasons = "; ".join(f"row {r.row} ({r.formula or 'no formula'}): {r.reason}" for r in rejected.itertuples())
        raise LabelsError(f"no usable measurement: {reasons or 'the table is empty'}")
    usable = usable.assign(group=composition_groups(parse_formula(f) for f in usable["formula"]),
                           row=usable["row"].astype(str))
    grouped = usable.groupby("group", sort=False)
    table = pd.DataFrame({"formula": grouped["formula"].first(), "log10_sigma": grouped["log10_sigma"].mean(),
                          "n": grouped.size(), "rows": grouped["row"].agg(", ".join)}).reset_index(drop=True)
    table.attrs["rejected"] = rejected
    return table
