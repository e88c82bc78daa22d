"""Start-up cost of the predictor: what ``Predictor.load()`` imports, and the cold command line.

    python benchmarks/import_time.py [--runs 5] [--label after]

Measures, each in a fresh Python process (so nothing is imported beforehand; the operating
system's file cache and Python's bytecode caches are warm, as on any second use):

1. ``python -X importtime -c "from predictor import Predictor; Predictor.load()"``: the
   modules imported (all, and those of this package), the summed import time of the top-level
   imports (s), the ten slowest top-level imports, and whether the training pipeline,
   evaluation or label loaders were imported (they should not be: predicting needs none of
   them). The wall time of that process, and inside it the time of the import and of
   ``Predictor.load()`` alone (reading the models), medians of ``--runs``.
2. The cold command line ``predictor predict Li3YCl6``: wall time from start to exit, median
   of ``--runs`` (target in issue 12: at most 2 s).
3. The floor: importing only the third-party libraries that predicting needs (NumPy, pandas,
   pymatgen, scikit-learn, LightGBM), median of ``--runs``.

The load average before and after is recorded: on a shared machine, compare runs made under
similar load. ``--before DIR`` measures, alternately with this checkout, the package in DIR
(an earlier commit, e.g. ``git archive 1aa0249 | tar -x -C DIR``), with this checkout's
models, so that both see the same load. Results are printed and stored under ``--label`` (and
``before``) in ``benchmarks/results/import_time.json``; other labels in that file are kept.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "import_time.json"
#: Imports the predictor, then loads the models; prints the seconds of each step.
LOAD_SNIPPET = ("import time; t0 = time.perf_counter(); from predictor import Predictor; t1 = time.perf_counter(); "
                "Predictor.load(); print(t1 - t0, time.perf_counter() - t1)")
#: The third-party libraries that predicting needs at all: their import time is the floor.
FLOOR_SNIPPET = ("import time; t0 = time.perf_counter(); import numpy, pandas, pymatgen.core, sklearn.base, lightgbm; "
                 "print(time.perf_counter() - t0)")
#: Modules that predicting must not need.
NOT_NEEDED = ("predictor.training", "predictor.loaders")
#: One line of ``-X importtime``: "import time:  self [us] | cumulative | imported package".
IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def parse_importtime(stderr: str) -> dict:
    """Summarise ``-X importtime`` output.

    Returns
    -------
    dict
        ``modules`` (count), ``predictor_modules`` (names of this package's modules, sorted),
        ``top_level_s`` (sum of the cumulative times of the top-level imports, s),
        ``slowest_top_level`` (the ten largest, name -> s) and ``not_needed_imported``
        (the modules of :data:`NOT_NEEDED`, or their submodules, that were imported).
    """
    modules, top_level = [], {}
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if not match:
            continue
        cumulative_us, indent, name = int(match.group(2)), match.group(3), match.group(4)
        modules.append(name)
        if len(indent) == 1:  # top-level imports have one space before the name
            top_level[name] = top_level.get(name, 0) + cumulative_us / 1e6
    ours = sorted(m for m in modules if m == "predictor" or m.startswith("predictor."))
    slowest = dict(sorted(top_level.items(), key=lambda item: -item[1])[:10])
    return {
        "modules": len(modules),
        "predictor_modules": ours,
        "top_level_s": round(sum(top_level.values()), 3),
        "slowest_top_level": {k: round(v, 3) for k, v in slowest.items()},
        "not_needed_imported": [m for m in ours if any(m == n or m.startswith(n + ".") for n in NOT_NEEDED)],
    }


def timed(command: list[str], env: dict, cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time (s) of one run of ``command`` in ``cwd`` and its completed process."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**env, "COLUMNS": "120"}, cwd=cwd)
    return time.perf_counter() - start, done


def cli_command() -> list[str]:
    """The installed ``predictor`` script beside this Python, else ``python -m predictor``."""
    script = Path(sys.executable).with_name("predictor")
    if script.is_file():
        return [str(script)]
    found = shutil.which("predictor")
    return [found] if found else [sys.executable, "-m", "predictor"]


def measure_once(env: dict, cwd: Path) -> tuple[float, float, dict, dict]:
    """One fresh-process ``Predictor.load()`` (s), one cold CLI prediction (s), the import summary, the steps (s).

    ``cwd`` is the folder holding the package to measure (``python -c`` imports from there first).
    """
    seconds_load, done = timed([sys.executable, "-X", "importtime", "-c", LOAD_SNIPPET], env, cwd)
    if done.returncode != 0:
        sys.exit(f"loading the predictor failed:\n{done.stderr[-2000:]}")
    import_s, models_s = map(float, done.stdout.split()[-2:])
    seconds_cli, cli = timed([*cli_command(), "predict", "Li3YCl6"], env, cwd)
    if cli.returncode != 0:
        sys.exit(f"`predictor predict Li3YCl6` failed:\n{cli.stderr[-2000:]}")
    floor = subprocess.run([sys.executable, "-c", FLOOR_SNIPPET], capture_output=True, text=True, env=env, cwd=cwd,
                           check=True)
    steps = {"import_s": import_s, "load_models_s": models_s, "third_party_floor_s": float(floor.stdout.split()[-1])}
    return seconds_load, seconds_cli, parse_importtime(done.stderr), steps


def summarise(load_runs: list[float], cli_runs: list[float], summary: dict, steps: list[dict],
              load_average: list[float]) -> dict:
    medians = {f"{key}_median": round(statistics.median(s[key] for s in steps), 3) for key in steps[0]}
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "load_average_1min_before_after": [round(v, 2) for v in load_average],
        "load_median_s": round(statistics.median(load_runs), 3),
        "load_runs_s": [round(s, 3) for s in load_runs],
        "cli_predict_median_s": round(statistics.median(cli_runs), 3),
        "cli_predict_runs_s": [round(s, 3) for s in cli_runs],
        **medians,
        **summary,
    }


def report(label: str, result: dict) -> None:
    runs = len(result["cli_predict_runs_s"])
    print(f"{label}: {result['date']}, load average {result['load_average_1min_before_after'][0]:.2f} -> "
          f"{result['load_average_1min_before_after'][1]:.2f}")
    print(f"  Predictor.load() in a fresh process: {result['load_median_s']:.2f} s median of {runs} "
          f"(imports {result['modules']} modules, {len(result['predictor_modules'])} of predictor; "
          f"top-level import time {result['top_level_s']:.2f} s)")
    print(f"  of which importing the predictor {result['import_s_median']:.2f} s, reading the models "
          f"{result['load_models_s_median']:.2f} s; importing only NumPy, pandas, pymatgen, scikit-learn and "
          f"LightGBM: {result['third_party_floor_s_median']:.2f} s")
    print(f"  not needed yet imported: {', '.join(result['not_needed_imported']) or 'none'}")
    print("  slowest top-level imports: " + ", ".join(f"{k} {v:.2f} s" for k, v in result["slowest_top_level"].items()))
    print(f"  cold `predictor predict Li3YCl6`: {result['cli_predict_median_s']:.2f} s median of {runs} "
          f"({', '.join(f'{s:.2f}' for s in result['cli_predict_runs_s'])})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median reported)")
    parser.add_argument("--label", default="current", help="key of this run in the results file")
    parser.add_argument("--before", type=Path, default=None,
                        help="folder holding an earlier version of the package, measured alternately with this one")
    args = parser.parse_args()

    checkout = Path(__file__).resolve().parents[1]
    trees = {args.label: ({**os.environ}, checkout)}
    if args.before is not None:
        if not (args.before / "predictor" / "__init__.py").is_file():
            sys.exit(f"{args.before} does not hold a predictor package")
        models = os.environ.get("PREDICTOR_MODELS_DIR", str(checkout / "models"))
        before_env = {**os.environ, "PYTHONPATH": str(args.before.resolve()), "PREDICTOR_MODELS_DIR": models}
        trees["before"] = (before_env, args.before.resolve())
    load_average = [os.getloadavg()[0]]
    runs = {label: ([], [], None, []) for label in trees}
    for _ in range(args.runs):
        for label, (env, cwd) in trees.items():
            seconds_load, seconds_cli, summary, steps = measure_once(env, cwd)
            load_runs, cli_runs, _, step_runs = runs[label]
            load_runs.append(seconds_load)
            cli_runs.append(seconds_cli)
            step_runs.append(steps)
            runs[label] = (load_runs, cli_runs, summary, step_runs)  # the module list is the same every run
    load_average.append(os.getloadavg()[0])

    stored = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    for label, (load_runs, cli_runs, summary, step_runs) in runs.items():
        stored[label] = summarise(load_runs, cli_runs, summary, step_runs, load_average)
        report(label, stored[label])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(stored, indent=1) + "\n")
    print(f"written to {RESULTS.relative_to(checkout)}")


if __name__ == "__main__":
    main()
