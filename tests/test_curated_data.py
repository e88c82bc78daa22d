"""Curated halide datasets: schema, validators, label rules and the datasheet (fast, no third-party data)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from predictor.loaders import datasheet
from predictor.composition import composition_groups, parse_formula
from predictor.loaders import curated
from predictor.paths import datasets_dir


@pytest.fixture(scope="module")
def conductivity() -> pd.DataFrame:
    return curated.read_conductivity_table()


@pytest.fixture(scope="module")
def windows() -> pd.DataFrame:
    return curated.read_window_table()


def conductivity_row(**changes) -> dict:
    """A valid conductivity row (Li3YCl6, 0.51 mS/cm at 25 C); keyword arguments override columns."""
    row = {
        "id": "t0001", "formula": "Li3YCl6", "reduced_formula": "Li3YCl6", "carrier": "Li",
        "anion_family": "chloride", "structure": "P-3m1", "structure_type": "trigonal (hcp)",
        "sigma_S_cm": 5.1e-4, "T_C": 25.0, "Ea_eV": np.nan, "synthesis": "ball milling",
        "value_kind": "experimental", "bound": "", "composite": False, "doi": "10.1002/adma.201803075",
        "reference": "", "source": "test", "notes": "", "quote": "0.51 mS/cm at 25 C",
    }
    row.update(changes)
    return row


def window_row(**changes) -> dict:
    """A valid window row (Li3YCl6, computed 0.62-4.21 V vs Li+/Li); keyword arguments override columns."""
    row = {
        "id": "t0001", "formula": "Li3YCl6", "reduced_formula": "Li3YCl6", "carrier": "Li",
        "anion_family": "chloride", "reduction_limit_V": 0.62, "oxidation_limit_V": 4.21, "reference": "Li+/Li",
        "bound": "", "method": "DFT grand potential", "value_kind": "computed", "reported_reduction_V": 0.62,
        "reported_oxidation_V": 4.21, "reported_reference": "Li+/Li", "doi": "10.1002/anie.201901938",
        "citation": "", "source": "test", "notes": "", "quote": "0.62-4.21 V",
    }
    row.update(changes)
    return row


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


# ---------------------------------------------------------------------------------------------
# The shipped files


def test_conductivity_file_passes_validation(conductivity):
    assert curated.validate_conductivity(conductivity) == []


def test_window_file_passes_validation(windows):
    assert curated.validate_windows(windows) == []


def test_at_least_250_halide_conductivity_rows_with_li_and_na(conductivity):
    halide = conductivity[conductivity["anion_family"] != "non-halide"]
    assert len(halide) >= 250
    assert set(halide["carrier"]) == {"Li", "Na"}
    assert (halide["value_kind"] == "experimental").sum() >= 250


def test_at_least_80_window_rows_with_halides_and_reference_electrolytes(windows):
    assert len(windows) >= 80
    assert (windows["anion_family"] != "non-halide").sum() > 0
    assert set(windows["reduced_formula"]) >= {"Li7La3Zr2O12", "Li10Ge(PS6)2", "Li6PS5Cl", "Li3YCl6"}


def test_every_row_is_traceable(conductivity, windows):
    assert ((conductivity["doi"] != "") | (conductivity["reference"] != "")).all()
    assert ((windows["doi"] != "") | (windows["citation"] != "")).all()
    assert (conductivity["quote"] != "").all() and (windows["quote"] != "").all()


def test_computed_values_are_marked(conductivity):
    simulated = conductivity["synthesis"].str.contains("AIMD|MLIP|CHGNet", case=False)
    assert (conductivity.loc[simulated, "value_kind"] == "computed").all()


def test_windows_against_alloy_references_are_not_converted(windows):
    alloy = windows[windows["reported_reference"].isin(["Na9Sn4", "Na2Sn"])]
    assert len(alloy) > 0
    assert alloy["reduction_limit_V"].isna().all() and alloy["oxidation_limit_V"].isna().all()
    assert (alloy["reference"] == "").all()


def test_curated_labels_have_one_row_per_composition(conductivity):
    labels = curated.room_temperature_labels(conductivity)
    assert list(labels.columns) == curated.ROOM_TEMPERATURE_COLUMNS
    groups = composition_groups(parse_formula(f) for f in labels["formula"])
    assert len(set(groups)) == len(labels)
    assert len(labels) >= 150 and set(labels["carrier"]) == {"Li", "Na"}
    assert (labels["source"] == "curated").all()


def test_datasheet_section_of_the_readme_is_up_to_date(conductivity, windows):
    readme = (datasets_dir() / datasheet.README_FILE).read_text(encoding="utf-8")
    generated = datasheet.datasheet_markdown(conductivity, windows)
    assert datasheet.replace_generated_section(readme, generated) == readme, (
        "datasets/README.md is out of date: run python -m predictor.loaders.datasheet")


# ---------------------------------------------------------------------------------------------
# The validators catch broken rows


def test_valid_hand_made_rows_pass():
    assert curated.validate_conductivity(frame(conductivity_row())) == []
    assert curated.validate_windows(frame(window_row())) == []


@pytest.mark.parametrize("changes, expected", [
    ({"formula": "Li3Qq6"}, "formula does not parse"),
    ({"formula": "Li3-xYCl6"}, "formula does not parse"),
    ({"carrier": "Na"}, "carrier 'Na' does not match"),
    ({"reduced_formula": "Li6Y2Cl12"}, "reduced_formula"),
    ({"anion_family": "bromide"}, "anion_family 'bromide' does not match"),
    ({"sigma_S_cm": 5.0}, "outside the physical range"),
    ({"sigma_S_cm": 1e-20}, "outside the physical range"),
    ({"sigma_S_cm": np.nan, "Ea_eV": np.nan}, "neither sigma_S_cm nor Ea_eV"),
    ({"T_C": 900.0}, "T_C=900"),
    ({"Ea_eV": 3.5}, "Ea_eV=3.5"),
    ({"doi": "", "reference": ""}, "neither a DOI nor a reference"),
    ({"doi": "doi.org/abc"}, "is not a DOI"),
    ({"value_kind": "estimated"}, "value_kind 'estimated'"),
    ({"bound": "about"}, "bound 'about'"),
    ({"structure_type": "weird"}, "structure_type 'weird'"),
])
def test_validate_conductivity_reports_each_broken_rule(changes, expected):
    problems = curated.validate_conductivity(frame(conductivity_row(), conductivity_row(id="bad1", **changes)))
    assert any(expected in p and "bad1" in p for p in problems), problems


def test_validate_conductivity_reports_exact_duplicates_and_repeated_ids():
    duplicate = curated.validate_conductivity(frame(conductivity_row(), conductivity_row(id="t0002")))
    assert any("t0002" in p and "duplicates an earlier row" in p for p in duplicate)
    repeated_id = curated.validate_conductivity(frame(conductivity_row(), conductivity_row(sigma_S_cm=1e-3)))
    assert any("id 't0001' is used more than once" in p for p in repeated_id)


def test_anion_family_deviation_needs_a_reason_in_the_notes():
    row = conductivity_row(anion_family="bromide", notes="anion_family override: test reason")
    assert curated.validate_conductivity(frame(row)) == []


def test_validate_conductivity_reports_missing_columns():
    problems = curated.validate_conductivity(frame(conductivity_row()).drop(columns=["quote"]))
    assert problems == ["missing column 'quote'"]


@pytest.mark.parametrize("changes, expected", [
    ({"reduction_limit_V": 4.5, "reported_reduction_V": 4.5}, "is not below the oxidation limit"),
    ({"oxidation_limit_V": 7.5, "reported_oxidation_V": 7.5}, "outside 0..7 V"),
    ({"reduction_limit_V": -0.2, "reported_reduction_V": -0.2}, "outside 0..7 V"),
    ({"reference": ""}, "converted limits need reference 'Li+/Li'"),
    ({"reference": "Na+/Na"}, "converted limits need reference 'Li+/Li'"),
    ({"reduction_limit_V": np.nan, "oxidation_limit_V": np.nan}, "given without converted limits"),
    ({"reported_reduction_V": np.nan, "reported_oxidation_V": np.nan}, "no reported reduction or oxidation"),
    ({"doi": "", "citation": ""}, "neither a DOI nor a citation"),
    ({"formula": "Li3YCl"}, "reduced_formula"),
    ({"formula": "Li3Y(Cl6"}, "formula does not parse"),
    ({"carrier": "Na"}, "carrier 'Na' does not match"),
    ({"method": "guess"}, "method 'guess'"),
    ({"value_kind": "estimated"}, "value_kind 'estimated'"),
])
def test_validate_windows_reports_each_broken_rule(changes, expected):
    problems = curated.validate_windows(frame(window_row(), window_row(id="bad1", **changes)))
    assert any(expected in p and "bad1" in p for p in problems), problems


def test_validate_windows_reports_exact_duplicates():
    problems = curated.validate_windows(frame(window_row(), window_row(id="t0002")))
    assert any("t0002" in p and "duplicates an earlier row" in p for p in problems)


def test_a_corrupted_copy_of_the_file_fails_validation(tmp_path):
    source = datasets_dir() / curated.CONDUCTIVITY_FILE
    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    table.loc[0, "sigma_S_cm"] = "12.5"
    table.loc[1, "carrier"] = "Na"
    table.loc[2, "formula"] = "Li3YCl6x"
    copy = tmp_path / curated.CONDUCTIVITY_FILE
    table.to_csv(copy, index=False)
    problems = curated.validate_conductivity(curated.read_conductivity_table(copy))
    ids = table["id"]
    assert any(ids[0] in p and "physical range" in p for p in problems)
    assert any(ids[1] in p and "carrier" in p for p in problems)
    assert any(ids[2] in p and "does not parse" in p for p in problems)


def test_reading_a_non_numeric_cell_names_the_row(tmp_path):
    source = datasets_dir() / curated.CONDUCTIVITY_FILE
    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    table.loc[3, "T_C"] = "RT"
    copy = tmp_path / curated.CONDUCTIVITY_FILE
    table.to_csv(copy, index=False)
    with pytest.raises(ValueError, match=f"T_C.*{table.loc[3, 'id']}"):
        curated.read_conductivity_table(copy)


# ---------------------------------------------------------------------------------------------
# The room-temperature label rule


def report(formula: str, sigma_S_cm: float, T_C: float = 25.0, **changes) -> dict:
    from predictor.composition import anion_family, mobile_ion, parse_formula

    composition = parse_formula(formula)
    return conductivity_row(formula=formula, reduced_formula=composition.reduced_formula,
                            carrier=mobile_ion(composition), anion_family=anion_family(composition),
                            sigma_S_cm=sigma_S_cm, T_C=T_C, **changes)


def test_two_reports_of_one_composition_give_the_median_and_the_spread():
    labels = curated.room_temperature_labels(frame(
        report("Li3YCl6", 1e-3, 25.0, doi="10.1000/a"),
        report("Li6Y2Cl12", 1e-4, 27.0, doi="10.1000/b"),
    ))
    assert len(labels) == 1
    label = labels.iloc[0]
    assert label["log10_sigma"] == pytest.approx(-3.5)
    assert label["log10_sigma_spread"] == pytest.approx(1.0)
    assert label["n_reports"] == 2
    assert label["T_C"] == pytest.approx(26.0)
    assert label["label_rule"] == curated.LABEL_MEASURED
    assert label["doi"] == "10.1000/a; 10.1000/b"
    assert label["carrier"] == "Li" and label["source"] == "curated"


def test_a_composition_measured_only_at_high_temperature_gets_an_arrhenius_estimate():
    labels = curated.room_temperature_labels(frame(report("Li3InCl6", 1e-2, 100.0, Ea_eV=0.3)))
    boltzmann = 8.617333262e-5
    expected = (-2.0 + math.log10(373.15 / 298.15)
                - 0.3 / (boltzmann * math.log(10)) * (1 / 298.15 - 1 / 373.15))
    assert len(labels) == 1
    assert labels.iloc[0]["log10_sigma"] == pytest.approx(expected)
    assert labels.iloc[0]["label_rule"] == curated.LABEL_ARRHENIUS
    assert labels.iloc[0]["T_C"] == 25.0


def test_high_temperature_value_without_activation_energy_is_not_used():
    assert curated.room_temperature_labels(frame(report("Li6CoCl8", 0.09, 400.0))).empty


def test_bounds_composites_and_computed_values_are_excluded():
    table = frame(
        report("Li3YCl6", 1e-3, id="a", bound="lower"),
        report("Li3ScCl6", 1e-3, id="b", composite=True),
        report("Li3ErCl6", 1e-2, id="c", value_kind="computed"),
    )
    assert curated.room_temperature_labels(table).empty
    with_computed = curated.room_temperature_labels(table, include_computed=True)
    assert list(with_computed["formula"]) == ["Li3ErCl6"]
    assert with_computed.iloc[0]["label_rule"] == curated.LABEL_COMPUTED


def test_a_measurement_wins_over_computed_and_unstated_temperature_values():
    labels = curated.room_temperature_labels(frame(
        report("Li3YCl6", 1e-3, 25.0, id="a"),
        report("Li3YCl6", 1e-2, id="b", value_kind="computed"),
        report("Li3YCl6", 1e-5, np.nan, id="c", quote="0.01 mS/cm"),
        report("Li3YCl6", 1e-1, 300.0, id="d", Ea_eV=0.4),
    ), include_computed=True)
    assert len(labels) == 1
    assert labels.iloc[0]["log10_sigma"] == pytest.approx(-3.0)
    assert labels.iloc[0]["n_reports"] == 1


def test_empty_temperature_with_rt_in_the_quote_counts_as_measured_at_25_c():
    labels = curated.room_temperature_labels(frame(
        report("Li3YCl6", 1e-3, np.nan, quote="0.1 mS/cm at RT")))
    assert labels.iloc[0]["label_rule"] == curated.LABEL_MEASURED
    assert labels.iloc[0]["T_C"] == 25.0
    unstated = curated.room_temperature_labels(frame(report("Li3YCl6", 1e-3, np.nan, quote="1 mS/cm")))
    assert unstated.iloc[0]["label_rule"] == curated.LABEL_UNSTATED


def test_non_halide_reference_electrolytes_are_left_out_by_default():
    table = frame(report("Li7La3Zr2O12", 1e-3), report("Li3YCl6", 1e-3, id="b"))
    assert list(curated.room_temperature_labels(table)["formula"]) == ["Li3YCl6"]
    assert len(curated.room_temperature_labels(table, include_non_halide=True)) == 2


def test_label_columns_and_dtypes():
    labels = curated.room_temperature_labels(frame(report("Li3YCl6", 1e-3)))
    assert list(labels.columns) == curated.ROOM_TEMPERATURE_COLUMNS
    assert labels["n_reports"].dtype.kind == "i"
    assert labels["log10_sigma"].dtype.kind == labels["T_C"].dtype.kind == "f"


# ---------------------------------------------------------------------------------------------
# Window aggregation


def test_windows_group_by_composition_kind_and_method_family():
    table = frame(
        window_row(id="a", reduction_limit_V=0.6, oxidation_limit_V=4.2),
        window_row(id="b", formula="Li6Y2Cl12", reduction_limit_V=0.7, oxidation_limit_V=4.3, doi="10.1000/b"),
        window_row(id="c", method="CV", value_kind="experimental", reduction_limit_V=0.65, oxidation_limit_V=4.25),
        window_row(id="d", method="LSV", value_kind="experimental", reduction_limit_V=np.nan, oxidation_limit_V=4.35),
        window_row(id="e", bound="lower", oxidation_limit_V=5.0),
        window_row(id="f", reference="", reduction_limit_V=np.nan, oxidation_limit_V=np.nan),
    )
    result = curated.room_temperature_windows(table)
    assert list(result.columns) == curated.WINDOW_LABEL_COLUMNS
    computed = result[result["value_kind"] == "computed"].iloc[0]
    assert computed["reduction_limit_V"] == pytest.approx(0.65)
    assert computed["oxidation_limit_V"] == pytest.approx(4.25)
    assert computed["doi"] == "10.1002/anie.201901938; 10.1000/b"
    measured = result[result["value_kind"] == "experimental"].iloc[0]
    assert measured["method"] == "CV/LSV"
    assert measured["reduction_limit_V"] == pytest.approx(0.65)
    assert measured["oxidation_limit_V"] == pytest.approx(4.30)
    assert len(result) == 2
