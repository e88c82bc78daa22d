"""Fault probe of issue 26: training refuses corrupted tables, naming every bad row, and writes nothing.

Each test copies the shipped curated tables into a temporary repository folder, corrupts a
copy the way the probe did, and points the package at it. Nothing is fitted: training must stop
before fitting (a fit would fail the test), so every test takes a second or less.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import predictor.paths
from predictor.errors import PredictorError
from predictor.paths import datasets_dir, models_dir

CONDUCTIVITY = "halide_conductivity.csv"
WINDOWS = "electrochemical_windows.csv"
THERMODYNAMIC = "thermodynamic_windows.csv"


@pytest.fixture
def tables(tmp_path, monkeypatch) -> Path:
    """A private copy of ``datasets/`` that the package reads instead of the shipped one."""
    root = tmp_path / "repository"
    (root / "datasets").mkdir(parents=True)
    for name in (CONDUCTIVITY, WINDOWS, THERMODYNAMIC):
        shutil.copy(datasets_dir() / name, root / "datasets" / name)
    monkeypatch.setenv("PREDICTOR_MODELS_DIR", str(models_dir()))  # read only: the folder training starts from
    monkeypatch.setattr(predictor.paths, "REPO_ROOT", root)
    monkeypatch.setenv("PREDICTOR_DATA_DIR", str(tmp_path / "no third-party data"))
    return root / "datasets"


@pytest.fixture
def no_fitting(monkeypatch):
    """Training that fails the test as soon as it would fit a model on the tables."""
    import predictor.training.pipeline as training

    def fitted(*args, **kwargs):
        raise AssertionError("training went on to fit models on a corrupted table")

    monkeypatch.setattr(training, "_train_into", fitted)


def edit(folder: Path, name: str, change) -> pd.DataFrame:
    """Rewrite the CSV ``name`` of ``folder`` through ``change`` (a function of its text table); the new table."""
    path = folder / name
    comments = "".join(line for line in path.read_text().splitlines(keepends=True) if line.startswith("#"))
    table = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
    table = change(table)
    path.write_text(comments + table.to_csv(index=False))
    return table


def row_of(table: pd.DataFrame, formula: str, **where) -> int:
    """Index of the first row of ``formula`` (and the given column values)."""
    keep = table["formula"] == formula
    for column, value in where.items():
        keep &= table[column] == value
    return int(table.index[keep][0])


def set_cell(formula: str, column: str, value: str, **where):
    def change(table):
        table.loc[row_of(table, formula, **where), column] = value
        return table
    return change


def duplicate_id_with_new_conductivity(table: pd.DataFrame) -> pd.DataFrame:
    """The probe's repeated id: a second report of Li1.34Mg1.33Cl4 (label -5.51) under the same id, at 0.1 S/cm."""
    copy = table.loc[[row_of(table, "Li1.34Mg1.33Cl4")]].assign(sigma_S_cm="0.1")
    return pd.concat([table, copy], ignore_index=True)


def train_on_the_tables(properties=("conductivity", "windows", "activation"), tmp_path=None):
    from predictor.training.pipeline import TrainConfig, train

    config = TrainConfig.quick(sources=("curated",), activation_sources=("curated",), graph_family=False)
    return train(config, tmp_path / "models", progress=False, properties=properties)


# ---------------------------------------------------------------------------------------------
# Each failure of the probe: refused before fitting, the bad row named


@pytest.mark.parametrize("file, change, named", [
    (CONDUCTIVITY, duplicate_id_with_new_conductivity, ["id 'c0409' is used more than once", "Li1.34Mg1.33Cl4"]),
    (CONDUCTIVITY, set_cell("Li3YCl6", "sigma_S_cm", "1e300"), ["c0001 (Li3YCl6)", "sigma_S_cm=1e+300",
                                                                "outside the physical range"]),
    (CONDUCTIVITY, set_cell("Li3YBr6", "T_C", "-500"), ["c0002 (Li3YBr6)", "T_C=-500", "below absolute zero"]),
    (CONDUCTIVITY, set_cell("Li3InCl6", "sigma_S_cm", "0"), ["c0003 (Li3InCl6)", "sigma_S_cm=0",
                                                             "outside the physical range"]),
    (CONDUCTIVITY, set_cell("Li3InCl6", "sigma_S_cm", "inf"), ["c0003 (Li3InCl6)", "sigma_S_cm=inf"]),
    (CONDUCTIVITY, set_cell("Li3YCl6", "formula", ""), ["c0001 ()", "formula is missing"]),
    (CONDUCTIVITY, set_cell("Li3YCl6", "formula", "Li3YCl6)("), ["c0001 (Li3YCl6)(): formula does not parse"]),
], ids=["duplicated-id", "sigma-1e300", "T-minus-500", "sigma-zero", "sigma-infinite", "formula-missing",
        "formula-unparseable"])
def test_training_refuses_a_corrupted_conductivity_table_naming_the_row(tables, no_fitting, tmp_path, file, change,
                                                                        named):
    edit(tables, file, change)
    with pytest.raises(PredictorError) as refused:
        train_on_the_tables(("conductivity",), tmp_path)
    message = str(refused.value)
    assert all(part in message for part in [file, *named]), message
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("file, change, named", [
    (WINDOWS, set_cell("Li3YCl6", "reduction_limit_V", "4.5", method="DFT grand potential"),
     ["(Li3YCl6)", "converted reduction limit 4.5 V is not below the oxidation limit"]),
    (WINDOWS, set_cell("Li3YCl6", "oxidation_limit_V", "70", method="DFT grand potential"),
     ["(Li3YCl6)", "converted oxidation limit 70 V outside 0..7 V"]),
    (THERMODYNAMIC, set_cell("Li3InCl6", "reduction_limit_V", "-500"),
     ["mp-676109 (Li3InCl6)", "reduction_limit_V=-500 outside"]),
    (THERMODYNAMIC, set_cell("Li3InCl6", "oxidation_limit_V", "0.1"),
     ["mp-676109 (Li3InCl6)", "is above oxidation_limit_V=0.1"]),
    (THERMODYNAMIC, set_cell("Li3InCl6", "oxidation_limit_V", ""),
     ["mp-676109 (Li3InCl6)", "oxidation_limit_V=nan is not a finite"]),
    (THERMODYNAMIC, set_cell("Li3InCl6", "formula", "Li3InQq6"), ["mp-676109 (Li3InQq6)", "formula does not parse"]),
], ids=["reduction-above-oxidation", "oxidation-70V", "thermodynamic-minus-500V", "thermodynamic-inverted",
        "thermodynamic-missing-limit", "thermodynamic-bad-formula"])
def test_training_refuses_a_corrupted_window_table_naming_the_row(tables, no_fitting, tmp_path, file, change, named):
    edit(tables, file, change)
    with pytest.raises(PredictorError) as refused:
        train_on_the_tables(("windows",), tmp_path)
    message = str(refused.value)
    assert all(part in message for part in [file, *named]), message
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("value", ["7", "inf", "-0.3"])
def test_training_refuses_an_implausible_activation_energy(tables, no_fitting, tmp_path, value):
    edit(tables, CONDUCTIVITY, set_cell("Li3InCl6", "Ea_eV", value))
    with pytest.raises(PredictorError, match=rf"{CONDUCTIVITY}: row c0003 \(Li3InCl6\): Ea_eV=.* outside 0.05..2 eV"):
        train_on_the_tables(("activation",), tmp_path)
    assert not (tmp_path / "models").exists()


def test_one_error_names_every_bad_row_of_every_table(tables, no_fitting, tmp_path):
    edit(tables, CONDUCTIVITY, lambda t: set_cell("Li3YBr6", "T_C", "-500")(
        set_cell("Li3YCl6", "sigma_S_cm", "1e300")(duplicate_id_with_new_conductivity(t))))
    edit(tables, WINDOWS, set_cell("Li3YCl6", "reduction_limit_V", "4.5", method="DFT grand potential"))
    edit(tables, THERMODYNAMIC, set_cell("Li3InCl6", "reduction_limit_V", "-500"))
    from predictor.errors import TableError

    with pytest.raises(TableError) as refused:
        train_on_the_tables(tmp_path=tmp_path)
    problems = refused.value.problems
    assert len(problems) == 5, problems
    assert [p.split(":")[0] for p in problems] == [CONDUCTIVITY] * 3 + [WINDOWS, THERMODYNAMIC]
    assert str(refused.value).count("\n") == 5  # the heading, then one line per problem


def test_every_unreadable_cell_is_named(tables, no_fitting, tmp_path):
    """Not only the first five: each cell that is not a number, with its column and row id."""
    table = edit(tables, CONDUCTIVITY, lambda t: t.assign(T_C=t["T_C"].where(t.index >= 7, "RT")))
    with pytest.raises(PredictorError) as refused:
        train_on_the_tables(("conductivity",), tmp_path)
    for ident in table["id"][:7]:
        assert f"{CONDUCTIVITY}: column T_C, row {ident}: 'RT' is not a number" in str(refused.value)


def test_the_command_refuses_with_one_message_exit_2_and_writes_nothing(tables, no_fitting, tmp_path, capsys):
    from predictor.interfaces.cli import main

    edit(tables, CONDUCTIVITY, set_cell("Li3InCl6", "sigma_S_cm", "0"))
    edit(tables, WINDOWS, set_cell("Li3YCl6", "oxidation_limit_V", "70", method="DFT grand potential"))
    output = tmp_path / "models"
    assert main(["train", "--quick", "--no-tracking", "--sources", "curated", "-o", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("predictor train: refusing to train"), error
    assert "Traceback" not in error and "math domain error" not in error
    assert f"{CONDUCTIVITY}: row c0003 (Li3InCl6): sigma_S_cm=0" in error
    assert f"{WINDOWS}: row " in error and "converted oxidation limit 70 V" in error
    assert not output.exists() and not list(tmp_path.glob("models*")), "a model or staging folder was written"


# ---------------------------------------------------------------------------------------------
# The loaders refuse with the same rule (one function) outside training too


def test_the_label_loaders_refuse_the_same_rows(tables):
    from predictor.errors import TableError
    from predictor.loaders.activation_labels import load_activation_labels
    from predictor.loaders.curated import room_temperature_conductivity
    from predictor.loaders.window_labels import load_window_labels

    edit(tables, CONDUCTIVITY, set_cell("Li3InCl6", "sigma_S_cm", "0"))
    edit(tables, THERMODYNAMIC, set_cell("Li3InCl6", "reduction_limit_V", "-500"))
    for load in (room_temperature_conductivity, lambda: load_activation_labels(("curated",)), load_window_labels):
        with pytest.raises(TableError, match=r"row (c0003|mp-676109) \(Li3InCl6\)"):
            load()


def test_the_shipped_tables_pass():
    from predictor.training.pipeline import check_training_tables

    check_training_tables()  # raises when a shipped row breaks a rule


# ---------------------------------------------------------------------------------------------
# A lab's labels: every bad row rejected with its reason, never a crash


@pytest.mark.parametrize("row, reason", [
    ({"log10_sigma": "400"}, "log10_sigma=400 outside 1e-14..1 S/cm"),
    ({"log10_sigma": "inf"}, "log10_sigma=inf outside"),
    ({"sigma_S_cm": "1e300"}, "sigma_S_cm=1e+300 outside 1e-14..1 S/cm"),
    ({"sigma_S_cm": "1e-3", "T_C": "-500", "Ea_eV": "0.3"}, "T_C=-500 outside -100..600 °C, below absolute zero"),
    ({"sigma_S_cm": "1e-3", "T_C": "inf", "Ea_eV": "0.3"}, "T_C=inf outside"),
    ({"Ea_eV": "inf"}, "Ea_eV=inf outside"),
    ({"reduction_limit_V": "-1", "oxidation_limit_V": "4"}, "reduction_limit_V=-1 outside 0..7 V"),
], ids=["log10-400", "log10-inf", "sigma-1e300", "T-minus-500", "T-inf", "Ea-inf", "window-negative"])
def test_a_labs_bad_row_is_rejected_with_its_reason(row, reason):
    from predictor.loaders.user_labels import read_user_labels

    usable, rejected = read_user_labels(pd.DataFrame([{"formula": "Li3YCl6", **row}, {"formula": "Li3InCl6",
                                                                                       "sigma_S_cm": "1e-3"}]))
    assert usable["row"].tolist() == [2]
    assert rejected["row"].tolist() == [1] and reason in rejected["reason"].item(), rejected["reason"].item()
