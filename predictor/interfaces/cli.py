"""Command line: ``predictor predict``, ``screen``, ``arrhenius``, ``data``, ``train`` and ``serve``.

Heavy libraries are imported inside the commands, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import io
import logging
import os
import re
import signal
import socket
import stat
import sys
import tempfile
import threading
from pathlib import Path

from predictor import __version__
from predictor.model_layout import MODEL_FAMILIES

EXIT_OK, EXIT_NOTHING_PREDICTED, EXIT_USAGE = 0, 1, 2
#: Ctrl-C (128 + SIGINT) and a closed output pipe such as ``| head`` (128 + SIGPIPE), as shells report them.
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141
#: Signals that end a run as Ctrl-C does (outputs not written, temporaries removed), exit status 128 + the signal.
ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

EXIT_CODES_HELP = """\
exit codes:
  0    at least one formula was predicted (rows that failed say why)
  1    no formula could be predicted
  2    bad usage: unreadable input, an output that cannot be written (no space left,
       read-only, name too long), unusable models, a grid above its limit
  130  interrupted (Ctrl-C); the output files are not written
  143  terminated (SIGTERM), 129 hung up (SIGHUP): as Ctrl-C
  141  the reader of the output went away (e.g. `| head`)"""

log = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad arguments, input or output: reported as one line, exit code 2."""


class OutputError(UsageError):
    """An output file that cannot be written (no space left, read-only, name too long ...)."""

    def __init__(self, path, error: OSError):
        self.path = path
        super().__init__(f"cannot write {path}: {error.strerror or error}")


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP: the run ends as after Ctrl-C."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def _interrupted_status(exc: KeyboardInterrupt) -> int:
    """128 + the signal, as a shell reports a run ended by it (130 for Ctrl-C)."""
    return 128 + exc.signum if isinstance(exc, Interrupted) else EXIT_INTERRUPTED


MODEL_FAMILY_HELP = ("predict both properties with this model family (average: the mean of the other two; "
                     "default: the folder's families.json, gradient-boosted for the shipped models; see docs/method.md)")

def _read_formulas(args) -> list[str]:
    formulas = list(args.formulas)
    if args.input:
        import pandas as pd

        path = Path(args.input)
        if not path.is_file():
            raise UsageError(f"input file {path} not found")
        try:
            content = path.read_bytes()
            # blank lines stay rows (an "empty formula" error), so that every input line has its output row;
            # pandas' fast reader ends a cell at a NUL byte ("Li3Y\0Cl6" would be read as "Li3Y"): the
            # python reader keeps the whole cell, which the formula parser then refuses
            frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False, skip_blank_lines=False,
                                engine="python" if b"\0" in content else "c")
        except Exception as exc:  # pandas raises several parser errors
            raise UsageError(f"cannot read {path} as CSV: {exc}") from None
        if args.column not in frame.columns:
            raise UsageError(f"{path} has no {args.column!r} column (columns: {', '.join(frame.columns)})")
        formulas += frame[args.column].fillna("").tolist()
    if not formulas:
        raise UsageError("give formulas as arguments or --input FILE.csv")
    return formulas


def _check_output(path: Path, input_path: str | None = None) -> None:
    """Refuse, before any work, an output that cannot be written or would overwrite the input."""
    folder = path.parent
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        info = None
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise OutputError(path, exc) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UsageError(f"cannot write {path}: it is a folder; give a file name, e.g. {path / 'predictions.csv'}")
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: folder {folder} does not exist")
    if input_path and info is not None and os.path.samefile(input_path, path):
        raise UsageError(f"cannot write {path}: it is the input file {input_path}; choose another output file")
    if info is not None and not stat.S_ISREG(info.st_mode):  # a device or a pipe, written in place
        if not os.access(path, os.W_OK):
            raise UsageError(f"cannot write {path}: it is not writable")
        return
    if not os.access(folder, os.W_OK):
        raise UsageError(f"cannot write {path}: folder {folder} is not writable")


#: Bytes of an output's name kept in the name of its temporary (names are limited to 255 bytes).
TEMPORARY_NAME_BYTES = 100
#: ``.<output name>.<pid>-<machine>.<random>.part``: the temporary of an output being written.
_TEMPORARY = re.compile(r"^\.(?P<name>.*)\.(?P<pid>\d{1,9})-(?P<host>[0-9a-f]{8})\.[a-z0-9_]+\.part$")


def _temporary_stem(path: Path) -> str:
    """The start of ``path``'s name that its temporaries carry: cut by bytes, not characters (80 CJK
    characters are 240 bytes), and at a character boundary."""
    return os.fsencode(path.name)[:TEMPORARY_NAME_BYTES].decode(sys.getfilesystemencoding(), errors="ignore")


def _remove_dead_temporaries(path: Path) -> None:
    """Remove the temporaries of ``path`` left by runs on this machine that were killed (their process is gone)."""
    from predictor.artifacts import machine_tag, process_alive

    name = _temporary_stem(path)
    for entry in path.parent.iterdir():
        match = _TEMPORARY.match(entry.name)
        if (match and match["name"] == name and match["host"] == machine_tag() and not entry.is_symlink()
                and entry.is_file() and not process_alive(int(match["pid"]))):
            with contextlib.suppress(OSError):
                entry.unlink()
                log.info("removed %s, the incomplete output of a run that was killed", entry)


class _OutputFile(io.FileIO):
    """The file under an output: a failed write (no space left, quota, I/O error) names the output."""

    def __init__(self, file, output: Path):
        super().__init__(file, "w")
        self.output = output

    def write(self, data):
        """Write ``data``; a failure raises :class:`OutputError` naming the output, not the temporary."""
        try:
            return super().write(data)
        except OSError as exc:
            raise OutputError(self.output, exc) from None


def _handle(raw: _OutputFile, mode: str):
    """``raw`` buffered, and as text for a text ``mode`` (newlines written as given: the CSV writer chooses them)."""
    buffered = io.BufferedWriter(raw)
    return buffered if "b" in mode else io.TextIOWrapper(buffered, newline="")


@contextlib.contextmanager
def _written(handle):
    """Yield ``handle`` and close it; when the block fails, close it without letting a write error hide why."""
    try:
        yield handle
    except BaseException:
        with contextlib.suppress(Exception):
            handle.close()
        raise
    handle.close()


@contextlib.contextmanager
def _atomic_output(path: Path, mode: str = "w"):
    """A file handle to a temporary file beside ``path``, renamed to ``path`` once complete.

    An error or an interrupt removes the temporary file: ``path`` is then either absent or
    the previous file, never a partial one. Temporaries that killed runs left for ``path``
    are removed first. An output that is not a regular file (a device, a pipe) is written in
    place. A file that cannot be written raises :class:`OutputError`.
    """
    try:
        special = path.exists() and not path.is_file()
        if special:
            raw = _OutputFile(str(path), path)
        else:
            from predictor.artifacts import machine_tag

            _remove_dead_temporaries(path)
            descriptor, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=f".{_temporary_stem(path)}.{os.getpid()}-{machine_tag()}.", suffix=".part")
    except OSError as exc:
        raise OutputError(path, exc) from None
    if special:
        with _written(_handle(raw, mode)) as handle:
            yield handle
        return
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; give the usual permissions
        with _written(_handle(_OutputFile(descriptor, path), mode)) as handle:
            yield handle
        try:
            os.replace(temporary, path)
        except OSError as exc:  # e.g. an immutable output file
            raise OutputError(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _write_csv(table, handle, header: bool = True) -> None:
    """``table`` as CSV that reads back as the same rows.

    pandas (the csv module) quotes a cell holding a line feed but not one holding a carriage
    return, at which a reader then ends the row: a row with one has its text cells quoted; every
    other row is written as pandas writes it. The choice is made row by row, so a table streamed
    in batches is written the same whatever the batches.
    """
    import numpy as np
    import pandas as pd

    returns = np.zeros(len(table), dtype=bool)
    for _, column in table.items():  # every column that may hold text: object, string, category ...
        if not pd.api.types.is_numeric_dtype(column):
            returns |= np.array([isinstance(value, str) and "\r" in value for value in column], dtype=bool)
    starts = [0, *(np.flatnonzero(np.diff(returns)) + 1)]  # runs of rows written alike
    for start, end in zip(starts, [*starts[1:], len(table)]):
        table.iloc[start:end].to_csv(handle, header=header and start == 0, index=False,
                                     quoting=csv.QUOTE_NONNUMERIC if returns[start:end].any() else csv.QUOTE_MINIMAL)


def _plot_format(path: Path) -> str:
    """The image format of a plot file from its suffix (png without one); refused, before any work, when
    matplotlib cannot draw it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    chosen = path.suffix.lstrip(".").lower() or "png"
    if chosen not in formats:
        raise UsageError(f"cannot write {path}: .{chosen} is not a plot format; use one of "
                         + ", ".join(f".{f}" for f in sorted(formats)))
    return chosen


def _add_formula_hints(table):
    """Suggest the capitalised formula on errors ("li3ycl6": did you mean Li3YCl6?)."""
    from predictor.formula_hints import suggest_formula

    for index, formula, error in zip(table.index, table["formula"], table["error"]):
        if error and (hint := suggest_formula(formula)):
            table.at[index, "error"] = f"{error}; {hint}"
    return table


def _selected_columns(args, all_columns: list[str]) -> list[str] | None:
    if not args.columns:
        return None
    chosen = [c.strip() for c in args.columns.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in all_columns]
    if unknown or not chosen:
        raise UsageError(f"unknown column(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from: {', '.join(all_columns)}")
    return chosen


def _load_predictor(args):
    """The predictor of ``--models`` and ``--model-family``, anchored to ``--measured`` when given."""
    from predictor.predictor import Predictor

    predictor = Predictor.load(args.models, model_family=args.model_family)
    if getattr(args, "measured", None):
        predictor = predictor.with_measurements(args.measured, args.lab_std)
    return predictor


def cmd_predict(args) -> int:
    formulas = _read_formulas(args)
    output = Path(args.output) if args.output else None
    if output is not None:
        _check_output(output, args.input)
    from predictor.errors import ModelLoadError
    from predictor.predictor import COLUMNS

    columns = _selected_columns(args, COLUMNS)
    try:
        predictor = _load_predictor(args)
        temperature_C = predictor.check_temperature(args.temperature_C)
    except (ModelLoadError, TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    progress = len(formulas) > 1000
    tables = (_add_formula_hints(table) for table in
              predictor.iter_predict(formulas, progress=progress, temperature_C=temperature_C))

    if output is not None:
        any_predicted, rows = False, 0
        try:
            with _atomic_output(output) as handle:
                for i, table in enumerate(tables):
                    _write_csv(table, handle, header=i == 0)
                    any_predicted |= bool((table["error"] == "").any())
                    rows += len(table)
        except KeyboardInterrupt as exc:
            print(f"\npredictor predict: {_interruption(exc)}; {output} was not written", file=sys.stderr)
            return _interrupted_status(exc)
        print(f"wrote {rows} rows to {output}", file=sys.stderr)
        return EXIT_OK if any_predicted else EXIT_NOTHING_PREDICTED

    if args.format == "csv":  # streamed, batch by batch
        any_predicted = False
        for i, table in enumerate(tables):
            _write_csv(table[columns] if columns else table, sys.stdout, header=i == 0)
            any_predicted |= bool((table["error"] == "").any())
        return EXIT_OK if any_predicted else EXIT_NOTHING_PREDICTED

    import pandas as pd

    from predictor.interfaces import formatting

    table = pd.concat(list(tables), ignore_index=True)
    if args.format == "json":
        print(formatting.to_json(table[columns] if columns else table))
    elif columns or args.wide:
        print(formatting.format_columns(table, columns or list(table.columns)))
        failed = table[table["error"] != ""]
        if columns and "error" not in columns and len(failed):
            print("\nNot predicted:\n" + "\n".join(f"  {formatting.printable(e)}" for e in failed["error"]))
    else:
        print(formatting.format_predictions(table))
    return EXIT_OK if (table["error"] == "").any() else EXIT_NOTHING_PREDICTED


def _format_ranking(table, top: int, width: int | None = None) -> str:
    """The ranking of a screen for the terminal: the ``top`` candidates, no line longer than ``width``
    (default: the terminal's) unless a formula is; a narrow terminal hides the columns that matter
    least (the dopant and x, already in the formula; a score that repeats a conductivity column), never
    the formula, log10 sigma with its 90 % interval or the window limits. The CSV has every column."""
    import textwrap

    from predictor.interfaces.formatting import Column, fit_table, hidden_note, printable, terminal_width

    width = width or terminal_width()
    shown = table[table["rank"] > 0].head(top)
    rule = table.attrs["rank_by"]
    constrained = table.attrs["min_oxidation_limit_V"] is not None

    def numbers(column: str) -> list[str]:
        return [f"{v:.2f}" for v in shown[column]]

    def yes_no(column: str) -> list[str]:
        return ["yes" if v else "no" for v in shown[column]]

    columns = [  # in display order; the rank stands left of the formula
        Column("rank", "", [str(r) for r in shown["rank"]]),
        Column("dopant", "", [printable(d) for d in shown["dopant"]], left=True),
        Column("x", "", [f"{x:g}" for x in shown["x"]]),
        Column("log10", "sigma", numbers("log10_sigma"), name="log10 sigma"),
        Column("90 % interval", "", [f"{lo:.2f} to {hi:.2f}" for lo, hi in
                                     zip(shown["log10_sigma_lo90"], shown["log10_sigma_hi90"])]),
        Column("reduction", "(V)", numbers("reduction_limit_V"), name="reduction limit"),
        Column("oxidation", "(V)", numbers("oxidation_limit_V"), name="oxidation limit"),
        Column("score", "", numbers("score")),
        Column("meets", "constraint", yes_no("meets_constraints"), left=True, name="meets constraint"),
        Column("in", "domain", yes_no("in_domain"), left=True, name="in domain"),
    ]
    rank, dopant, x, sigma, interval, reduction, oxidation, score, meets, in_domain = range(len(columns))
    # most important first; lower90 and mean scores repeat the interval's lower bound or log10 sigma
    keep = [sigma, interval, reduction, oxidation]
    keep += [score] if rule == "expected-improvement" else []
    keep += [in_domain, rank] + ([meets] if constrained else []) + [dopant, x]
    keep += [score] if rule != "expected-improvement" else []
    keep += [meets] if not constrained else []
    rows, hidden = fit_table([printable(f) for f in shown["formula"]], columns, keep, essential=4, width=width,
                             before=1)

    def wrap(text: str, indent: str = "") -> list[str]:  # never breaks a formula
        return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent + "  ",
                             break_long_words=False, break_on_hyphens=False)

    temperature = table.attrs.get("temperature_C", 25.0)
    at = f" at {temperature:g} °C" if temperature != 25.0 else ""
    lines = wrap(f"parent {printable(table.attrs['parent'])}: predicted log10_sigma{at} "
                 f"{table.attrs['parent_log10_sigma']:.2f}")
    lines += wrap(f"ranked by {rule} (higher is better)" + (
        f"; constraint: oxidation_limit_V >= {table.attrs['min_oxidation_limit_V']}" if constrained else ""))
    lines += rows + hidden_note(hidden, "the CSV has every column", width)
    bad = table[table["error"] != ""]
    if len(bad):
        lines.append(f"\nNot predicted ({len(bad)}):")
        for row in bad.itertuples():
            lines += wrap(f"{printable(row.dopant)} x={row.x:g}: {printable(row.error)}", indent="  ")
    return "\n".join(lines)


def cmd_screen(args) -> int:
    from predictor.errors import ModelLoadError
    from predictor.prediction.screening import screen, x_grid

    stem = f"screen_{args.parent}_{args.site}".replace("/", "_")
    output = Path(args.output or f"{stem}.csv")
    plot = None if args.no_plot else Path(args.plot or output.with_suffix(".png"))
    for path in (output, plot):
        if path is not None:
            _check_output(path)
    plot_format = _plot_format(plot) if plot is not None else None
    try:
        x = x_grid(args.x, dopants=len(args.dopant))  # the candidate limit, before the models load
        predictor = _load_predictor(args)
        table = screen(predictor, args.parent, args.site, args.dopant, x, compensation=args.compensation,
                       rank_by=args.rank, min_oxidation_limit_V=args.min_oxidation_V, progress=len(x) > 200,
                       temperature_C=args.temperature_C)
    except (TypeError, ValueError, ModelLoadError) as exc:
        raise UsageError(str(exc)) from None
    with _atomic_output(output) as handle:
        _write_csv(table, handle)
    print(_format_ranking(table, args.top))
    print(f"\nwrote {len(table)} candidates to {output}", file=sys.stderr)
    if plot is not None:
        from predictor.interfaces.plots import plot_screening

        with _atomic_output(plot, "wb") as handle:
            plot_screening(table).savefig(handle, format=plot_format, dpi=120, bbox_inches="tight")
        print(f"wrote the plot to {plot}", file=sys.stderr)
    return EXIT_OK if (table["rank"] > 0).any() else EXIT_NOTHING_PREDICTED


def cmd_arrhenius(args) -> int:
    from predictor.prediction.arrhenius import arrhenius_table, plot_arrhenius, temperature_grid
    from predictor.errors import ModelLoadError
    from predictor.interfaces.formatting import printable

    output = Path(args.output)
    _check_output(output)
    plot_format = _plot_format(output)
    table_path = Path(args.csv) if args.csv else None
    if table_path is not None:
        _check_output(table_path)
    try:
        grid = temperature_grid(args.t_min_C, args.t_max_C, args.points)
        predictor = _load_predictor(args)
        for temperature in grid:  # a clear error before any prediction (no activation-energy model)
            predictor.check_temperature(float(temperature))
        table = arrhenius_table(predictor, args.formulas, grid)
    except (TypeError, ValueError, ModelLoadError) as exc:
        raise UsageError(str(exc)) from None
    with _atomic_output(output, "wb") as handle:
        plot_arrhenius(table).savefig(handle, format=plot_format, dpi=120, bbox_inches="tight")
    print(f"wrote the Arrhenius plot to {output}", file=sys.stderr)
    if table_path is not None:
        with _atomic_output(table_path) as handle:
            _write_csv(table, handle)
        print(f"wrote {len(table)} rows to {table_path}", file=sys.stderr)
    failed = table.drop_duplicates("formula")
    failed = failed[failed["error"] != ""]
    for row in failed.itertuples():
        print(f"not predicted: {printable(row.error)}", file=sys.stderr)
    return EXIT_OK if (table["error"] == "").any() else EXIT_NOTHING_PREDICTED


def cmd_data(args) -> int:
    import textwrap

    from predictor.loaders.sources import DATA_SOURCES, describe_data_dir, source_status, validation_summary
    from predictor.interfaces.formatting import terminal_width

    width = terminal_width()
    lines = textwrap.wrap(describe_data_dir(), width=width, subsequent_indent="  ")
    for source in DATA_SOURCES:
        status = source_status(source)
        folder = status["folder"]
        state = "present" if status["present"] else f"MISSING {', '.join(status['missing'])}"
        versions = [f"{name}: {f['rows']} rows, sha256 {f['sha256'][:12]}"
                    + {True: " (the copy the shipped models were built from)",
                       False: " (differs from the copy the shipped models were built from)", None: ""}[f["known"]]
                    for name, f in status["files"].items()]
        fields = [("what", source.title), ("where", f"{folder} ({', '.join(source.files)})"),
                  ("version", "; ".join(versions) or "-"), ("licence", source.licence), ("cite", source.citation),
                  ("get it", source.how_to_get.format(folder=folder)), ("used by", source.used_by)]
        if (summary := validation_summary(source)) is not None:
            fields.append(("labels", summary))
        lines += ["", f"{source.name}: {state}"]
        for label, text in fields:
            lines += textwrap.wrap(text, width=width, initial_indent=f"  {label + ':':<9}", subsequent_indent=" " * 11,
                                   break_on_hyphens=False, break_long_words=False)
    print("\n".join(lines))
    return EXIT_OK


def _predict_log10_sigma(folder: Path, formulas):
    """log10 sigma of ``formulas`` (a Series) by the models in ``folder`` (NaN when it holds none)."""
    import pandas as pd

    from predictor.errors import ModelLoadError
    from predictor.predictor import Predictor

    try:
        table = Predictor.load(folder).predict(formulas.tolist())
    except ModelLoadError:
        return pd.Series(float("nan"), index=formulas.index)
    return pd.Series(table["log10_sigma"].to_numpy(), index=formulas.index)


def _reduced(formula: str) -> str:
    from predictor.composition import parse_formula

    return parse_formula(formula).reduced_formula


def cmd_train(args) -> int:
    from predictor.errors import DataNotFoundError, FewerSourcesError, ModelLoadError, TableError
    from predictor.model_layout import MODEL_CARD_FILE
    from predictor.paths import MODELS_DIR_ENV, models_dir, trained_models_dir
    from predictor.training.pipeline import PROPERTIES, TrainConfig, train

    output = Path(args.output) if args.output else trained_models_dir()
    settings = {"sources": tuple(args.sources), "evaluate": args.evaluate}
    if args.cv_folds is not None:
        settings["cv_folds"] = args.cv_folds
    config = (TrainConfig.quick(**settings) if args.quick else TrainConfig(**settings)).with_seed(args.seed)
    labels = before = None
    properties = tuple(args.properties or PROPERTIES)
    if args.labels:
        from predictor.errors import LabelsError
        from predictor.loaders.user_labels import label_properties, read_user_labels

        try:
            labels, rejected = read_user_labels(args.labels)
        except LabelsError as exc:
            print(f"predictor train: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if labels.empty:
            reasons = "; ".join(f"row {r.row} ({r.formula or 'no formula'}): {r.reason}" for r in rejected.itertuples())
            print(f"predictor train: no usable row in {args.labels}: {reasons or 'the table is empty'}",
                  file=sys.stderr)
            return EXIT_USAGE
        given = label_properties(labels)
        if not set(given) & set(properties):
            print(f"predictor train: {args.labels} holds {' and '.join(given)} labels, none of them retrained: add "
                  + " or ".join(f"--property {p}" for p in given), file=sys.stderr)
            return EXIT_USAGE
        labels = labels[labels["log10_sigma"].notna()]
        before = _predict_log10_sigma(models_dir(), labels["formula"])
    try:
        report = train(config, output, progress=True, allow_fewer_sources=args.allow_fewer_sources,
                       track=not args.no_tracking, extra_labels=args.labels,
                       properties=properties)
    except (DataNotFoundError, FewerSourcesError, TableError, ModelLoadError, FileExistsError,
            FileNotFoundError) as exc:  # ModelLoadError: the starting folder's report cannot be read
        print(f"predictor train: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if labels is not None and len(labels):
        import pandas as pd

        after = _predict_log10_sigma(output, labels["formula"])
        held = report.evaluation.get("your_labels_held_out", {"rows": []})
        by_composition = {_reduced(r["formula"]): r["held_out"] for r in held["rows"]}
        held_out = labels["formula"].map(lambda f: by_composition.get(_reduced(f), float("nan")))
        print(f"your compositions, log10 sigma (S/cm) at 25 °C: measured; predicted before ({models_dir()}), "
              f"after, and without your rows (held out: the fold that left them all out)")
        print(pd.DataFrame({"row": labels["row"], "formula": labels["formula"],
                            "measured": labels["log10_sigma"].round(2), "before": before.round(2),
                            "after": after.round(2), "held out": held_out.round(2)}).to_string(index=False))
        if held["rows"]:
            print(f"held-out error on your {held['n']} compositions (leave-the-lab-out): MAE {held['mae']:.2f} "
                  f"log10 S/cm")
    print(f"models written to {output} (model card: {output / MODEL_CARD_FILE})\n"
          f"to predict with them: predictor predict --models {output} FORMULA ..., "
          f"or set {MODELS_DIR_ENV}={output}")
    if args.quick:
        print("--quick: a smoke test with small models; their predictions are not usable "
              "(predictor train without --quick retrains)")
    if report.mlflow_run_id:
        from predictor.training.tracking import runs_url, ui_command

        print(f"to compare runs: {ui_command()}\n  then open {runs_url()}")
    return EXIT_OK


def _check_listen(host: str, port: int) -> None:
    """Bind ``host:port`` as the server will (every address of ``host``), so that a port in use or an address
    not of this machine is one line before the models load, not a traceback or uvicorn's exit status after."""
    try:
        for family, kind, protocol, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                                     flags=socket.AI_PASSIVE):
            with socket.socket(family, kind, protocol) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's server does
                if family == socket.AF_INET6:
                    probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                probe.bind(address)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def cmd_serve(args) -> int:
    """``predictor serve``: the MLflow model over HTTP; a bad model or address is one line and exit 2."""
    _check_listen(args.host, args.port)
    from mlflow.exceptions import MlflowException

    from predictor.errors import ModelLoadError
    from predictor.interfaces.serving import serve

    model = args.model or args.models or "the shipped models"
    try:
        serve(args.model, host=args.host, port=args.port, models_folder=args.models)
    except ModelLoadError as exc:  # the message names the file at fault
        print(f"predictor serve: {exc}{_serve_hint(args)}", file=sys.stderr)
        return EXIT_USAGE
    except MlflowException as exc:  # a URI naming no model of the tracking store
        print(f"predictor serve: {model}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit:  # uvicorn's exit when it cannot start (the port taken since the check), after logging why
        raise UsageError(f"the server did not start on {args.host}:{args.port} (the reason is logged above)") from None
    return EXIT_OK


def _serve_hint(args) -> str:
    """What to give instead when ``-m`` names a model folder, or ``--models`` an MLflow model."""
    if args.model and (Path(args.model) / "families.json").is_file():
        return f" ({args.model} is a model folder: serve it with --models {args.model})"
    if args.models and (Path(args.models) / "MLmodel").is_file():
        return f" ({args.models} is an MLflow model: serve it with -m {args.models})"
    return ""


def _port(text: str) -> int:
    """A TCP port number for ``--port``: 0 (any free port) to 65535, refused by argparse otherwise."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)")
    return port


def _add_measured_arguments(parser: argparse.ArgumentParser) -> None:
    """``--measured`` and ``--lab-std``: predictions anchored to a lab's measurements (:meth:`Predictor.with_measurements`)."""
    parser.add_argument("--measured", metavar="CSV",
                        help="your measurements (the --labels schema of predictor train): they correct the "
                             "conductivity of nearby compositions without retraining, and measured ones return their "
                             "value")
    parser.add_argument("--lab-std", type=float,
                        help="spread of your repeated measurements, log10 S/cm (default: 0.15)")


def build_parser() -> argparse.ArgumentParser:
    from predictor.prediction.arrhenius import DEFAULT_POINTS, MAX_POINTS
    from predictor.prediction.screening import MAX_CANDIDATES

    parser = argparse.ArgumentParser(
        prog="predictor",
        description="Predict the room-temperature ionic conductivity (S/cm) and the electrochemical stability "
                    "window (V vs Li+/Li or Na+/Na) of solid electrolytes from their composition, each with a "
                    "calibrated uncertainty and a flag when a composition lies outside the models' domain.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="predict conductivity and window of formulas given as arguments or in a CSV file",
                       description="Predict the conductivity (S/cm) and the electrochemical window (V) with "
                                   "calibrated uncertainties, one row per formula, in input order. A formula that "
                                   "cannot be predicted (or an argument that holds several formulas) gets a row "
                                   "with the reason.",
                       epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("formulas", nargs="*", help='formulas, e.g. Li3YCl6 "Li2.5Y0.5Zr0.5Cl6"')
    p.add_argument("-i", "--input", help="CSV file with a formula column (blank lines are rows too)")
    p.add_argument("--column", default="formula", help="name of the formula column of --input (default: formula)")
    p.add_argument("-o", "--output", help="write all columns to this CSV file (not the input file; written "
                                          "under a temporary name and renamed when complete)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output on stdout (default: table)")
    p.add_argument("--wide", action="store_true", help="table of every column, whatever the terminal width (the "
                                                       "default table fits the terminal: it hides the columns that "
                                                       "matter least, never cuts a formula)")
    p.add_argument("--columns", help="comma-separated columns to show (table, csv or json), e.g. "
                                     "formula,log10_sigma,log10_sigma_std")
    p.add_argument("--models", help="model folder (default: the shipped models/)")
    p.add_argument("--model-family", choices=MODEL_FAMILIES, help=MODEL_FAMILY_HELP)
    _add_measured_arguments(p)
    p.add_argument("--temperature-C", type=float, default=25.0,
                   help="temperature (°C) of the conductivity columns (default: 25); away from 25 °C the "
                        "room-temperature prediction is moved with the predicted activation energy")
    p.set_defaults(func=cmd_predict)

    s = sub.add_parser("screen", help="enumerate a doping series of a parent, predict and rank it",
                       description="Replace x formula units of SITE by each DOPANT, compensate the charge, predict "
                                   "conductivity and window, rank by an acquisition rule; write a CSV and a plot.")
    s.add_argument("parent", help="parent formula, e.g. Li2ZrCl6")
    s.add_argument("--site", required=True, help="element of the parent to substitute, e.g. Zr")
    s.add_argument("--dopant", required=True, action="append",
                   help="dopant with optional charge, e.g. Nb or Nb5+ (repeat for several series)")
    s.add_argument("--x", required=True,
                   help="dopant amounts: start:stop:step (stop included) or a list 0.1,0.2; at most "
                        f"{MAX_CANDIDATES:,} candidates (amounts times dopants)")
    s.add_argument("--compensation", default="mobile-ion",
                   help="how charge neutrality is kept: mobile-ion (default; the Li/Na content changes), "
                        "site-vacancy (vacancies on the substituted site) or none (isovalent)")
    s.add_argument("--rank", default="lower90",
                   help="acquisition rule on log10 sigma: lower90 (default; lower bound of the 90 %% interval), "
                        "mean or expected-improvement (over the parent)")
    s.add_argument("--min-oxidation-V", type=float, help="rank candidates below this oxidation limit last")
    s.add_argument("--top", type=int, default=20, help="rows of the ranking to print (default: 20)")
    s.add_argument("-o", "--output", help="CSV file (default: screen_<parent>_<site>.csv)")
    s.add_argument("--plot", help="plot file (default: the CSV name with .png)")
    s.add_argument("--no-plot", action="store_true", help="do not draw the plot")
    s.add_argument("--models", help="model folder (default: the shipped models/)")
    s.add_argument("--model-family", choices=MODEL_FAMILIES, help=MODEL_FAMILY_HELP)
    _add_measured_arguments(s)
    s.add_argument("--temperature-C", type=float, default=25.0,
                   help="temperature (°C) at which conductivity is predicted and ranked (default: 25)")
    s.set_defaults(func=cmd_screen)

    a = sub.add_parser("arrhenius", help="plot predicted conductivity against temperature (log10 sigma vs 1000/T)",
                       description="Predict the conductivity of each formula from --t-min-C to --t-max-C with the "
                                   "predicted activation energy and its propagated 90 %% interval; draw log10 sigma "
                                   "against 1000/T.",
                       epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("formulas", nargs="+", help="formulas, e.g. Li3YCl6 Li2ZrCl6")
    a.add_argument("--csv", help="also write the predictions at every temperature to this CSV file")
    a.add_argument("--t-min-C", type=float, default=-30.0, help="lowest temperature (°C, default: -30)")
    a.add_argument("--t-max-C", type=float, default=100.0, help="highest temperature (°C, default: 100)")
    a.add_argument("--points", type=int, default=DEFAULT_POINTS,
                   help=f"temperatures per curve (default: {DEFAULT_POINTS}, plus 25 °C; at most {MAX_POINTS:,})")
    a.add_argument("-o", "--output", default="arrhenius.png",
                   help="plot file; its suffix gives the format: .png (default: arrhenius.png), .pdf, .svg ...")
    a.add_argument("--models", help="model folder (default: the shipped models/)")
    a.add_argument("--model-family", choices=MODEL_FAMILIES, help=MODEL_FAMILY_HELP)
    _add_measured_arguments(a)
    a.set_defaults(func=cmd_arrhenius)

    d = sub.add_parser("data", help="list the training-data sources: present or not, where, version, licence",
                       description="List each training-data source: whether it is present, where it is looked for "
                                   "(the data directory is $PREDICTOR_DATA_DIR, otherwise ../shared/data beside the "
                                   "checkout), its version (SHA-256), licence and how to obtain it.")
    d.set_defaults(func=cmd_data)

    from predictor.loaders import ALL_SOURCES, SOURCES
    from predictor.training import EVALUATIONS, PROPERTIES

    t = sub.add_parser("train", help="retrain the models and write them with metrics and a model card",
                       description="Fit every model on all labels, score them by the grouped cross-validation of "
                                   "their own calibration folds, and write the model folder with its model card "
                                   "(about 5 minutes on 2 cores; --evaluate full adds the heavy benchmarks).")
    t.add_argument("-o", "--output", help="model folder to write (default: models in the user's data folder, "
                                          "~/.local/share/predictor/models on Linux; the shipped models/ only "
                                          "when named here)")
    t.add_argument("--labels", metavar="CSV",
                   help="your own measurements: columns formula, sigma_S_cm or log10_sigma, T_C (default 25), "
                        "Ea_eV, reduction_limit_V and oxidation_limit_V (any of the three labels), reference, lab, "
                        "notes; each label used before every other source")
    t.add_argument("--sources", nargs="+", default=list(SOURCES), choices=ALL_SOURCES,
                   help=f"conductivity sources, in order of precedence (default: {' '.join(SOURCES)})")
    t.add_argument("--property", dest="properties", action="append", choices=PROPERTIES,
                   help="retrain only this property (repeat for more); the others' models are copied from the "
                        "folder training starts from (-o when it holds models, else the shipped ones)")
    t.add_argument("--cv-folds", type=int, help="folds of the grouped cross-validation (default: 5, 3 with --quick)")
    t.add_argument("--evaluate", choices=EVALUATIONS, default="cv",
                   help="cv (default): the grouped cross-validation that the fits' calibration folds give, no extra "
                        "fit; full: also the OBELiX split, held-out halide papers, the window rules and Ea leaving "
                        "each paper out (about 20 more minutes)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    t.add_argument("--quick", action="store_true",
                   help="smoke test: small models in about 2 minutes, to check the pipeline runs; not a retrain, "
                        "do not predict with them")
    t.add_argument("--no-tracking", action="store_true", help="do not log the run to MLflow")
    t.add_argument("--allow-fewer-sources", action="store_true",
                   help="replace models trained on more conductivity sources than are available now")
    t.set_defaults(func=cmd_train)

    v = sub.add_parser("serve", help="serve the MLflow model over HTTP, every bad request answered with a JSON error",
                       description="Serve the predictor's MLflow model with MLflow's scoring protocol (POST "
                                   "/invocations; GET /ping, /health, /version) in this environment. The model "
                                   "folder is verified before it is loaded (manifest, no code); every bad request "
                                   "gets a JSON {error_code, message} without traceback or server path.")
    served = v.add_mutually_exclusive_group()
    served.add_argument("--models", metavar="DIR",
                        help="model folder whose MLflow model is built (in a temporary folder) and served "
                             "(default: the shipped models)")
    served.add_argument("-m", "--model", help="an MLflow model folder or URI instead, e.g. "
                                              "models:/halide-electrolyte-predictor/1")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    v.add_argument("--port", type=_port, default=5001, help="port, 0 to 65535 (default: 5001)")
    v.set_defaults(func=cmd_serve)
    return parser


class _LogFormatter(logging.Formatter):
    """The package's INFO records (progress of ``predictor train``) as plain lines, any other
    record as ``LEVEL logger: message``."""

    def __init__(self):
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno == logging.INFO and record.name.split(".")[0] == "predictor":
            return record.getMessage()
        return super().format(record)


def configure_logging(verbose: bool = False) -> None:
    """Log to stderr the package's INFO records and every warning; with ``verbose``, also the
    package's DEBUG records and other libraries' INFO records."""
    handler = logging.StreamHandler()
    handler.setFormatter(_LogFormatter())
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    logging.getLogger("predictor").setLevel(logging.DEBUG if verbose else logging.INFO)


#: Errors of a write that found no room (disk full, over quota, file size limit).
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _raise_interrupted(signum, frame):
    """Signal handler of SIGTERM and SIGHUP: raise :class:`Interrupted`, so that the run ends as after Ctrl-C."""
    raise Interrupted(signum)


def _end_on_signals() -> dict:
    """Make SIGTERM and SIGHUP end the run as Ctrl-C does (temporary outputs removed); returns the
    handlers they replace. A signal ignored on purpose (``nohup``) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, _raise_interrupted) for signum in ENDING_SIGNALS
            if signal.getsignal(signum) is signal.SIG_DFL}


def _interruption(exc: KeyboardInterrupt) -> str:
    """How the run ended, for its last line: "stopped by SIGTERM" (or SIGHUP) or "interrupted" (Ctrl-C)."""
    return f"stopped by {exc}" if isinstance(exc, Interrupted) else "interrupted"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    import warnings

    warnings.filterwarnings("ignore", module="pymatgen")
    from predictor.interfaces.formatting import printable

    replaced = _end_on_signals()
    try:
        code = args.func(args)
        sys.stdout.flush()  # a full disk under the standard output is reported here, not at exit
        return code
    except UsageError as exc:
        message = "\n".join(printable(line) for line in str(exc).split("\n"))
        print(f"predictor {args.command}: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        print(f"\npredictor: {_interruption(exc)}", file=sys.stderr)
        return _interrupted_status(exc)
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        if exc.errno not in _NO_ROOM:
            raise
        _discard_stdout()
        print(f"predictor {args.command}: cannot write {exc.filename or 'the output'}: {exc.strerror}",
              file=sys.stderr)
        return EXIT_USAGE
    finally:
        for signum, handler in replaced.items():
            signal.signal(signum, handler)


def _discard_stdout() -> None:
    """Point stdout at /dev/null after its reader went away (``| head``), so that Python's
    final flush does not fail a second time with a traceback."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
