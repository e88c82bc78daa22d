"""A lab's own measurements: every row used or rejected with its reason, and used before the literature."""

import logging

import pandas as pd
import pytest

from predictor.loaders.combined import load_conductivity_data
from predictor.prediction.temperature import convert_log10_sigma
from predictor.loaders.user_labels import read_user_labels

ROWS = [
    # formula, sigma_S_cm, log10_sigma, T_C, Ea_eV, reason (None: used)
    ("Li3YCl6", "8e-4", "", "", "", None),
    ("Li3InCl6", "", "-2.7", "60", "0.35", None),
    ("Xx2Cl", "1e-3", "", "", "", "unknown element 'Xx'"),
    ("Y2O3", "1e-9", "", "", "", "no Li or Na"),
    ("Li3ScCl6", "", "", "", "", "no value: give sigma_S_cm or log10_sigma, Ea_eV, or both window limits"),
    ("Li3ErCl6", "0", "", "", "", "sigma_S_cm=0 is not positive"),
    ("Li3HoCl6", "5", "", "", "", "outside 1e-14..1 S/cm"),
    ("Li2ZrCl6", "1e-4", "", "-500", "", "T_C=-500 outside"),
    ("Li3InBr6", "1e-3", "", "80", "", "measured at 80 °C without Ea_eV"),
    ("Li3YBr6", "1e-3", "", "", "7", "Ea_eV=7 outside"),
    ("Li2ZrCl6", "high", "", "", "", "sigma_S_cm='high' is not a number"),
    ("Li3YCl6", "1e-3", "-2.0", "", "", "disagree"),
    ("", "1e-3", "", "", "", "empty"),
]


@pytest.fixture
def lab_csv(tmp_path):
    frame = pd.DataFrame([row[:5] for row in ROWS], columns=["formula", "sigma_S_cm", "log10_sigma", "T_C", "Ea_eV"])
    path = tmp_path / "my_lab.csv"
    frame.assign(lab="my lab").to_csv(path, index=False)
    return path


def test_every_row_is_used_or_rejected_with_its_reason(lab_csv):
    usable, rejected = read_user_labels(lab_csv)
    assert usable["row"].tolist() == [k + 1 for k, row in enumerate(ROWS) if row[5] is None]
    assert rejected["row"].tolist() == [k + 1 for k, row in enumerate(ROWS) if row[5] is not None]
    for (_, r), row in zip(rejected.iterrows(), [row for row in ROWS if row[5] is not None]):
        assert row[5] in r["reason"], (row, r["reason"])
    assert usable.loc[0, "log10_sigma"] == pytest.approx(-3.0969, abs=1e-4)
    assert usable.loc[1, "log10_sigma"] == pytest.approx(convert_log10_sigma(-2.7, 0.35, 25.0, reference_C=60.0))
    assert usable.loc[1, "log10_sigma"] < -2.7  # cooler, slower
    assert set(usable["doi"]) == {"lab my lab"} and set(usable["source"]) == {"user"}


def test_a_table_without_formulas_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "lab.csv"
    path.write_text("composition,sigma_S_cm\nLi3YCl6,1e-3\n")
    with pytest.raises(ValueError, match="lab.csv: no 'formula' column"):
        read_user_labels(path)


def test_the_labs_value_takes_precedence_over_the_literature_and_says_so(lab_csv, caplog):
    caplog.set_level(logging.INFO, logger="predictor")
    data = load_conductivity_data(("curated",), extra_labels=lab_csv)
    mine = data.table[data.table["source"] == "user"]
    assert sorted(mine["reduced_formula"]) == ["Li3InCl6", "Li3YCl6"]
    li3ycl6 = data.table[data.table["reduced_formula"] == "Li3YCl6"]
    assert len(li3ycl6) == 1 and li3ycl6["source"].item() == "user"
    assert li3ycl6["log10_sigma"].item() == pytest.approx(-3.0969, abs=1e-4)
    assert any("Li3YCl6 (row 1" in m and "takes precedence over curated's" in m for m in caplog.messages)
    assert (data.rejected["source"] == "user").sum() == sum(row[5] is not None for row in ROWS)


def test_a_training_run_is_named_by_the_labels_it_added():
    from predictor.training.report import DataSummary, TrainingReport
    from predictor.training.tracking import training_run_name

    def report(user_labels=None, properties=None) -> TrainingReport:
        data = DataSummary(rows=1, rows_per_source={"user": 1}, halide_rows=1, na_rows=0, table_hash="0" * 16,
                           user_labels=user_labels)
        return TrainingReport(date="2026-12-07", config={}, data=data, rejected_rows=0, properties=properties,
                              versions={}, evaluation={})

    assert training_run_name(report("my_lab.csv")) == "predictor train --labels my_lab.csv 2026-12-07"
    assert training_run_name(report()) == "predictor train 2026-12-07"
    assert training_run_name(report("my_lab.csv", ["conductivity"])) == \
        "predictor train --property conductivity --labels my_lab.csv 2026-12-07"


def test_unknown_columns_are_refused_naming_them(tmp_path):
    path = tmp_path / "lab.csv"
    path.write_text("formula,sigma_S_cm,temperature\nLi3YCl6,1e-3,60\n")
    with pytest.raises(ValueError, match="unknown columns temperature.*T_C is the temperature"):
        read_user_labels(path)


def test_na_cells_count_as_not_given():
    usable, rejected = read_user_labels(pd.DataFrame({"formula": ["Li3YCl6"], "sigma_S_cm": ["1e-3"],
                                                      "T_C": ["N/A"], "Ea_eV": ["-"]}))
    assert rejected.empty and usable.loc[0, "T_C"] == 25.0


def test_train_refuses_a_labels_file_without_a_usable_row(tmp_path, capsys):
    from predictor.interfaces.cli import main

    path = tmp_path / "lab.csv"
    path.write_text("formula,sigma_S_cm\nXx2Cl,1e-3\n")
    assert main(["train", "--no-tracking", "--labels", str(path), "-o", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert error == f"predictor train: no usable row in {path}: row 1 (Xx2Cl): unknown element 'Xx'"
    assert not (tmp_path / "out").exists()


def test_activation_energy_and_window_labels_come_through_the_same_door(tmp_path, caplog):
    from predictor.loaders.activation_labels import load_activation_labels
    from predictor.loaders.user_labels import label_properties
    from predictor.loaders.window_labels import load_window_labels

    path = tmp_path / "lab.csv"
    path.write_text("formula,sigma_S_cm,Ea_eV,reduction_limit_V,oxidation_limit_V,lab\n"
                    "Li3YCl6,,0.61,,,us\n"                  # an Ea label only
                    "Li3InCl6,1e-3,,0.5,4.5,us\n"            # conductivity and window
                    "Li3ScCl6,,,0.9,,us\n"                   # half a window
                    "Li2ZrCl6,,,4.0,3.0,us\n")               # limits the wrong way round
    usable, rejected = read_user_labels(path)
    assert usable["row"].tolist() == [1, 2] and label_properties(usable) == ["conductivity", "windows", "activation"]
    assert rejected["reason"].tolist() == [
        "only reduction_limit_V is given: a window label needs both limits",
        "reduction_limit_V=4 is not below oxidation_limit_V=3"]
    windows = load_window_labels(usable)
    mine = windows[windows["source"] == "user"]
    assert mine["formula"].tolist() == ["Li3InCl6"] and mine["group"].tolist() == ["your labels"]
    assert (mine[["reduction_limit_V", "oxidation_limit_V"]].to_numpy() == [[0.5, 4.5]]).all()
    assert not (windows["source"] != "user")[windows["formula"] == "Li3InCl6"].any()  # the lab's replaces
    activation = load_activation_labels(("curated",), extra=usable).table
    li3ycl6 = activation[activation["reduced_formula"] == "Li3YCl6"]
    assert li3ycl6["Ea_eV"].tolist() == [0.61] and li3ycl6["source"].tolist() == ["user"]
    assert activation["composition_key"].is_unique
