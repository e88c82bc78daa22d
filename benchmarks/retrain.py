"""How long a retrain takes: ``predictor train`` with its default settings, step by step.

    python benchmarks/retrain.py [--labels my_lab.csv] [--evaluate full] [--refit-all]

Runs the command line exactly as a user would (``predictor train -o <temporary folder>``, MLflow
tracking into a temporary store), timestamps every progress line it prints, and reports the wall
time of the whole run and of each step (the time from one progress line to the next), beside
the target of a full retrain in at most 5 minutes on 2 cores. A model whose inputs have not
changed since the folder training starts from (the shipped models) is copied, not refitted;
``--refit-all`` starts from a copy of the shipped models without their fingerprints, so that
every model is refitted (what a retrain costs when the window labels or the code change). Measure alone on the machine:
another busy process on 2 cores distorts every number. The result is stored in
``benchmarks/results/retrain.json`` (under the evaluation level; other entries are kept).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "retrain.json"
#: A full retrain with the default settings, alone on 2 cores (seconds).
TARGET_S = 300.0


def run(arguments: list[str], refit_all: bool = False) -> tuple[float, list[tuple[float, str]], int]:
    """Run ``predictor train`` with ``arguments``; its wall time, its timestamped progress lines and exit code."""
    from predictor.model_layout import METRICS_FILE
    from predictor.paths import MODELS_DIR_ENV, models_dir

    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{Path(scratch, 'mlflow.db')}"}
        if refit_all:
            start = Path(scratch, "start")
            shutil.copytree(models_dir(), start, symlinks=True)
            report = json.loads((start / METRICS_FILE).read_text())
            report.pop("fingerprints", None)
            (start / METRICS_FILE).write_text(json.dumps(report))
            env[MODELS_DIR_ENV] = str(start)
        command = [shutil.which("predictor") or "predictor", "train", "-o", str(Path(scratch, "models")), *arguments]
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        lines = []
        for line in process.stdout:
            text = line.rstrip()
            if text and "%|" not in text:  # progress lines, not the bars
                lines.append((time.perf_counter() - start, anonymous(text, scratch)))
                print(f"{lines[-1][0]:7.1f} s  {text}", flush=True)
        code = process.wait()
        return time.perf_counter() - start, lines, code


def anonymous(text: str, scratch: str) -> str:
    """A progress line without this machine's paths (the results file is committed)."""
    from predictor.paths import models_dir

    for path, name in ((scratch, "<temporary folder>"), (str(models_dir()), "<shipped models>")):
        text = text.replace(path, name)
    return text


def steps(lines: list[tuple[float, str]], total: float) -> list[dict]:
    """Each progress line with the seconds until the next one (the last: until the end of the run)."""
    ends = [t for t, _ in lines[1:]] + [total]
    return [{"line": text, "seconds": round(end - t, 1)} for (t, text), end in zip(lines, ends)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", help="a lab's CSV, passed on as predictor train --labels")
    parser.add_argument("--evaluate", choices=("cv", "full"), default="cv")
    parser.add_argument("--refit-all", action="store_true", help="refit every model (see the module docstring)")
    args = parser.parse_args()
    arguments = ["--evaluate", args.evaluate] + (["--labels", args.labels] if args.labels else [])
    load_before = os.getloadavg()[0]
    total, lines, code = run(arguments, args.refit_all)
    if code != 0:
        sys.exit(f"predictor train exited with {code}")
    slowest = sorted(steps(lines, total), key=lambda s: -s["seconds"])[:8]
    print(f"\npredictor train {' '.join(arguments)}{' (every model refitted)' if args.refit_all else ''}: {total:.1f} s ({total / 60:.1f} min) on "
          f"{os.cpu_count()} cores; target {TARGET_S:.0f} s: ratio {total / TARGET_S:.2f}")
    print("slowest steps:")
    for step in slowest:
        print(f"  {step['seconds']:7.1f} s  {step['line'][:110]}")
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    key = args.evaluate + (" refit-all" if args.refit_all else "")
    results[key] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "arguments": arguments, "seconds": round(total, 1), "target_seconds": TARGET_S,
        "ratio_to_target": round(total / TARGET_S, 3), "steps": steps(lines, total),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    temporary = RESULTS.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(results, indent=1) + "\n")
    temporary.replace(RESULTS)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
