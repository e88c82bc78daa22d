import numpy as np
import pytest

from conftest import needs_shared_data
from predictor import DataNotFoundError
from predictor.composition import chemical_system, composition_key
from predictor.loaders.combined import load_conductivity_data
from predictor import parse_formula


def test_composition_key_ignores_scaling_and_group_is_chemical_system():
    assert composition_key(parse_formula("Li3YCl6")) == composition_key(parse_formula("Li6Y2Cl12"))
    assert composition_key(parse_formula("Li3YCl6")) != composition_key(parse_formula("Li3YBr6"))
    assert chemical_system(parse_formula("Li2.5Y0.5Zr0.5Cl6")) == "Cl-Li-Y-Zr"


def test_missing_data_directory_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PREDICTOR_DATA_DIR", str(tmp_path / "absent"))
    from predictor.loaders.obelix import load_obelix

    with pytest.raises(DataNotFoundError, match="PREDICTOR_DATA_DIR"):
        load_obelix()
    # the curated data ship with the project, so a combined load still works
    table = load_conductivity_data().table
    assert set(table["source"]) == {"curated"}


@needs_shared_data
def test_obelix_loader_keeps_split_and_marks_censored():
    from predictor.loaders.obelix import OBELIX_CENSORED_SIGMA_S_CM, load_obelix

    table = load_obelix()
    assert len(table) == 599
    assert (table["split"] == "test").sum() == 121
    assert table["censored"].sum() == 37  # 36 "<1E-10" and 1 "<1E-8"
    assert np.allclose(table.loc[table["censored"], "log10_sigma"], np.log10(OBELIX_CENSORED_SIGMA_S_CM))
    assert np.isfinite(table["log10_sigma"]).all()


@needs_shared_data
def test_liiondb_keeps_room_temperature_only():
    from predictor.loaders.liiondb import load_liiondb

    from predictor.loaders import ROOM_TEMPERATURE_RANGE_C

    table = load_liiondb()
    assert ROOM_TEMPERATURE_RANGE_C == (20.0, 30.0)
    assert table["T_C"].between(20, 30).all() and len(table) > 400
    assert not table.duplicated(["formula", "doi"]).any()


@needs_shared_data
def test_combined_table_has_one_row_per_composition_outside_obelix():
    data = load_conductivity_data()
    table = data.table
    assert {"obelix", "liiondb", "curated"} <= set(table["source"])
    others = table[table["source"] != "obelix"]
    assert not others["composition_key"].duplicated().any()
    assert not others["composition_key"].isin(set(table.loc[table["source"] == "obelix", "composition_key"])).any()
    assert table["carrier"].isin(["Li", "Na"]).all()
    assert (table["carrier"] == "Na").sum() > 0
    assert list(data.rejected.columns) == ["source", "formula", "reason"]
