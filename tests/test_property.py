"""Whatever is thrown at Predictor.predict, it returns one row per input and never raises."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predictor import Predictor

ELEMENTS = ["H", "Li", "Na", "K", "Mg", "Ca", "B", "Al", "Ga", "In", "Sc", "Y", "La", "Er", "Zr", "Hf", "Nb", "Ta",
            "Ti", "Fe", "Zn", "Si", "Ge", "P", "N", "O", "S", "Se", "F", "Cl", "Br", "I", "He", "U", "Lr"]


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


def _element_formula(pairs):
    return "".join(f"{element}{amount:g}" for element, amount in pairs)


element_formulas = st.lists(
    st.tuples(st.sampled_from(ELEMENTS), st.floats(min_value=0, max_value=2000, allow_nan=False)), min_size=1, max_size=6
).map(_element_formula)
random_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
formula_like = st.text(alphabet="LiNaYClBrZr0123456789./()- ", max_size=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(element_formulas, random_text, formula_like), min_size=1, max_size=25))
def test_predict_never_raises_and_keeps_rows(predictor, formulas):
    table = predictor.predict(formulas)
    assert len(table) == len(formulas)
    assert table["formula"].tolist() == formulas
    ok = table["error"] == ""
    assert table.loc[ok, "log10_sigma"].notna().all()
    assert table.loc[~ok, "log10_sigma"].isna().all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.none(), st.integers(), st.floats(), st.binary(max_size=5)), min_size=1, max_size=5))
def test_non_string_inputs_are_row_errors(predictor, values):
    table = predictor.predict(values)
    assert len(table) == len(values)
    assert (table["error"] != "").all()
