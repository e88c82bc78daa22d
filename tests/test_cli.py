import json
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from predictor import __version__
from predictor.interfaces.cli import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, main
from predictor.interfaces.formatting import format_predictions
from predictor.formula_hints import suggest_formula
from predictor.paths import REPO_ROOT, data_dir



def flat(text: str) -> str:
    """Text with its line wrapping undone."""
    return " ".join(text.split())


def run(*args, env=None, **kwargs):
    """``predictor ARGS`` in a fresh interpreter, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "predictor", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, **kwargs)


@pytest.fixture(scope="module")
def table():
    from predictor import Predictor

    return Predictor.load().predict(["Li3YCl6", "Na3YCl6", "garbage", "Li2.5Y0.5Zr0.5Cl6", "KCl", "Li3InCl6" * 4])


# --- the default table -------------------------------------------------------------------------

def test_predict_prints_predictions_and_per_row_errors(capsys):
    code = main(["predict", "Li3YCl6", "Li2ZrCl6", "Na3YCl6", "Xx2Cl", "garbage"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Li3YCl6" in out and "Na3YCl6" in out and "sigma" in out
    assert re.search(r"^Xx2Cl\s+not predicted: unknown element 'Xx'", out, re.M)
    assert re.search(r"^garbage\s+not predicted: not a valid chemical formula", out, re.M)


def test_nothing_predicted_is_a_failure_and_prints_no_legend(capsys):
    assert main(["predict", "garbage", "Xx2Cl"]) == 1
    out = capsys.readouterr().out
    assert "not predicted" in out and "calibrated" not in out


@pytest.mark.slow
def test_table_fits_an_80_column_terminal():
    result = run("predict", "Li3YCl6", "Na3YCl6", "garbage", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = {line.split()[0]: line for line in lines if line[:1].strip()}
    li = rows["Li3YCl6"].split()
    # sigma and its 90 % interval in S/cm, both limits ± std, in domain
    assert re.fullmatch(r"\d\.\de-0\d", li[1]) and re.fullmatch(r"\d\.\de-\d\d–\d\.\de-\d\d", li[2])
    assert re.fullmatch(r"\d\.\d\d±\d\.\d\d", li[3]) and re.fullmatch(r"\d\.\d\d±\d\.\d\d", li[4]) and li[5] == "yes"
    assert "not predicted: not a valid chemical formula" in rows["garbage"]
    assert "Li+/Li" in result.stdout  # the legend


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_every_width_is_respected(table, width):
    text = format_predictions(table, width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "Li3YCl6" in text and "not predicted" in text
    # no formula is cut: the 32-character one hides the measured column below 100 columns (and more below 80)
    assert re.search(r"^(Li3InCl6){4}(\s|$)", text, re.M) and re.search(r"^Li2\.5Y0\.5Zr0\.5Cl6(\s|$)", text, re.M)
    assert ("hidden at this width" in text) == (width < 100)


def test_measured_sigma_is_shown_when_known(table):
    without = table.drop(columns=[c for c in table.columns if c.startswith("measured_")])
    assert "measured" not in format_predictions(without, 100)  # a table without the columns
    with_measured = without.assign(measured_log10_sigma=[-3.2] + [np.nan] * (len(without) - 1),
                                   measured_n=[2] + [0] * (len(without) - 1))
    text = format_predictions(with_measured, 100)
    assert "measured" in text
    assert re.search(r"^Li3YCl6\s.*yes\s+6\.3e-04$", text, re.M)  # 10**-3.2 S/cm
    nothing_known = without.assign(measured_log10_sigma=np.nan, measured_n=0)
    assert "measured" not in format_predictions(nothing_known, 100)


def test_wide_shows_every_column_and_columns_chooses(capsys):
    from predictor.predictor import COLUMNS

    assert main(["predict", "Li3YCl6", "--wide"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header == COLUMNS
    assert main(["predict", "Li3YCl6", "garbage", "--columns", "formula,log10_sigma,in_domain"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["formula", "log10_sigma", "in_domain"]
    assert "Not predicted:" in out and "'garbage'" in out
    assert main(["predict", "Li3YCl6", "--columns", "formula,nope"]) == 2
    assert "unknown column(s) nope" in capsys.readouterr().err


def test_json_has_plain_slashes_and_null_for_everything_missing(capsys):
    assert main(["predict", "Li3YCl6", "garbage", "KCl", "--format", "json"]) == 0
    text = capsys.readouterr().out
    assert '"Li+/Li"' in text and "\\/" not in text and "NaN" not in text
    good, bad, no_carrier = json.loads(text)
    assert good["error"] is None and good["domain_notes"] is None and good["window_reference"] == "Li+/Li"
    assert bad["log10_sigma"] is None and bad["carrier"] is None and bad["reduced_formula"] is None
    assert bad["error"].startswith("'garbage'")
    assert no_carrier["reduction_limit_V"] is None and no_carrier["window_reference"] is None
    assert not [v for record in (good, bad, no_carrier) for v in record.values() if v == ""]


def test_csv_format_and_columns(capsys):
    assert main(["predict", "Li3YCl6", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("formula,")
    assert main(["predict", "Li3YCl6", "--format", "csv", "--columns", "formula,sigma_S_cm"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "formula,sigma_S_cm"


def test_version_and_help_describe_the_tool():
    assert run("--version").stdout.strip() == f"predictor {__version__}"
    top = flat(run("--help").stdout)
    assert "ionic conductivity" in top and "electrochemical stability window" in top and "data" in top
    predict = run("predict", "--help").stdout
    for code in ("0 ", "1 ", "2 ", "130", "141"):
        assert f"\n  {code}" in predict


@pytest.mark.parametrize("command", [[], ["predict"], ["train"], ["data"], ["screen"]])
def test_help_everywhere(command):
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "usage: predictor" in result.stdout


# --- hints for hand-typed formulas -------------------------------------------------------------

@pytest.mark.parametrize("text, suggestion", [
    ("li3ycl6", "Li3YCl6"), ("LI3YCL6", "Li3YCl6"), ("NACL", "NaCl"), ("li2.5y0.5zr0.5cl6", "Li2.5Y0.5Zr0.5Cl6"),
    ("Li3YCl6", None), ("garbage", None), ("xx2cl", None), ("", None), ("nb" * 40 + "q", None),
])
def test_suggest_formula(text, suggestion):
    hint = suggest_formula(text)
    if suggestion is None:
        assert hint is None
    else:
        assert hint == f"did you mean {suggestion}? element symbols are case-sensitive"


def test_lowercase_formula_gets_a_suggestion(capsys):
    assert main(["predict", "li3ycl6"]) == 1
    assert "did you mean Li3YCl6? element symbols are case-sensitive" in flat(capsys.readouterr().out)


def test_argument_with_several_formulas_is_an_error_row(tmp_path, capsys):
    assert main(["predict", "Li3YCl6 Li3InCl6", "Na3YCl6", "--format", "json"]) == 0
    several, single = json.loads(capsys.readouterr().out)
    assert "holds 2 formulas (Li3YCl6, Li3InCl6)" in several["error"]
    assert several["log10_sigma"] is None and several["in_domain"] is False and several["carrier"] is None
    assert single["error"] is None and single["log10_sigma"] is not None
    source = tmp_path / "in.csv"
    source.write_text('formula\n"Li3YCl6, Na3YCl6"\nLi3InCl6\n')
    target = tmp_path / "out.csv"
    assert main(["predict", "--input", str(source), "--output", str(target)]) == 0
    result = pd.read_csv(target, keep_default_na=False)
    assert "holds 2 formulas" in result["error"][0] and result["error"][1] == ""


# --- input and output files --------------------------------------------------------------------

def test_csv_in_csv_out(tmp_path, capsys):
    source = tmp_path / "in.csv"
    pd.DataFrame({"formula": ["Li3YCl6", "bad!", "Li3InCl6"], "note": ["a", "b", "c"]}).to_csv(source, index=False)
    target = tmp_path / "out.csv"
    assert main(["predict", "--input", str(source), "--output", str(target)]) == 0
    result = pd.read_csv(target, keep_default_na=False)
    assert result["formula"].tolist() == ["Li3YCl6", "bad!", "Li3InCl6"]
    assert result["error"].astype(bool).tolist() == [False, True, False]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]  # no temporary file left
    assert "wrote 3 rows" in capsys.readouterr().err


def test_blank_lines_stay_rows_with_an_error(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("formula\nLi3YCl6\n\n   \nNa3YCl6\n\t\nLi3InCl6\n")  # 6 data lines
    target = tmp_path / "out.csv"
    assert main(["predict", "--input", str(source), "--output", str(target)]) == 0
    result = pd.read_csv(target, keep_default_na=False)
    assert len(result) == 6
    assert [e.endswith("empty formula") for e in result["error"]] == [False, True, True, False, True, False]


def test_bad_input_file_is_a_clear_error(tmp_path, capsys):
    missing_column = tmp_path / "x.csv"
    pd.DataFrame({"composition": ["LiCl"]}).to_csv(missing_column, index=False)
    assert main(["predict", "--input", str(missing_column)]) == 2
    assert "no 'formula' column" in capsys.readouterr().err
    assert main(["predict", "--input", str(tmp_path / "absent.csv")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["predict"]) == 2
    assert "give formulas" in capsys.readouterr().err


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


def test_output_over_the_input_is_refused(tmp_path, capsys):
    source = tmp_path / "s.csv"
    source.write_text("formula\nLi3YCl6\n")
    (tmp_path / "symlink.csv").symlink_to(source)
    os.link(source, tmp_path / "hardlink.csv")
    for output in ("s.csv", "symlink.csv", "hardlink.csv", "./sub/../s.csv"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        assert main(["predict", "--input", str(source), "--output", str(tmp_path / output)]) == 2
        assert "is the input file" in one_line_error(capsys)
    assert source.read_text() == "formula\nLi3YCl6\n"


def test_unwritable_outputs_are_one_line_and_exit_2(tmp_path, capsys):
    assert main(["predict", "Li3YCl6", "-o", str(tmp_path / "nonexistent" / "x.csv")]) == 2
    assert "does not exist" in one_line_error(capsys)
    assert main(["predict", "Li3YCl6", "-o", str(tmp_path)]) == 2
    assert "is a folder" in one_line_error(capsys)
    result = run("predict", "Li3YCl6", "-o", "/nonexistent/x.csv")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "predictor predict: cannot write /nonexistent/x.csv: folder /nonexistent does not exist"


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch, capsys):
    from predictor.predictor import Predictor

    real = Predictor.iter_predict

    def interrupted(self, formulas, *args, **kwargs):
        yield next(real(self, formulas[:1], *args, **kwargs))
        raise KeyboardInterrupt

    monkeypatch.setattr(Predictor, "iter_predict", interrupted)
    source = tmp_path / "in.csv"
    source.write_text("formula\nLi3YCl6\nNa3YCl6\n")
    target = tmp_path / "out.csv"
    assert main(["predict", "--input", str(source), "--output", str(target)]) == EXIT_INTERRUPTED
    assert "was not written" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    target.write_text("previous predictions\n")
    assert main(["predict", "--input", str(source), "--output", str(target)]) == EXIT_INTERRUPTED
    assert target.read_text() == "previous predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


@pytest.mark.slow
def test_ctrl_c_during_a_real_run_exits_130_without_output(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("formula\n" + "Li3YCl6\n" * 300_000)
    target = tmp_path / "out.csv"
    # a child started from a background job inherits SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: give it the default disposition, as a terminal's Ctrl-C would find
    process = subprocess.Popen([sys.executable, "-m", "predictor", "predict", "-i", str(source), "-o", str(target)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = 120
    while deadline > 0 and not list(tmp_path.glob(".out.csv.*.part")):  # writing has started
        try:
            process.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            deadline -= 0.2
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err and "was not written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize("output_format", ["table", "json", "csv"])
@pytest.mark.slow
def test_closed_pipe_is_not_a_traceback(output_format):
    process = subprocess.Popen([sys.executable, "-m", "predictor", "predict", "Li3YCl6", "Na3YCl6",
                                "--format", output_format], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before anything is written
    err = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert process.returncode == EXIT_BROKEN_PIPE


@pytest.mark.slow
def test_pipe_into_head_as_in_the_issue():
    formulas = " ".join(["Li3YCl6", "Na3YCl6"] * 150)  # more JSON than a pipe buffer holds
    for options in ("", "--format json", "--format csv"):
        result = subprocess.run(f"{sys.executable} -m predictor predict {formulas} {options} | head -1",
                                shell=True, capture_output=True, text=True)
        assert result.returncode == 0 and len(result.stdout.splitlines()) == 1
        assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr


def test_missing_models_folder_is_reported(tmp_path, capsys):
    assert main(["predict", "LiCl", "--models", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err


# --- training data -----------------------------------------------------------------------------

def docs_section(page: str, title: str) -> str:
    text = (REPO_ROOT / "docs" / page).read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_data_lists_every_source_and_how_to_get_it(tmp_path):
    result = run("data", env={"PREDICTOR_DATA_DIR": str(tmp_path), "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"data directory: {tmp_path} (from $PREDICTOR_DATA_DIR)" in flat(out)
    for name in ("obelix", "liiondb", "laskowski", "mp"):
        assert re.search(rf"^{name}: MISSING", out, re.M)
    assert re.search(r"^curated: present", out, re.M)
    assert f"OBELiX('{tmp_path / 'obelix'}')" in flat(out) and "pcwww.liv.ac.uk" in out and "CompRhys/roost" in out
    assert out.count("licence:") == 5 and max(len(line) for line in out.splitlines()) <= 100


@pytest.mark.skipif(data_dir() is None, reason="third-party data directory not found (../shared/data beside the "
                                               "checkout or $PREDICTOR_DATA_DIR): nothing to copy")
def test_getting_the_training_data_as_the_docs_say(tmp_path):
    section = docs_section("data.md", "Getting the training data")
    files = sorted(set(re.findall(r"`((?:obelix|liiondb|laskowski|mp)/[\w.-]+\.csv)`", section)))
    assert files == ["laskowski/doi_lookup_table.csv", "laskowski/laskowski_semi-fromatted.csv",
                     "liiondb/LiIonDatabase.csv", "mp/mp-formation-2020.csv", "obelix/all.csv", "obelix/test.csv"]
    assert "PREDICTOR_DATA_DIR" in section and "predictor data" in section
    for name in files:  # the layout the docs give, filled from the local copy instead of the downloads
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(data_dir() / name, tmp_path / name)
    out = run("data", env={"PREDICTOR_DATA_DIR": str(tmp_path)}).stdout
    for name in ("obelix", "liiondb", "laskowski", "mp", "curated"):
        assert re.search(rf"^{name}: present", out, re.M), out
    assert flat(out).count("(the copy the shipped models were built from)") == 6
    assert re.search(r"labels: \d+ rows used: \d+ conductivities, \d+ activation energies", flat(out)), out


def test_training_names_its_sources_first():
    from predictor.training.pipeline import sources_line

    summary = {"rows": 1180, "rows_per_source": {"obelix": 599, "curated": 203, "liiondb": 378}}
    assert sources_line(summary, ("obelix", "curated", "liiondb")) == \
        "training data: 1180 conductivity labels (obelix 599, curated 203, liiondb 378)"
    summary = {"rows": 203, "rows_per_source": {"curated": 203}}
    assert sources_line(summary, ("obelix", "curated", "liiondb")).startswith(
        "training data: 203 conductivity labels (curated 203; not found: obelix, liiondb (`predictor data`")


def test_the_command_line_shows_progress_as_plain_lines_and_details_with_verbose():
    script = ("import logging, sys\n"
              "from predictor.interfaces.cli import configure_logging\n"
              "configure_logging(verbose=sys.argv[1] == '-v')\n"
              "logging.getLogger('predictor.training.pipeline').info('fitting the final model on all %d labels ...', 970)\n"
              "logging.getLogger('predictor.training.evaluation').debug('grouped CV fold %d/%d', 1, 3)\n"
              "logging.getLogger('predictor.loaders.combined').warning('skipping source %s', 'obelix')\n"
              "logging.getLogger('mlflow').info('Validating input example')\n")
    quiet, verbose = (subprocess.run([sys.executable, "-c", script, flag], capture_output=True, text=True)
                      for flag in ("", "-v"))
    assert quiet.stdout == verbose.stdout == ""
    assert quiet.stderr.splitlines() == ["fitting the final model on all 970 labels ...",
                                         "WARNING predictor.loaders.combined: skipping source obelix"]
    assert verbose.stderr.splitlines() == ["fitting the final model on all 970 labels ...",
                                           "DEBUG predictor.training.evaluation: grouped CV fold 1/3",
                                           "WARNING predictor.loaders.combined: skipping source obelix",
                                           "INFO mlflow: Validating input example"]


@pytest.mark.slow
def test_training_silences_mlflow_noise():
    noise = ("import logging, mlflow\n"
             "class Model(mlflow.pyfunc.PythonModel):  # no type hints: MLflow advises adding them\n"
             "    def predict(self, context, model_input):\n"
             "        return model_input\n"
             "logging.getLogger('mlflow.pyfunc').info('Inferring model signature from input example')\n"
             "from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR as bar\n"
             "print(bar.get())\n")
    # a clean environment: an earlier test's training may have quieted MLflow in this process's environment
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"}
    loud = subprocess.run([sys.executable, "-c", noise], capture_output=True, text=True, env=env)
    assert "Add type hints" in loud.stderr and "Inferring" in loud.stderr and loud.stdout.strip() == "True"
    quiet = "import mlflow\nfrom predictor.training.tracking import quiet_mlflow\nquiet_mlflow()\n" + noise
    result = subprocess.run([sys.executable, "-c", quiet], capture_output=True, text=True, env=env)
    assert result.stdout.strip() == "False"  # no "Downloading artifacts" progress bars
    assert "type hints" not in result.stderr and "Inferring" not in result.stderr, result.stderr
