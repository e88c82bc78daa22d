import subprocess
import sys

import pandas as pd
import pytest

from predictor.cli import main


def test_predict_prints_predictions_and_per_row_errors(capsys):
    code = main(["predict", "Li3YCl6", "Li2ZrCl6", "Na3YCl6", "Xx2Cl", "garbage"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Li3YCl6" in out and "Na3YCl6" in out and "log10_sigma" in out
    assert "Not predicted:" in out
    assert "'Xx2Cl': unknown element 'Xx'" in out and "'garbage': not a valid chemical formula" in out


def test_nothing_predicted_is_a_failure(capsys):
    assert main(["predict", "garbage", "Xx2Cl"]) == 1


def test_csv_in_csv_out(tmp_path, capsys):
    source = tmp_path / "in.csv"
    pd.DataFrame({"formula": ["Li3YCl6", "bad!", "Li3InCl6"], "note": ["a", "b", "c"]}).to_csv(source, index=False)
    target = tmp_path / "out.csv"
    assert main(["predict", "--input", str(source), "--output", str(target)]) == 0
    result = pd.read_csv(target, keep_default_na=False)
    assert result["formula"].tolist() == ["Li3YCl6", "bad!", "Li3InCl6"]
    assert result["error"].astype(bool).tolist() == [False, True, False]


def test_bad_input_file_is_a_clear_error(tmp_path):
    missing_column = tmp_path / "x.csv"
    pd.DataFrame({"composition": ["LiCl"]}).to_csv(missing_column, index=False)
    with pytest.raises(SystemExit, match="no 'formula' column"):
        main(["predict", "--input", str(missing_column)])
    with pytest.raises(SystemExit, match="not found"):
        main(["predict", "--input", str(tmp_path / "absent.csv")])
    with pytest.raises(SystemExit, match="give formulas"):
        main(["predict"])


def test_json_and_csv_formats(capsys):
    assert main(["predict", "Li3YCl6", "--format", "json"]) == 0
    assert '"log10_sigma"' in capsys.readouterr().out
    assert main(["predict", "Li3YCl6", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("formula,")


def test_missing_models_folder_is_reported(tmp_path, capsys):
    assert main(["predict", "LiCl", "--models", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["predict"], ["train"]])
def test_help_everywhere(command):
    result = subprocess.run([sys.executable, "-m", "predictor", *command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "usage: predictor" in result.stdout
