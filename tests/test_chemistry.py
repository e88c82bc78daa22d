"""The shipped models move with composition the way materials do.

- A trace dopant (0.001 formula units on the framework-cation site, charge balanced through
  the carrier) moves log10 sigma by at most 0.05 and each window limit by at most 0.03 V, in
  both model families (the tests draw parents from the 168 training halides; measured over
  all 213 curated halides x 61 dopants, 12,814 pairs: largest 0.046, 0.018 and 0.010 V for the
  gradient-boosted models, 0.010, 0.011 and 0.007 V for the graph network). So does 0.01 on an anion site (0.2-0.5 % of the atoms, and for O,
  S, N 0.01-0.02 more carrier) for every pair of the training halides in every family: a trace
  anion is pinned to the composition without it (:mod:`predictor.estimators.trace_elements`,
  rule 4 of :mod:`predictor.estimators.window_rules` for the limits).
- The windows obey thermodynamics: binary halides of the carrier are stable against the
  metal, the oxidation limit falls F > Cl > Br > I for one framework, and compositions between
  end members have limits between theirs.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymatgen.core import Element

from predictor import Predictor, parse_formula
from predictor.composition import HALOGENS, mobile_ion
from predictor.featurizers import CompositionFeaturizer
from predictor.featurizers.ionic import ionic_picture
from predictor.loaders.curated import read_conductivity_table
from predictor.loaders.curated.conductivity_labels import room_temperature_conductivity

MAX_LOG10_SIGMA_STEP = 0.05
MAX_LIMIT_STEP_V = 0.03
#: Share of the anion-site pairs of OTHER_CURATED_HALIDES whose log10 sigma may move by more than
#: MAX_LOG10_SIGMA_STEP (measured: 1 of 270 with the gradient-boosted model, see the test).
OTHER_HALIDES_SHARE_PAST_SIGMA_BOUND = 0.01
CATION_TRACE = 0.001
ANION_TRACE = 0.01


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


@pytest.fixture(scope="module", params=["gradient-boosted", "graph-network"])
def family_predictor(request):
    """The shipped models of each family (both properties by that family).

    Continuity and the window rules hold for every family (the graph network's attention
    gates are bounded, :data:`predictor.estimators.graph.segments.FRACTION_WEIGHTING`; before, its
    0.001 formula-unit cation dopants moved log10 sigma by more than 0.05 in 11 % of the
    12,814 pairs, up to 2.0). The ``average`` family is the mean of the two.
    """
    return Predictor.load(model_family=request.param)


def _parents(formulas) -> list[str]:
    """The halides among ``formulas`` with a carrier and a framework cation."""
    parents = []
    for formula in sorted(set(formulas)):
        composition = parse_formula(formula)
        carrier = mobile_ion(composition)
        if carrier is None or not any(composition[h] > 0 for h in HALOGENS):
            continue
        if any(ion.role == "framework" for ion in ionic_picture(composition, carrier)):
            parents.append(formula)
    return parents


#: The training halides: the curated room-temperature labels the models are trained on.
PARENTS = _parents(room_temperature_conductivity()["formula"])
#: The other halides of the curated file (composites, bounds, other temperatures): not trained on.
OTHER_CURATED_HALIDES = sorted(set(_parents(read_conductivity_table()["formula"])) - set(PARENTS))
CATION_DOPANTS = [e.symbol for e in Element if e.Z <= 83 and not (e.is_noble_gas or e.is_halogen)
                  and e.symbol not in ("H", "Li", "Na", "O", "S", "Se", "Te", "N", "P", "C", "B", "Si", "As")
                  and any(s > 0 for s in e.common_oxidation_states)]
ANION_DOPANTS = {"F": -1, "Cl": -1, "Br": -1, "I": -1, "O": -2, "S": -2, "N": -3}


def substitute(parent: str, dopant: str, site: str) -> str | None:
    """The parent with a trace of ``dopant`` on the framework-cation or anion ``site``, charge
    balanced through the carrier (None when the carrier would run out)."""
    composition = parse_formula(parent)
    carrier = mobile_ion(composition)
    ions = ionic_picture(composition, carrier)
    amounts = composition.get_el_amt_dict()
    if site == "cation":
        host = max((i for i in ions if i.role == "framework"), key=lambda i: i.amount)
        dopant_state = max(s for s in Element(dopant).common_oxidation_states if s > 0)
        x, extra_carrier = CATION_TRACE, -(dopant_state - host.oxidation_state) * CATION_TRACE
    else:
        host = max((i for i in ions if i.role == "anion"), key=lambda i: i.amount)
        x = ANION_TRACE
        extra_carrier = (host.oxidation_state - ANION_DOPANTS[dopant]) * ANION_TRACE
    if host.symbol == dopant or amounts[carrier] + extra_carrier <= 0 or amounts[host.symbol] <= x:
        return None
    amounts[host.symbol] -= x
    amounts[dopant] = amounts.get(dopant, 0.0) + x
    amounts[carrier] += extra_carrier
    return "".join(f"{el}{amount:.6f}" for el, amount in amounts.items())


def _assert_trace_dopant_barely_moves(predictor, parent, doped, max_sigma_step=MAX_LOG10_SIGMA_STEP,
                                      max_limit_step=MAX_LIMIT_STEP_V):
    table = predictor.predict([parent, doped])
    assert (table["error"] == "").all(), table["error"].tolist()
    a, b = table.iloc[0], table.iloc[1]
    assert abs(b["log10_sigma"] - a["log10_sigma"]) <= max_sigma_step, (parent, doped, a["log10_sigma"],
                                                                      b["log10_sigma"])
    for limit in ("reduction_limit_V", "oxidation_limit_V"):
        assert abs(b[limit] - a[limit]) <= max_limit_step, (parent, doped, limit, a[limit], b[limit])
    features = CompositionFeaturizer(tuple(predictor.conductivity_model.feature_sets)).transform([parent, doped])
    assert np.array_equal(np.isfinite(features[0]), np.isfinite(features[1]))


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parent=st.sampled_from(PARENTS), dopant=st.sampled_from(CATION_DOPANTS))
@pytest.mark.slow
def test_trace_cation_dopant_barely_moves_the_predictions(family_predictor, parent, dopant):
    doped = substitute(parent, dopant, "cation")
    if doped is not None:
        _assert_trace_dopant_barely_moves(family_predictor, parent, doped)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parent=st.sampled_from(PARENTS), dopant=st.sampled_from(sorted(ANION_DOPANTS)))
@pytest.mark.slow
def test_trace_anion_dopant_barely_moves_the_predictions(family_predictor, parent, dopant):
    doped = substitute(parent, dopant, "anion")
    if doped is not None:
        _assert_trace_dopant_barely_moves(family_predictor, parent, doped)


def _anion_site_steps(predictor, parents):
    """Per pair of ``parents`` x anion dopants: the doped formula and |step| of log10 sigma and each limit."""
    pairs = [(p, d) for p in parents for d in sorted(ANION_DOPANTS)]
    doped = [substitute(p, d, "anion") for p, d in pairs]
    parents, doped = zip(*[(p, x) for (p, _), x in zip(pairs, doped) if x is not None])
    a, b = predictor.predict(list(parents)), predictor.predict(list(doped))
    columns = ("log10_sigma", "reduction_limit_V", "oxidation_limit_V")
    return doped, {c: np.abs(b[c].to_numpy() - a[c].to_numpy()) for c in columns}


@pytest.mark.slow
def test_anion_site_dopants_stay_within_the_trace_bounds(family_predictor):
    """Every pair of the grid of training halides: log10 sigma within 0.05, limits within 0.03 V."""
    doped, steps = _anion_site_steps(family_predictor, PARENTS)
    for column, step in steps.items():
        bound = MAX_LOG10_SIGMA_STEP if column == "log10_sigma" else MAX_LIMIT_STEP_V
        assert step.max() <= bound, (column, doped[int(step.argmax())], step.max())


@pytest.mark.slow
def test_anion_site_dopants_of_halides_not_trained_on(family_predictor):
    """The curated halides the models were not trained on: limits within 0.03 V; log10 sigma within
    0.05 but for a pinned share of pairs. Measured with the gradient-boosted model: one pair of 270,
    0.01 O for Cl in the composite Na1.13Zr0.39Cl2.17O0.26 (0.056), where O already holds 11 % of
    the anion sites: the regressor's slope in a composition it has O in, not a trace appearing."""
    doped, steps = _anion_site_steps(family_predictor, OTHER_CURATED_HALIDES)
    for column in ("reduction_limit_V", "oxidation_limit_V"):
        assert steps[column].max() <= MAX_LIMIT_STEP_V, (column, doped[int(steps[column].argmax())])
    past = steps["log10_sigma"] > MAX_LOG10_SIGMA_STEP
    assert past.mean() <= OTHER_HALIDES_SHARE_PAST_SIGMA_BOUND, [d for d, p in zip(doped, past) if p]


@pytest.mark.parametrize("parent, doped", [
    ("Na3YCl6", "Na3Y0.999Bi0.001Cl6"), ("Li3InCl6", "Li2.999In0.999Zr0.001Cl6"), ("Li3YCl6", "Li3YCl5.99Br0.01"),
    ("Li3ErCl6", "Li3Er0.999Bi0.001Cl6"), ("Li3ScCl6", "Li2.998Sc0.999Nb0.001Cl6"),
])
def test_the_trace_dopants_of_the_issue(family_predictor, parent, doped):
    _assert_trace_dopant_barely_moves(family_predictor, parent, doped)


def test_screening_curve_has_no_step_at_its_first_point(family_predictor):
    from predictor.prediction.screening import screen, x_grid

    table = screen(family_predictor, "Li2ZrCl6", "Zr", ["Nb"], x_grid("0:0.5:0.01"))
    series = table[table["error"] == ""].sort_values("x")
    steps = np.abs(np.diff(series["log10_sigma"].to_numpy()))
    # the first step (x = 0 -> 0.01) is no larger than the typical step along the curve
    assert steps[0] <= max(3 * np.median(steps), MAX_LOG10_SIGMA_STEP), steps[:5]
    assert np.abs(np.diff(series["oxidation_limit_V"].to_numpy()))[0] <= MAX_LIMIT_STEP_V * 10


# -- windows ----------------------------------------------------------------------------------

CARRIER_HALIDES = ["LiF", "LiCl", "LiBr", "LiI", "NaF", "NaCl", "NaBr", "NaI", "LiCl0.5Br0.5", "NaCl0.7I0.3"]


def test_binary_halides_of_the_carrier_are_stable_against_the_metal(family_predictor):
    table = family_predictor.predict(CARRIER_HALIDES)
    assert (table["reduction_limit_V"] == 0).all(), table[["formula", "reduction_limit_V"]]
    assert (family_predictor.predict(["Li3YCl6", "Li7La3Zr2O12", "Li3InCl6"])["reduction_limit_V"] >= 0).all()


FRAMEWORKS = ["Li3Y{X}6", "Li3In{X}6", "Li3Sc{X}6", "Li3Er{X}6", "Li2Zr{X}6", "Na3Y{X}6", "Na2Zr{X}6", "Li{X}",
              "Na{X}", "LiNb{X}6", "Li2Fe{X}4", "Li3Y0.5In0.5{X}6", "Li6PS5{X}", "Li3.1Y{X}5.9O0.1"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_oxidation_limit_falls_from_fluoride_to_iodide(family_predictor, framework):
    table = family_predictor.predict([framework.format(X=x) for x in ("F", "Cl", "Br", "I")])
    limits = table["oxidation_limit_V"].to_numpy()
    assert np.all(np.diff(limits) <= 1e-9), dict(zip(table["formula"], limits))


SOLID_SOLUTIONS = [  # composition, its end members
    ("Li2.5Y0.5Zr0.5Cl6", ["Li3YCl6", "Li2ZrCl6"]),
    ("Li1.8Zr0.8Nb0.2Cl6", ["Li2ZrCl6", "LiNbCl6"]),
    ("Li3Y0.5In0.5Cl6", ["Li3YCl6", "Li3InCl6"]),
    ("Na2.25Y0.25Zr0.75Cl6", ["Na3YCl6", "Na2ZrCl6"]),
    ("Na3Y0.5Er0.5Cl6", ["Na3YCl6", "Na3ErCl6"]),
    ("Li3YCl3Br3", ["Li3YCl6", "Li3YBr6"]),
    ("Li3InCl4Br2", ["Li3InCl6", "Li3InBr6"]),
    ("Li2.7In0.7Zr0.3Cl6", ["Li3InCl6", "Li2ZrCl6"]),
    ("Li3Y0.2Er0.2Ho0.2Tm0.2Lu0.2Cl6", ["Li3YCl6", "Li3ErCl6", "Li3HoCl6", "Li3TmCl6", "Li3LuCl6"]),
    ("Li2.5Y0.5Zr0.5Cl3Br3", ["Li3YCl6", "Li2ZrCl6", "Li3YBr6", "Li2ZrBr6"]),
    ("LiCl0.5Br0.5", ["LiCl", "LiBr"]),
]


@pytest.mark.parametrize("mixture, members", SOLID_SOLUTIONS)
def test_mixtures_lie_between_their_end_members(family_predictor, mixture, members):
    table = family_predictor.predict([mixture, *members])
    mix, ends = table.iloc[0], table.iloc[1:]
    assert mix["oxidation_limit_V"] >= ends["oxidation_limit_V"].min() - 1e-9
    assert mix["oxidation_limit_V"] <= ends["oxidation_limit_V"].max() + 1e-9
    assert mix["reduction_limit_V"] <= ends["reduction_limit_V"].max() + 1e-9
    assert mix["reduction_limit_V"] >= ends["reduction_limit_V"].min() - 1e-9


def test_measured_values_are_reported_beside_predictions(predictor):
    table = predictor.predict(["Li3InCl6", "Li6Y2Cl12", "Li3Y0.37In0.63Cl6", "garbage"])
    assert np.isfinite(table.loc[0, "measured_log10_sigma"]) and table.loc[0, "measured_n"] >= 1
    assert table.loc[0, "measured_refs"]
    assert np.isfinite(table.loc[1, "measured_log10_sigma"])  # Li3YCl6, written another way
    assert np.isnan(table.loc[2, "measured_log10_sigma"]) and table.loc[2, "measured_n"] == 0
    assert table.loc[2, "measured_refs"] == "" and table.loc[3, "measured_refs"] == ""
