"""Descriptors from the physics of halide ion conductors.

Drawn from the halide literature (reviews: Tang et al., EES Batteries 2025; Muzakir et al.,
J. Mater. Chem. A 2025; Guo et al., MRS Bulletin 2023): the carrier and vacancy content of the
close-packed anion lattice, the size, charge and polarising power of the framework cations
(which decide ccp vs hcp stacking and the hopping path), the anion's electronegativity and
polarisability (softer anions, lower barriers), mixed-anion fraction and the configurational
entropy of both sublattices. Oxidation states and radii come from :mod:`.ionic`.

Every feature is a continuous function of the element amounts: as a dopant's amount goes to
zero, each tends to the parent's value (a trace dopant moves them by a trace). Spreads are
therefore variances and mixing is measured by 1 - sum c^2, both linear in a small fraction c
(a standard deviation or -c ln c would rise steeply from zero); counts of elements are not
used. Features (all per composition; NaN where undefined, e.g. no framework cation or no
anion):

=====================================  =====================================================
``carrier_per_anion``                  mobile-ion (Li or Na) atoms per anion
``carrier_atomic_fraction``            mobile-ion atoms per atom
``carrier_is_Na``                      1 for a Na conductor, 0 for Li (or none)
``cation_vacancy_per_anion``           1 - (cations / anions): empty octahedral sites per
                                       anion of a close-packed lattice (Li3YCl6: 1/3)
``framework_per_anion``                framework cations (all cations but the carrier,
                                       alkali and alkaline-earth metals and H+) per anion
``framework_oxidation_state_mean``     amount-weighted mean oxidation state of the framework
                                       cations
``framework_oxidation_state_var``      amount-weighted variance of the same (e^2)
``framework_radius_mean_A``            weighted mean Shannon radius (CN 6) of framework
                                       cations, Å
``framework_radius_var_A2``            weighted variance of those radii, Å^2
``framework_radius_mismatch``          sum c_i (1 - r_i / r_mean)^2, dimensionless (the
                                       square of the usual size-mismatch parameter)
``framework_ionic_potential_per_A``    weighted mean of z_i / r_i, Å^-1
``framework_polarising_power_per_A2``  weighted mean of z_i / r_i^2 (cation polarisation
                                       factor, Fajans), Å^-2
``framework_anion_radius_ratio``       framework radius mean / anion radius mean
``carrier_anion_radius_ratio``         carrier Shannon radius / anion radius mean
``anion_radius_mean_A``                weighted mean Shannon radius of the anions, Å
``anion_electronegativity_mean``       weighted mean Pauling electronegativity of anions
``anion_polarisability_mean_A3``       weighted mean free-ion polarisability (Pauling
                                       1927), Å^3
``halogen_fraction_of_anions``         halogen atoms / anion atoms
``mixed_anion_fraction``               1 - largest anion fraction (0 for a single anion)
``framework_mixing``                   1 - sum c^2 over framework cation fractions c (0 for
                                       one element; 1 - 1/n for n equal ones)
``anion_mixing``                       1 - sum c^2 over anion fractions
``charge_imbalance_per_anion``         |sum of nominal charges| / anions; 0 whenever there
                                       is a framework cation to balance the charge
=====================================  =====================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pymatgen.core import Composition

from predictor.composition import HALOGENS, mobile_ion
from predictor.featurizers.base import BaseFeaturizer, ElementFractions
from predictor.featurizers.ionic import (
    ANION_POLARISABILITY_A3,
    ionic_picture,
    pauling_electronegativity,
    shannon_radius_A,
)

FEATURES = (
    "carrier_per_anion", "carrier_atomic_fraction", "carrier_is_Na", "cation_vacancy_per_anion",
    "framework_per_anion", "framework_oxidation_state_mean", "framework_oxidation_state_var",
    "framework_radius_mean_A", "framework_radius_var_A2", "framework_radius_mismatch",
    "framework_ionic_potential_per_A", "framework_polarising_power_per_A2", "framework_anion_radius_ratio",
    "carrier_anion_radius_ratio", "anion_radius_mean_A", "anion_electronegativity_mean",
    "anion_polarisability_mean_A3", "halogen_fraction_of_anions", "mixed_anion_fraction",
    "framework_mixing", "anion_mixing", "charge_imbalance_per_anion",
)


# Plain Python on the two to five ions of a composition: numpy's per-call overhead would
# dominate the featurisation of large screening batches.
def _average(values: list[float], weights: list[float]) -> float:
    return sum(v * w for v, w in zip(values, weights)) / sum(weights)


def _weighted_mean_var(values: list[float], weights: list[float]) -> tuple[float, float]:
    if sum(weights) <= 0:
        return float("nan"), float("nan")
    mean = _average(values, weights)
    return mean, _average([(v - mean) ** 2 for v in values], weights)


def _mixing(weights: list[float]) -> float:
    """1 - sum of squared fractions (Gini-Simpson index): 0 for one species, linear in a trace one."""
    total = sum(weights)
    if total <= 0:
        return float("nan")
    return 1.0 - sum((w / total) ** 2 for w in weights)


def halide_descriptors(composition: Composition) -> dict[str, float]:
    """The halide descriptors of one composition, keyed by feature name (see module docstring)."""
    carrier = mobile_ion(composition)
    ions = ionic_picture(composition, carrier)
    total_atoms = composition.num_atoms
    anions = [i for i in ions if i.role == "anion"]
    framework = [i for i in ions if i.role == "framework"]
    cations = [i for i in ions if i.role != "anion"]
    n_anion = sum(i.amount for i in anions)
    n_carrier = composition[carrier] if carrier else 0.0

    f = dict.fromkeys(FEATURES, float("nan"))
    f["carrier_atomic_fraction"] = n_carrier / total_atoms
    f["carrier_is_Na"] = float(carrier == "Na")

    if framework:
        w = [i.amount for i in framework]
        z = [float(i.oxidation_state) for i in framework]
        f["framework_oxidation_state_mean"], f["framework_oxidation_state_var"] = _weighted_mean_var(z, w)
        f["framework_mixing"] = _mixing(w)
        sized = [(i.amount, float(i.oxidation_state), i.radius_A) for i in framework
                 if math.isfinite(i.radius_A) and i.radius_A > 0]
        if sized:
            w, z, r = (list(column) for column in zip(*sized))
            mean_r, var_r = _weighted_mean_var(r, w)
            total = sum(w)
            c = [wi / total for wi in w]
            f["framework_radius_mean_A"], f["framework_radius_var_A2"] = mean_r, var_r
            f["framework_radius_mismatch"] = sum(ci * (1 - ri / mean_r) ** 2 for ci, ri in zip(c, r))
            f["framework_ionic_potential_per_A"] = sum(ci * zi / ri for ci, zi, ri in zip(c, z, r))
            f["framework_polarising_power_per_A2"] = sum(ci * zi / ri**2 for ci, zi, ri in zip(c, z, r))

    if anions:
        w = [i.amount for i in anions]
        radii = [(i.radius_A, i.amount) for i in anions if math.isfinite(i.radius_A)]
        anion_radius = _average(*zip(*radii)) if radii else float("nan")
        f["anion_radius_mean_A"] = anion_radius
        f["anion_electronegativity_mean"] = _average([pauling_electronegativity(i.symbol) for i in anions], w)
        polarisability = [(ANION_POLARISABILITY_A3[i.symbol], i.amount) for i in anions
                          if i.symbol in ANION_POLARISABILITY_A3]
        if polarisability:
            f["anion_polarisability_mean_A3"] = _average(*zip(*polarisability))
        f["halogen_fraction_of_anions"] = sum(i.amount for i in anions if i.symbol in HALOGENS) / n_anion
        f["mixed_anion_fraction"] = 1.0 - max(w) / n_anion
        f["anion_mixing"] = _mixing(w)
        f["carrier_per_anion"] = n_carrier / n_anion
        f["framework_per_anion"] = sum(i.amount for i in framework) / n_anion
        f["cation_vacancy_per_anion"] = 1.0 - sum(i.amount for i in cations) / n_anion
        imbalance = abs(sum(i.amount * i.oxidation_state for i in ions)) / n_anion
        f["charge_imbalance_per_anion"] = imbalance if imbalance > 1e-9 else 0.0  # not rounding noise
        f["framework_anion_radius_ratio"] = f["framework_radius_mean_A"] / anion_radius
        if carrier:
            f["carrier_anion_radius_ratio"] = shannon_radius_A(carrier, 1) / anion_radius
    return f


class HalideFeaturizer(BaseFeaturizer):
    """Halide-physics descriptors of a composition (22 features, see :mod:`.halide`)."""

    def featurize_many(self, compositions: Sequence[Composition], batch: ElementFractions) -> np.ndarray:
        rows = [halide_descriptors(c) for c in compositions]
        return np.array([[row[name] for name in FEATURES] for row in rows], dtype=float).reshape(len(rows), len(FEATURES))

    def feature_labels(self) -> list[str]:
        return list(FEATURES)

    def citations(self) -> list[str]:
        return [
            "@article{shannon_1976, author={Shannon, R. D.}, title={Revised effective ionic radii and "
            "systematic studies of interatomic distances in halides and chalcogenides}, journal={Acta "
            "Crystallographica A}, volume={32}, pages={751--767}, year={1976}}",
            "@article{pauling_1927, author={Pauling, L.}, title={The theoretical prediction of the "
            "physical properties of many-electron atoms and ions}, journal={Proc. R. Soc. A}, "
            "volume={114}, pages={181--211}, year={1927}}",
        ]
