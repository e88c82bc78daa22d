"""Fault probe of the command line and the batch API (issue 26): nothing silently wrong.

An output that cannot be written, a grid too large to compute, a run ended by a signal, a cell
with a carriage return, a NUL or an escape sequence: each ends in one line on stderr and exit
status 2 (or the interrupted status), never in a traceback, a partial file or a wrong table.

The predictions come from a stand-in predictor: the real Predictor's batching, argument checks,
formula parser and table, with made-up numbers. The tests check the command line itself and need
no model folder; a few run it in a fresh interpreter (signals, the standard output).
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictor.interfaces import cli
from predictor.artifacts import STAGING_OWNER, machine_tag, staged_replacement
from predictor.interfaces.cli import EXIT_USAGE, build_parser, main
from predictor.composition import parse_formula
from predictor.errors import CompositionError
from predictor.interfaces.formatting import format_columns, format_predictions, to_json
from predictor.predictor import COLUMN_TYPES, COLUMNS, Predictor, unpredicted_row

HERE = Path(__file__).resolve().parent


class StandIn(Predictor):
    """A predictor without models: every formula the parser accepts gets the same made-up numbers."""

    def __init__(self, delay: float = 0.0, batch_size: int | None = None):
        super().__init__(conductivity_model=None, window_model=None)
        self.delay, self.default_batch_size, self.batches = delay, batch_size, 0

    def iter_predict(self, formulas, batch_size=None, progress=False, *, temperature_C=25.0):
        batch_size = batch_size if batch_size is not None else self.default_batch_size or 10_000
        return super().iter_predict(formulas, batch_size, progress, temperature_C=temperature_C)

    def _predict_batch(self, formulas, temperature_C=25.0):
        self.batches += 1
        time.sleep(self.delay)
        rows = []
        for formula in formulas:
            row = unpredicted_row(formula, temperature_C)
            try:
                composition = parse_formula(formula)
            except CompositionError as exc:
                row["error"] = str(exc)
            else:
                row.update(reduced_formula=composition.reduced_formula, carrier="Li", log10_sigma=-3.0,
                           log10_sigma_std=0.5, log10_sigma_lo90=-3.8, log10_sigma_hi90=-2.2, sigma_S_cm=1e-3,
                           reduction_limit_V=0.6, reduction_limit_V_std=0.1, oxidation_limit_V=4.2,
                           oxidation_limit_V_std=0.1, window_reference="Li+/Li", in_domain=True)
            rows.append(row)
        return pd.DataFrame(rows, columns=COLUMNS).astype(COLUMN_TYPES)


@pytest.fixture
def stand_in(monkeypatch) -> StandIn:
    predictor = StandIn()
    monkeypatch.setattr(cli, "_load_predictor", lambda args: predictor)
    return predictor


@pytest.fixture
def no_work(monkeypatch):
    """The command must refuse before it loads models or predicts anything."""
    def refuse(args):
        raise AssertionError("the models were loaded: the refusal came after work had started")

    monkeypatch.setattr(cli, "_load_predictor", refuse)


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


#: ``predictor ARGS`` in a fresh interpreter with the stand-in predictor (2 formulas a batch, ``delay`` s each).
SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from test_fault_cli import StandIn
from predictor.interfaces import cli
cli._load_predictor = lambda args: StandIn(delay={delay}, batch_size=2)
sys.exit(cli.main(sys.argv[1:]))
"""


def start(*args, delay: float = 0.0, **kwargs) -> subprocess.Popen:
    def default_signals():  # as a terminal's shell would start it, whatever the test runner ignores
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)

    code = SCRIPT.format(here=str(HERE), delay=delay)
    return subprocess.Popen([sys.executable, "-c", code, *args], stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_signals, **{"stdout": subprocess.PIPE, **kwargs})


# --- outputs that cannot be written: one line naming the file and the reason, exit 2 ------------

@pytest.fixture
def full_device(tmp_path) -> Path:
    """A device that takes no byte (ENOSPC), as on a full disk: /dev/full, or as root a copy of it
    (an old run as root would replace /dev/full itself by its output)."""
    if os.geteuid() != 0:
        return Path("/dev/full")
    device = tmp_path / "full"
    full = os.stat("/dev/full")
    os.mknod(device, stat.S_IFCHR | 0o666, full.st_rdev)
    return device


def test_full_disk_is_one_line_and_exit_2(full_device, stand_in, capsys):
    assert main(["predict", "Li3YCl6", "Na3YCl6", "-o", str(full_device)]) == EXIT_USAGE
    assert one_line_error(capsys) == f"predictor predict: cannot write {full_device}: No space left on device"
    assert stat.S_ISCHR(os.stat(full_device).st_mode)  # written in place, not replaced by a file


def test_a_write_that_finds_no_room_removes_the_temporary(tmp_path, stand_in, capsys):
    source = tmp_path / "in.csv"
    source.write_text("formula\n" + "Li3YCl6\n" * 200)
    target = tmp_path / "out.csv"
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, limits[1]))  # files above 4 kB fail, as on a full disk
    try:
        code = main(["predict", "-i", str(source), "-o", str(target)])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
    assert code == EXIT_USAGE
    assert one_line_error(capsys) == f"predictor predict: cannot write {target}: File too large"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_full_standard_output_is_one_line_and_exit_2():
    with open("/dev/full", "w") as full:  # the shell's `> /dev/full`
        process = start("predict", "Li3YCl6", "--format", "json", stdout=full)
        _, err = process.communicate(timeout=60)
    assert process.returncode == EXIT_USAGE, err
    assert err.strip() == "predictor predict: cannot write the output: No space left on device"


def test_immutable_output_is_one_line_and_exit_2(tmp_path, stand_in, capsys):
    target = tmp_path / "out.csv"
    target.write_text("previous predictions\n")
    if subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i needs root on a file system with attributes")
    try:
        assert main(["predict", "Li3YCl6", "-o", str(target)]) == EXIT_USAGE
        assert one_line_error(capsys) == f"predictor predict: cannot write {target}: Operation not permitted"
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)
    assert target.read_text() == "previous predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_read_only_folder_is_refused_before_work(tmp_path, no_work, capsys):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root: make it immutable instead
            if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
                pytest.skip("no way to make a folder read-only for this user")
        assert main(["predict", "Li3YCl6", "-o", str(folder / "out.csv")]) == EXIT_USAGE
        assert one_line_error(capsys).endswith(f"folder {folder} is not writable")
    finally:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        folder.chmod(0o755)


def test_too_long_file_name_is_refused_before_work(tmp_path, no_work, capsys):
    target = tmp_path / ("x" * 300 + ".csv")
    for command in (["predict", "Li3YCl6", "-o", str(target)],
                    ["arrhenius", "Li3YCl6", "-o", str(tmp_path / ("x" * 300 + ".png"))],
                    ["screen", "Li2ZrCl6", "--site", "Zr", "--dopant", "Nb", "--x", "0.1", "-o", str(target)]):
        assert main(command) == EXIT_USAGE
        assert one_line_error(capsys).endswith(": File name too long")


def test_long_output_name_within_the_limit_is_written(tmp_path, stand_in, capsys):
    target = tmp_path / ("x" * 246 + ".csv")  # 250 characters: the file system's limit is 255
    assert main(["predict", "Li3YCl6", "-o", str(target)]) == 0
    assert pd.read_csv(target)["formula"].tolist() == ["Li3YCl6"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_long_output_name_in_bytes_is_written(tmp_path, stand_in, capsys):
    target = tmp_path / ("表" * 80 + ".csv")  # 84 characters, 244 bytes: the temporary's name is cut by bytes
    assert main(["predict", "Li3YCl6", "-o", str(target)]) == 0
    assert pd.read_csv(target)["formula"].tolist() == ["Li3YCl6"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    assert cli._temporary_stem(target) == "表" * 33  # 99 bytes: no character cut in two


@pytest.mark.parametrize("command", [
    ["arrhenius", "Li3YCl6", "-o", "{tmp}/plot.xyz"],
    ["screen", "Li2ZrCl6", "--site", "Zr", "--dopant", "Nb", "--x", "0.1", "-o", "{tmp}/s.csv", "--plot",
     "{tmp}/plot.xyz"],
])
def test_unsupported_plot_format_is_refused_before_work(tmp_path, no_work, capsys, command):
    assert main([c.format(tmp=tmp_path) for c in command]) == EXIT_USAGE
    line = one_line_error(capsys)
    assert f"cannot write {tmp_path}/plot.xyz: .xyz is not a plot format; use one of" in line and ".png" in line
    assert list(tmp_path.iterdir()) == []


# --- the batch API: arguments checked at the call, before any work ------------------------------

def test_dataframe_with_two_formula_columns_is_refused():
    frame = pd.DataFrame([["Li3YCl6", "Na3YCl6"]], columns=["formula", "formula"])
    with pytest.raises(ValueError, match="the DataFrame has 2 'formula' columns: keep one"):
        StandIn().predict(frame)


def test_dataframe_with_two_formula_columns_via_the_command_line(tmp_path, stand_in, capsys):
    source = tmp_path / "in.csv"
    source.write_text("formula,formula\nLi3YCl6,Na3YCl6\n")  # pandas reads the second as formula.1
    assert main(["predict", "-i", str(source), "--format", "csv", "--columns", "formula"]) == 0
    assert capsys.readouterr().out.splitlines() == ["formula", "Li3YCl6"]


@pytest.mark.parametrize("batch_size, error", [(1.5, TypeError), ("2", TypeError), (None, TypeError),
                                               (True, TypeError), (0, ValueError), (-3, ValueError)])
@pytest.mark.parametrize("method", ["predict", "iter_predict"])
def test_batch_size_is_checked_before_any_formula_is_read(batch_size, error, method):
    predictor = StandIn()
    formulas = iter(["Li3YCl6", "Na3YCl6"])
    with pytest.raises(error, match="batch_size"):
        getattr(Predictor, method)(predictor, formulas, batch_size=batch_size)  # not the stand-in's default
    assert next(formulas) == "Li3YCl6" and predictor.batches == 0
    assert len(predictor.predict(["Li3YCl6"], batch_size=np.int64(1))) == 1


def test_predict_checks_its_arguments_once(monkeypatch):
    import predictor.predictor as module

    calls = []
    real_batch_size, real_temperature = module.check_batch_size, Predictor.check_temperature
    monkeypatch.setattr(module, "check_batch_size", lambda size: calls.append("batch_size") or real_batch_size(size))
    monkeypatch.setattr(Predictor, "check_temperature",
                        lambda self, t: calls.append("temperature") or real_temperature(self, t))
    assert len(StandIn().predict(["Li3YCl6", "Na3YCl6"])) == 2
    assert sorted(calls) == ["batch_size", "temperature"]


# --- no unbounded work: grids above a stated size refused before any work ----------------------

def test_candidate_limit_counts_amounts_times_dopants_before_they_are_made():
    from predictor.prediction.screening import MAX_CANDIDATES, enumerate_candidates, x_grid

    assert len(x_grid(f"1:{MAX_CANDIDATES}:1")) == MAX_CANDIDATES
    with pytest.raises(ValueError, match=f"^{2 * MAX_CANDIDATES:,} candidates \\(x amounts times dopants\\)"):
        x_grid(f"1:{MAX_CANDIDATES}:1", dopants=2)
    with pytest.raises(ValueError, match="^countless candidates"):
        x_grid("0:1:1e-320")
    with pytest.raises(ValueError, match=f"^{MAX_CANDIDATES + 2:,} candidates"):
        enumerate_candidates("Li2ZrCl6", "Zr", ["Nb", "Ta"], np.zeros(MAX_CANDIDATES // 2 + 1))


def test_screen_grid_above_the_limit_is_refused_before_work(tmp_path, no_work, capsys):
    command = ["screen", "Li2ZrCl6", "--site", "Zr", "--dopant", "Nb", "--no-plot", "-o", str(tmp_path / "s.csv")]
    assert main(command + ["--x", "0:1:1e-7"]) == EXIT_USAGE
    from predictor.prediction.screening import MAX_CANDIDATES

    assert one_line_error(capsys) == (f"predictor screen: 10,000,001 candidates (x amounts times dopants) is more than "
                                      f"the {MAX_CANDIDATES:,} a screen predicts at a time; use a coarser x step or "
                                      "fewer dopants")
    assert main(command + ["--x", "0:1e300:1e-300"]) == EXIT_USAGE
    assert "countless candidates" in one_line_error(capsys)
    assert main(command + ["--x", "0:0.59999:1e-5", "--dopant", "Ta"]) == EXIT_USAGE  # 60,000 amounts, 2 dopants
    assert "120,000 candidates (x amounts times dopants) is more than the 100,000" in one_line_error(capsys)
    help_text = " ".join(build_parser()._subparsers._group_actions[0].choices["screen"].format_help().split())
    assert f"at most {MAX_CANDIDATES:,} candidates" in help_text


def test_arrhenius_points_above_the_limit_are_refused_before_work(tmp_path, no_work, capsys):
    assert main(["arrhenius", "Li3YCl6", "-o", str(tmp_path / "a.png"), "--points", "2000000"]) == EXIT_USAGE
    from predictor.prediction.arrhenius import MAX_POINTS, arrhenius_table, temperature_grid

    assert one_line_error(capsys) == (f"predictor arrhenius: points=2,000,000 is more than the {MAX_POINTS:,} "
                                      "temperatures a curve may have")
    help_text = " ".join(build_parser()._subparsers._group_actions[0].choices["arrhenius"].format_help().split())
    assert f"at most {MAX_POINTS:,}" in help_text
    with pytest.raises(TypeError, match="points must be a whole number"):
        temperature_grid(0, 50, 2.5)
    with pytest.raises(ValueError, match="more than the"):
        arrhenius_table(StandIn(), ["Li3YCl6"], range(MAX_POINTS + 1))
    assert list(tmp_path.iterdir()) == []


# --- runs ended by a signal: as Ctrl-C, and what a killed run leaves is removed ----------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_end_the_run_as_ctrl_c(tmp_path, signum):
    source = tmp_path / "in.csv"
    source.write_text("formula\n" + "Li3YCl6\n" * 400)
    target = tmp_path / "out.csv"
    target.write_text("previous predictions\n")
    process = start("predict", "-i", str(source), "-o", str(target), delay=0.05)  # about 10 s in all
    for _ in range(300):  # until writing has started
        if list(tmp_path.glob(".out.csv.*.part")) or process.poll() is not None:
            break
        time.sleep(0.05)
    time.sleep(0.2)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err and f"stopped by {signal.Signals(signum).name}; {target} was not written" in err
    assert target.read_text() == "previous predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_the_next_run_removes_what_a_killed_run_left(tmp_path, stand_in, caplog):
    source = tmp_path / "in.csv"
    source.write_text("formula\n" + "Li3YCl6\n" * 400)
    target = tmp_path / "out.csv"
    process = start("predict", "-i", str(source), "-o", str(target), delay=0.05)
    for _ in range(300):
        if list(tmp_path.glob(".out.csv.*.part")) or process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()  # SIGKILL: no chance to clean up
    process.communicate(timeout=60)
    left = list(tmp_path.glob(".out.csv.*.part"))
    assert len(left) == 1
    assert main(["predict", "-i", str(source), "-o", str(target)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]
    assert f"removed {left[0]}, the incomplete output of a run that was killed" in caplog.text
    assert len(pd.read_csv(target)) == 400
    # a temporary of a run still going (this machine's, its process alive) is left alone
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        running = left[0].with_name(f".out.csv.{alive.pid}-{machine_tag()}.abcd1234.part")
        running.write_text("formula\n")
        assert main(["predict", "-i", str(source), "-o", str(target)]) == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.csv", "out.csv", running.name])
    finally:
        alive.kill()
        alive.wait()


def test_staging_folders_and_temporaries_name_the_same_machine_tag(tmp_path):
    with staged_replacement(tmp_path / "models") as staging:
        assert json.loads((staging / STAGING_OWNER).read_text()) == {"pid": os.getpid(), "host": machine_tag()}
    assert cli._TEMPORARY.match(f".out.csv.{os.getpid()}-{machine_tag()}.abcd1234.part")


# --- cells that would break the table or the CSV ------------------------------------------------

def test_carriage_return_in_a_cell_reads_back_as_the_same_rows(tmp_path, stand_in, capsys):
    source = tmp_path / "in.csv"
    source.write_bytes(b'formula\n"Li3Y\rCl6"\nNa3YCl6\nLi2ZrCl6\n')  # a quoted cell holding a carriage return
    target = tmp_path / "out.csv"
    assert main(["predict", "-i", str(source), "-o", str(target)]) == 0
    assert "wrote 3 rows" in capsys.readouterr().err
    result = pd.read_csv(target, keep_default_na=False)
    assert result["formula"].tolist() == ["Li3Y\rCl6", "Na3YCl6", "Li2ZrCl6"]
    assert "control character" in result["error"][0] and result["error"][1:].tolist() == ["", ""]
    assert main(["predict", "-i", str(source), "--format", "csv"]) == 0
    streamed = pd.read_csv(io.StringIO(capsys.readouterr().out), keep_default_na=False)
    assert streamed["formula"].tolist() == ["Li3Y\rCl6", "Na3YCl6", "Li2ZrCl6"]


def test_carriage_return_in_a_string_dtype_column_is_quoted_whatever_the_batches():
    table = pd.DataFrame({"formula": pd.array(["Li3YCl6", "Li3Y\rCl6", None], dtype="string"),
                          "log10_sigma": [-3.0, np.nan, -2.5], "in_domain": [True, False, True]})
    for batches in ([table], [table.iloc[:1], table.iloc[1:2], table.iloc[2:]]):
        handle = io.StringIO()
        for i, batch in enumerate(batches):
            cli._write_csv(batch, handle, header=i == 0)
        text = handle.getvalue()
        assert "Li3YCl6,-3.0,True\n" in text and '"Li3Y\rCl6"' in text
        back = pd.read_csv(io.StringIO(text), keep_default_na=False)
        assert back["formula"].tolist() == ["Li3YCl6", "Li3Y\rCl6", ""]
        assert back["in_domain"].tolist() == [True, False, True]
    plain = table.iloc[[0, 2]]  # no carriage return: written as pandas writes it
    handle = io.StringIO()
    cli._write_csv(plain, handle)
    assert handle.getvalue() == plain.to_csv(index=False)


def test_json_escapes_every_character_a_terminal_does_not_print():
    table = pd.DataFrame({"formula": ["Li\x7f\x9b\u00ad\u200b\u2029\U000e0001Cl", "Li+/Li é"]})
    text = to_json(table)
    assert "Li+/Li é" in text  # printable non-ASCII text is written as it is
    assert all(c.isprintable() for c in text.replace("\n", "")), text
    assert "\\udb40\\udc01" in text  # beyond the BMP: a surrogate pair, as JSON requires
    assert [row["formula"] for row in json.loads(text)] == table["formula"].tolist()


def test_nul_in_an_input_cell_keeps_the_whole_cell(tmp_path, stand_in, capsys):
    source = tmp_path / "in.csv"
    source.write_bytes(b"formula\nLi3Y\0Cl6\nNa3YCl6\n")
    assert main(["predict", "-i", str(source), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["formula"] for r in rows] == ["Li3Y\0Cl6", "Na3YCl6"]
    assert "control character" in rows[0]["error"] and rows[1]["error"] is None


def test_escape_sequences_reach_the_terminal_escaped(tmp_path, stand_in, capsys):
    formulas = ["\x1b[31mLi3YCl6", "Li3YCl6\x1b]0;owned\x07", "\u202eLi3YCl6", "Na3YCl6"]
    for options in ([], ["--wide"], ["--columns", "formula,log10_sigma"], ["--format", "json"]):
        main(["predict", *formulas, *options])
        out = capsys.readouterr().out
        assert not {"\x1b", "\x07", "\u202e"} & set(out), (options, out)
        assert "Na3YCl6" in out
        if options[:1] != ["--format"]:
            assert "\\x1b[31mLi3YCl6" in out and "\\u202e" in out
    assert main(["predict", "-i", str(tmp_path / "in\x1b[2J.csv")]) == EXIT_USAGE
    assert one_line_error(capsys) == f"predictor predict: input file {tmp_path}/in\\x1b[2J.csv not found"


def test_the_table_functions_escape_every_column():
    table = StandIn().predict(["\x1b[31mLi3YCl6", "Na3YCl6"])
    table.loc[1, "domain_notes"] = "note\x1b[0m"
    table.loc[1, "in_domain"] = True
    for text in (format_predictions(table, 100), format_columns(table, list(table.columns))):
        assert "\x1b" not in text and "\\x1b[31mLi3YCl6" in text
