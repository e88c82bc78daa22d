"""Calibrated predictive uncertainty from held-out residuals.

The spread of a bagged ensemble alone under-covers (it ignores label noise, ~0.5 log10 units
for conductivities measured on differently processed samples) and is not calibrated. So the
uncertainty model is fitted to out-of-fold residuals r of the ensemble mean m:

    sigma^2 = noise_std^2 + (ensemble_scale * s)^2 + (distance_scale * d)^2
              + (level_scale * max(0, level_reference - m))^2

with s the ensemble standard deviation, d the distance to the training data
(:class:`predictor.estimators.domain.ApplicabilityDomain`) and the last term letting the noise grow below
a reference level of the prediction (measured: held-out conductivity errors of poor conductors,
predicted below ~1e-6 S/cm, are three to four times those of fast ion conductors), by
maximising the Gaussian likelihood of r. Then split-conformal calibration on the normalised
scores |r| / sigma gives the factor q such that m ± q·sigma covers the requested fraction of
held-out points (finite-sample corrected quantile). The reported standard deviation is
q·sigma / z, with z the normal quantile of the same coverage, so that m ± z·std is that interval.

The noise term has a floor, ``min_noise_std``: the label noise of repeated measurements of
one composition (~0.4 log10 units for conductivities, say the halide reviews), which the
held-out residuals of other chemical systems cannot reveal and which a new measurement of even a
training composition will show. The level term is used only where it is meaningful
(conductivity), ``level_term=False`` fixes it at zero.

Far from the training data the distance term grows without bound; sigma is capped at the
standard deviation of the training targets (``max_std``), the spread a model that knows nothing
about a composition would honestly report.

**Coverage per family (Mondrian conformal).** One factor q for all compositions covers 90 % on
average, not within each family: held-out errors of oxyhalides are twice those of argyrodites,
and the oxides outnumber the halides two to one, so a pooled q made halide intervals wider than
their errors and oxyhalide ones too narrow. With ``categories`` (each held-out point's
:func:`calibration_categories`: its anion family, then "halide" or "non-halide"), q is also
computed per category that holds at least ``MIN_CATEGORY_SIZE`` held-out points, and a
prediction uses the finest category with its own q (the anion family, else halide/non-halide,
else the pooled q).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.stats import norm

from predictor.composition import anion_family

#: Fewest held-out points of a category for it to get its own conformal factor (a 90 % quantile
#: of 40 points is their 37th largest score).
MIN_CATEGORY_SIZE = 40


def calibration_categories(compositions) -> list[tuple[str, str]]:
    """(anion family, "halide" or "non-halide") of each composition: the categories of the
    Mondrian conformal factors, finest first."""
    result = []
    for composition in compositions:
        family = anion_family(composition)
        result.append((family, "non-halide" if family == "non-halide" else "halide"))
    return result


def _conformal_quantile(scores: np.ndarray, coverage: float) -> float:
    """Finite-sample corrected ``coverage`` quantile of ``scores``."""
    level = min(1.0, np.ceil((len(scores) + 1) * coverage) / len(scores))
    return float(np.quantile(scores, level, method="higher"))


@dataclass(frozen=True)
class UncertaintyCalibration:
    noise_std: float
    ensemble_scale: float
    distance_scale: float
    level_scale: float
    level_reference: float
    conformal_quantile: float
    coverage: float
    max_std: float = float("inf")
    #: Conformal factor of each category with at least MIN_CATEGORY_SIZE held-out points.
    category_quantiles: dict = field(default_factory=dict)

    def sigma(self, ensemble_std: np.ndarray, distance: np.ndarray, mean: np.ndarray) -> np.ndarray:
        """Uncalibrated predictive standard deviation (target units), capped at ``max_std``."""
        below = np.maximum(0.0, self.level_reference - np.asarray(mean, dtype=float))
        sigma = np.sqrt(
            self.noise_std**2
            + (self.ensemble_scale * ensemble_std) ** 2
            + (self.distance_scale * distance) ** 2
            + (self.level_scale * below) ** 2
        )
        return np.minimum(sigma, self.max_std)

    def quantile(self, categories: Sequence[tuple[str, ...]] | None = None) -> np.ndarray | float:
        """Conformal factor of each row of categories: its finest category's, else the pooled one."""
        if categories is None or not self.category_quantiles:
            return self.conformal_quantile
        return np.array([next((self.category_quantiles[c] for c in row if c in self.category_quantiles),
                              self.conformal_quantile) for row in categories])

    def factors(self, compositions) -> np.ndarray | float:
        """Conformal factor of each composition (:meth:`quantile` of its categories).

        A composition with trace elements takes the factors of its versions without them, weighed
        as its conductivity is (:mod:`predictor.estimators.trace_elements`): 0.01 Br in Li3YCl6 makes
        a mixed halide, whose factor must not jump the interval away from the chloride's.
        """
        if not self.category_quantiles:
            return self.conformal_quantile
        from predictor.estimators.trace_elements import trace_element_versions

        factors = np.array(self.quantile(calibration_categories(compositions)), dtype=float)
        for k, composition in enumerate(compositions):
            versions, own_weight = trace_element_versions(composition, power=1)
            if versions:
                blended = self.quantile(calibration_categories([v for v, _ in versions]))
                factors[k] = own_weight * factors[k] + np.dot([w for _, w in versions], blended)
        return factors

    def half_width(self, ensemble_std: np.ndarray, distance: np.ndarray, mean: np.ndarray,
                   factors: np.ndarray | float | None = None) -> np.ndarray:
        """Half width of the calibrated ``coverage`` interval (target units).

        ``factors``: each prediction's conformal factor (:meth:`factors`; the pooled one when None).
        """
        factors = self.conformal_quantile if factors is None else factors
        return factors * self.sigma(ensemble_std, distance, mean)

    def std(self, ensemble_std: np.ndarray, distance: np.ndarray, mean: np.ndarray,
            factors: np.ndarray | float | None = None) -> np.ndarray:
        """Calibrated standard deviation: mean ± z(coverage)·std is the calibrated interval."""
        return self.half_width(ensemble_std, distance, mean, factors) / norm.ppf(0.5 + self.coverage / 2)

    @classmethod
    def fit(
        cls, residuals, ensemble_std, distance, mean, coverage: float = 0.9, max_std: float = float("inf"),
        min_noise_std: float = 0.0, level_term: bool = True, categories: Sequence[tuple[str, ...]] | None = None,
    ) -> "UncertaintyCalibration":
        """Fit the variance model by maximum likelihood, then the conformal factor.

        Parameters
        ----------
        residuals : array-like, shape (n_samples,)
            Held-out errors, observed minus predicted (target units).
        ensemble_std, distance, mean : array-like, shape (n_samples,)
            Ensemble spread, domain distance and predicted mean of the same held-out predictions.
        coverage : float, default=0.9
        max_std : float, default=inf
            Cap on sigma (target units), normally the standard deviation of the training targets.
        min_noise_std : float, default=0
            Floor of the noise term (target units).
        level_term : bool, default=True
            Fit the level term; False fixes it at zero.
        categories : sequence of tuple of str, optional
            Each held-out point's :func:`calibration_categories`; a conformal factor is then
            also computed per category with at least ``MIN_CATEGORY_SIZE`` points.
        """
        r, s, d, m = (np.asarray(a, dtype=float) for a in (residuals, ensemble_std, distance, mean))
        if len(r) < 5:
            raise ValueError(f"need at least 5 held-out residuals to calibrate, got {len(r)}")
        if not 0 < coverage < 1:
            raise ValueError(f"coverage={coverage} must be between 0 and 1")

        def unpack(params):
            b = np.sqrt(min_noise_std**2 + np.exp(2 * params[0]))
            a, c = np.exp(params[1:3])
            e = np.exp(params[3]) if level_term else 0.0
            return b, a, c, e, (params[4] if level_term else 0.0)

        def variance(params):
            b, a, c, e, reference = unpack(params)
            return b**2 + (a * s) ** 2 + (c * d) ** 2 + (e * np.maximum(0.0, reference - m)) ** 2

        def negative_log_likelihood(params):
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                var = variance(params)
                value = 0.5 * np.sum(np.log(var) + r**2 / var)
            return value if np.isfinite(value) else np.inf  # steps to absurd scales are rejected

        start = np.array([np.log(max(np.std(r), 1e-3)), 0.0, np.log(0.1), np.log(0.1), np.median(m)])
        fitted = minimize(negative_log_likelihood, start, method="Nelder-Mead",
                          options={"maxiter": 4000, "xatol": 1e-4, "fatol": 1e-6})
        b, a, c, e, reference = unpack(fitted.x)
        sigma = np.minimum(np.sqrt(variance(fitted.x)), max_std)
        scores = np.abs(r) / sigma
        per_category = {}
        if categories is not None:
            if len(categories) != len(r):
                raise ValueError(f"categories has {len(categories)} rows for {len(r)} residuals")
            for name in sorted({c for row in categories for c in row}):
                inside = np.array([name in row for row in categories])
                if inside.sum() >= MIN_CATEGORY_SIZE:
                    per_category[name] = _conformal_quantile(scores[inside], coverage)
        return cls(noise_std=float(b), ensemble_scale=float(a), distance_scale=float(c), level_scale=float(e),
                   level_reference=float(reference), conformal_quantile=_conformal_quantile(scores, coverage),
                   coverage=coverage, max_std=float(max_std), category_quantiles=per_category)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "UncertaintyCalibration":
        numbers = {k: float(values[k]) for k in cls.__dataclass_fields__ if k != "category_quantiles"}
        categories = {str(k): float(v) for k, v in values.get("category_quantiles", {}).items()}
        return cls(**numbers, category_quantiles=categories)


def cross_conformal(residuals, ensemble_std, distance, mean, held_out: Sequence[np.ndarray], compositions,
                    interval_ceiling: float | None = None, **fit_options) -> dict[str, np.ndarray]:
    """Held-out mean, calibrated std and interval of every composition of a model's calibration folds.

    The grouped cross-validation of a model from the fits that calibrate it: ``mean`` is what
    each fold's model predicts for the compositions it held out, and the interval of each
    fold's compositions comes from an :class:`UncertaintyCalibration` fitted on the *other*
    folds' residuals (cross-conformal), so its coverage is measured on points the calibration
    never saw.

    Parameters
    ----------
    residuals, ensemble_std, distance, mean : array-like, shape (n_samples,)
        As for :meth:`UncertaintyCalibration.fit`: the out-of-fold predictions (target units).
    held_out : sequence of int arrays
        The held-out indices of each fold (together, every row once).
    compositions : sequence of pymatgen.core.Composition
        The compositions of the rows (their categories choose the conformal factors).
    interval_ceiling : float, optional
        Cap of the upper bound (target units), as the model's predictions have.
    **fit_options
        ``coverage``, ``max_std``, ``min_noise_std``, ``level_term`` of :meth:`UncertaintyCalibration.fit`.

    Returns
    -------
    dict
        ``mean``, ``std``, ``lo``, ``hi`` and ``fold`` (the fold that held each row out), arrays of shape (n_samples,).
    """
    r, s, d, m = (np.asarray(a, dtype=float) for a in (residuals, ensemble_std, distance, mean))
    categories = calibration_categories(compositions)
    std, half, fold = np.full(len(r), np.nan), np.full(len(r), np.nan), np.full(len(r), -1)
    for k, held in enumerate(held_out):
        rest = np.setdiff1d(np.arange(len(r)), held)
        calibration = UncertaintyCalibration.fit(r[rest], s[rest], d[rest], m[rest],
                                                 categories=[categories[i] for i in rest], **fit_options)
        factors = calibration.factors([compositions[i] for i in held])
        std[held] = calibration.std(s[held], d[held], m[held], factors)
        half[held] = calibration.half_width(s[held], d[held], m[held], factors)
        fold[held] = k
    hi = m + half if interval_ceiling is None else np.minimum(m + half, interval_ceiling)
    return {"mean": m, "std": std, "lo": m - half, "hi": hi, "fold": fold}
