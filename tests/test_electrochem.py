"""Thermodynamic electrochemical windows (predictor.electrochem)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pymatgen.core import Composition

import predictor.paths
from predictor.electrochem import ThermodynamicWindow, WindowResult, default_energy_table
from predictor.electrochem.checks import is_anion_rich, missing_binaries
from predictor.electrochem.energies import MP_TABLE_PARTS
from predictor.electrochem.generate import generate

MP_MISSING = predictor.paths.data_dir() is None or not predictor.paths.data_dir().joinpath(*MP_TABLE_PARTS).exists()
requires_mp = pytest.mark.skipif(
    MP_MISSING,
    reason="needs the MP table mp/mp-formation-2020.csv in the data directory ($PREDICTOR_DATA_DIR or ../shared/data)",
)


def needs_mp(test):
    """Skip when the MP table is missing; mark as needing the shared data."""
    return pytest.mark.needs_shared_data(requires_mp(test))


#: Computed windows (V vs Li+/Li or Na+/Na): Wang, Mo et al., Angew. Chem. 2019, DOI
#: 10.1002/anie.201901938 (Li3YCl6, Li3InCl6); Liang et al., JACS 2020 (Li3ScCl6); Qie et al.,
#: J. Phys. Chem. Lett. 2020 (Na3YCl6).
PUBLISHED = {
    "Li3YCl6": (0.62, 4.21),
    "Li3InCl6": (2.38, 4.26),
    "Li3ScCl6": (0.91, 4.26),
    "Na3YCl6": (0.51, 3.75),
}
TOLERANCE_V = 0.25


@pytest.fixture(scope="module")
def window() -> ThermodynamicWindow:
    return ThermodynamicWindow()


@needs_mp
@pytest.mark.parametrize("formula", ["Li3YCl6", "Li3InCl6", "Li3ScCl6"])
def test_li_chlorides_match_published_windows(window, formula):
    result = window.compute(formula)
    low, high = PUBLISHED[formula]
    assert result.error == ""
    assert result.reference == "Li+/Li"
    assert result.reduction_limit_V == pytest.approx(low, abs=TOLERANCE_V)
    assert result.oxidation_limit_V == pytest.approx(high, abs=TOLERANCE_V)
    # Chlorides oxidise to the framework chloride + Cl2 and reduce with LiCl formation.
    assert "Cl2" in result.oxidation_products
    assert "LiCl" in result.reduction_products


@needs_mp
def test_bromide_oxidises_below_chloride(window):
    bromide, chloride = window.compute("Li3YBr6"), window.compute("Li3YCl6")
    assert bromide.oxidation_limit_V < chloride.oxidation_limit_V
    assert "Br" in bromide.oxidation_products
    # LiBr comes from the experimental table, shifted to the MP scale (bromides lack an MP correction).
    assert "LiBr [experimental" in bromide.energy_sources and "MP scale" in bromide.energy_sources


@needs_mp
def test_sodium_compound_is_referenced_to_sodium(window):
    result = window.compute("Na3YCl6")
    low, high = PUBLISHED["Na3YCl6"]
    assert result.carrier == "Na"
    assert result.reference == "Na+/Na"
    assert result.reduction_limit_V == pytest.approx(low, abs=TOLERANCE_V)
    assert result.oxidation_limit_V == pytest.approx(high, abs=TOLERANCE_V)
    assert "NaCl" in result.reduction_products


def test_doped_composition_states_the_stabilisation_assumption(window):
    result = window.compute("Li2.5Y0.5Zr0.5Cl6")
    assert result.error == ""
    assert math.isfinite(result.reduction_limit_V) and math.isfinite(result.oxidation_limit_V)
    assert result.reduction_limit_V < result.oxidation_limit_V
    assert "not in the energy tables" in result.assumption
    assert "just stable" in result.assumption
    assert math.isnan(result.e_above_hull_eV_per_atom)


@needs_mp
def test_tabulated_hull_phase_needs_no_assumption(window):
    result = window.compute("Li3InCl6")
    assert result.assumption == "none"
    assert result.e_above_hull_eV_per_atom == pytest.approx(0.0, abs=1e-8)
    assert "Li3InCl6 [mp-676109]" in result.energy_sources
    assert result.energy_sources.startswith("MP-2020 + experimental")


def test_positive_stabilisation_widens_the_window():
    just_stable = ThermodynamicWindow().compute("Li3YCl6")
    stabilised = ThermodynamicWindow(stabilisation_eV_per_atom=0.02).compute("Li3YCl6")
    assert "minus 0.02 eV/atom" in stabilised.assumption
    assert stabilised.reduction_limit_V < just_stable.reduction_limit_V
    assert stabilised.oxidation_limit_V > just_stable.oxidation_limit_V


def test_bad_inputs_give_error_rows_in_a_batch(window):
    formulas = ["Li3YCl6", "garbage", "Xx2Cl", "", None, "Li3InCl6"]
    frame = window.compute_many(formulas)
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == len(formulas)
    assert list(frame["formula"][:4]) == ["Li3YCl6", "garbage", "Xx2Cl", ""]
    bad = frame.iloc[1:5]
    assert (bad["error"] != "").all()
    assert bad["reduction_limit_V"].isna().all() and bad["oxidation_limit_V"].isna().all()
    good = frame.iloc[[0, 5]]
    assert (good["error"] == "").all()
    assert good["reduction_limit_V"].notna().all()


def test_no_mobile_ion_reports_nan_with_reason(window):
    result = window.compute("YCl3")
    assert math.isnan(result.reduction_limit_V) and math.isnan(result.oxidation_limit_V)
    assert "no mobile ion" in result.error
    potassium = window.compute("KCl")
    assert potassium.carrier == "K" and potassium.reference == "K+/K"
    assert potassium.error == ""


def test_phase_diagram_is_cached_per_chemical_system():
    window = ThermodynamicWindow()
    window.compute("Li3YCl6")
    assert window.diagrams.builds == 1
    window.compute("Li2YCl5")  # same Li-Y-Cl system
    window.compute(Composition("Li3YCl6"))
    assert window.diagrams.builds == 1
    window.compute("LiCl")  # Cl-Li is a different system
    assert window.diagrams.builds == 2
    assert ThermodynamicWindow().diagrams.energy_table is window.diagrams.energy_table


def test_batch_of_one_thousand_uses_few_diagrams(window):
    formulas = [f"Li{3 - x:.3f}Y{1 - x:.3f}Zr{x:.3f}Cl6" for x in (0.001 * i for i in range(1, 500))]
    formulas += [f"Li3Y{1 - x:.3f}In{x:.3f}Cl6" for x in (0.001 * i for i in range(1, 502))]
    builds = window.diagrams.builds
    frame = window.compute_many(formulas, progress=False)
    assert len(frame) == 1000 and (frame["error"] == "").all()
    assert window.diagrams.builds - builds <= 2  # one phase diagram per chemical system, not per row


def test_experimental_only_without_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv(predictor.paths.DATA_DIR_ENV, str(tmp_path / "absent"))
    result = ThermodynamicWindow().compute("Li3YCl6")
    assert result.energy_sources.startswith("experimental only")
    assert "mp-" not in result.energy_sources
    assert result.reduction_limit_V == pytest.approx(0.62, abs=TOLERANCE_V)
    assert result.oxidation_limit_V == pytest.approx(4.21, abs=TOLERANCE_V)


@needs_mp
def test_anion_offsets_apply_to_bromide_not_chloride():
    offsets = default_energy_table().anion_offsets
    assert offsets["Br"].applied and offsets["Br"].offset_eV_per_anion < -0.3
    assert not offsets["Cl"].applied


def test_product_checks():
    assert is_anion_rich(Composition("NaCl3"))
    assert is_anion_rich(Composition("LiS4"))
    assert not is_anion_rich(Composition("LiCl"))
    assert not is_anion_rich(Composition("Li2O2"))
    tabulated = [Composition(f) for f in ("Na", "Ta", "Cl2", "NaCl")]
    assert missing_binaries(Composition("NaTaCl6"), "Na", tabulated) == ["Ta-Cl"]


def test_result_row_is_flat():
    row = WindowResult(formula="x", reduction_products=("LiCl", "Y")).as_row()
    assert row["reduction_products"] == "LiCl + Y"
    assert math.isnan(row["oxidation_limit_V"])


@needs_mp
def test_generate_writes_provenance_header(tmp_path):
    output = tmp_path / "windows.csv"
    frame = generate(output, formulas=["Li3InCl6", "Na3YCl6", "Li3YBr6", "KCl"])
    text = output.read_text(encoding="utf-8")
    assert text.startswith("# ")
    assert "sha256" in text
    read = pd.read_csv(output, comment="#", keep_default_na=False)
    assert len(read) == len(frame) == 3  # KCl is not a Li/Na halide
    assert set(read["reference"]) == {"Li+/Li", "Na+/Na"}
    assert {"mp_task_id", "formula", "reduction_limit_V", "oxidation_limit_V", "energy_sources"} <= set(read.columns)
    assert read["mp_task_id"].str.startswith("mp-").all()
