"""Speed and memory of featurisation and prediction, against matminer measured in the same run.

    python benchmarks/speed.py [--n 100000] [--reference-n 2000] [--batch-size 10000] [--model-family NAME]

Measures, on generated doped-halide candidates (Li/Na, Cl/Br/I, M3+ partly replaced by M4+),
(the end-to-end run, 2., goes first, so that its memory peak is its own):

1. Magpie featurisation (compositions/s): this project's vectorised ``MagpieFeaturizer``
   against matminer's ``ElementProperty.from_preset("magpie").featurize_many`` on the same
   ``--reference-n`` compositions, with the largest absolute difference of any feature; then
   ours alone on all ``--n``.
2. End-to-end batch prediction through ``Predictor.iter_predict`` (parse, featurise, conductivity
   and both window limits with uncertainty, domain check, CSV written batch by batch) of ``--n``
   formulas: compositions/s, and peak resident memory after 20 % and after 100 % of the formulas
   (bounded memory: the second is not 5x the first). The reference is the same work with
   matminer's Magpie: its featurisation time alone, extrapolated from part 1.
3. Warm single-formula latency of ``Predictor.predict`` (median of 50 calls).
4. Cold start of the command line (``predictor --help``, ``predictor predict Li3YCl6``),
   median of 3 runs.

Targets (issue 6): featurisation >= 100x matminer with identical values (< 1e-9); 100,000
formulas end to end in under 120 s on 2 cores; warm single prediction under 20 ms.
Results are printed and written to ``benchmarks/results/speed.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

CARRIERS = {"Li": 3, "Na": 3}
HALOGENS = ("Cl", "Br", "I")
TRIVALENT = ("Y", "In", "Sc", "Er", "Ho", "Yb", "Lu", "Tb", "Gd", "Dy")
TETRAVALENT = ("Zr", "Hf", "Ti", "Sn", "Ce", "Ge")


def candidates(n: int) -> list[str]:
    """``n`` distinct formulas A(3-x)M(1-x)M'(x)X6 on a grid of x in (0, 1)."""
    series = [(a, m3, m4, x) for a in CARRIERS for x in HALOGENS for m3 in TRIVALENT for m4 in TETRAVALENT]
    steps = int(np.ceil(n / len(series)))
    values = np.round(np.linspace(0, 1, steps + 2)[1:-1], 6)
    formulas = [f"{a}{3 - v:.6g}{m3}{1 - v:.6g}{m4}{v:.6g}{x}6" for a, m3, m4, x in series for v in values]
    return formulas[:n]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores {model}".strip()


def featurisation(formulas: list[str], reference_n: int) -> dict:
    from matminer.featurizers.composition import ElementProperty

    from predictor.composition import parse_formula
    from predictor.featurizers import MagpieFeaturizer

    start = time.perf_counter()
    compositions = [parse_formula(f) for f in formulas]
    parse_s = time.perf_counter() - start
    subset = compositions[:: max(1, len(compositions) // reference_n)][:reference_n]
    ours = MagpieFeaturizer()
    ours.transform(subset[:10])  # load the element table
    start = time.perf_counter()
    ours_subset = ours.transform(subset)
    ours_subset_s = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = ElementProperty.from_preset("magpie")
        start = time.perf_counter()
        matminer_subset = np.array(reference.featurize_many(subset, pbar=False))
        matminer_s = time.perf_counter() - start
    start = time.perf_counter()
    ours.transform(compositions)
    ours_all_s = time.perf_counter() - start
    return {
        "parse_per_s": len(compositions) / parse_s,
        "reference_n": len(subset),
        "matminer_per_s": len(subset) / matminer_s,
        "ours_per_s_same_set": len(subset) / ours_subset_s,
        "ours_per_s_all": len(compositions) / ours_all_s,
        "ratio_same_set": matminer_s / ours_subset_s,
        "max_abs_difference": float(np.nanmax(np.abs(ours_subset - matminer_subset))),
        "nan_pattern_identical": bool(np.array_equal(np.isnan(ours_subset), np.isnan(matminer_subset))),
    }


def end_to_end(predictor, formulas: list[str], batch_size: int) -> dict:
    rss_before = peak_rss_mb()
    rss_at_fifth = None
    rows = predicted = 0
    start = time.perf_counter()
    with tempfile.NamedTemporaryFile("w", suffix=".csv") as handle:
        for i, table in enumerate(predictor.iter_predict(formulas, batch_size=batch_size, progress=True)):
            table.to_csv(handle, header=i == 0, index=False)
            rows += len(table)
            predicted += int((table["error"] == "").sum())
            if rss_at_fifth is None and rows >= len(formulas) / 5:
                rss_at_fifth = peak_rss_mb()
    seconds = time.perf_counter() - start
    return {"n": rows, "predicted": predicted, "seconds": seconds, "per_s": rows / seconds,
            "batch_size": batch_size, "peak_rss_mb_before": rss_before, "peak_rss_mb_at_20pct": rss_at_fifth,
            "peak_rss_mb_at_100pct": peak_rss_mb()}


def latency(predictor, repeats: int = 50) -> dict:
    for _ in range(5):
        predictor.predict("Li2.5Y0.5Zr0.5Cl6")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predictor.predict("Li2.5Y0.5Zr0.5Cl6")
        times.append(time.perf_counter() - start)
    return {"median_ms": 1000 * statistics.median(times), "p90_ms": 1000 * float(np.percentile(times, 90))}


def cold_start(repeats: int = 3, model_family: str | None = None) -> dict:
    executable = [sys.executable, "-m", "predictor"]
    result = {}
    family = ["--model-family", model_family] if model_family else []
    for name, arguments in (("help", ["--help"]), ("predict_one", ["predict", "Li3YCl6", *family])):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(executable + arguments, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        result[f"{name}_s"] = statistics.median(times)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="formulas predicted end to end (default: 100000)")
    parser.add_argument("--reference-n", type=int, default=2000, help="formulas featurised by matminer (default: 2000)")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--model-family", help="predict with this model family (default: the shipped default per property)")
    parser.add_argument("--output", type=Path, default=None,
                        help="default: results/speed.json, or results/speed_<family>.json with --model-family")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    from predictor import Predictor

    formulas = candidates(args.n)
    results = {"date": datetime.date.today().isoformat(), "machine": machine(), "python": platform.python_version(),
               "model_family": args.model_family or "default"}
    print(f"{results['date']}, {results['machine']}", flush=True)

    start = time.perf_counter()
    predictor = Predictor.load(model_family=args.model_family)
    load_s = time.perf_counter() - start
    e = results["end_to_end"] = end_to_end(predictor, formulas, args.batch_size)
    e["load_s"] = load_s
    print(f"end to end: {e['n']:,} formulas in {e['seconds']:.1f} s ({e['per_s']:,.0f}/s, {e['predicted']:,} predicted; "
          f"models loaded in {load_s:.1f} s); peak RSS {e['peak_rss_mb_before']:.0f} MB loaded, "
          f"{e['peak_rss_mb_at_20pct']:.0f} MB at 20 %, {e['peak_rss_mb_at_100pct']:.0f} MB at 100 %", flush=True)

    f = results["featurisation"] = featurisation(formulas, args.reference_n)
    print(f"featurisation (Magpie): matminer {f['matminer_per_s']:,.0f}/s, ours {f['ours_per_s_same_set']:,.0f}/s "
          f"on the same {f['reference_n']} -> {f['ratio_same_set']:,.0f}x; ours on {len(formulas):,}: "
          f"{f['ours_per_s_all']:,.0f}/s; max |difference| {f['max_abs_difference']:.1e} "
          f"(NaN pattern identical: {f['nan_pattern_identical']}); formula parsing {f['parse_per_s']:,.0f}/s", flush=True)

    matminer_s = len(formulas) / f["matminer_per_s"]
    e["matminer_featurisation_alone_s"] = matminer_s
    e["ratio_vs_matminer_featurisation_alone"] = matminer_s / e["seconds"]
    print(f"end to end vs matminer: its Magpie featurisation alone would take {matminer_s:,.0f} s for the "
          f"{len(formulas):,} formulas ({e['ratio_vs_matminer_featurisation_alone']:.0f}x the whole prediction here)",
          flush=True)

    lat = results["latency"] = latency(predictor)
    print(f"single formula, warm: median {lat['median_ms']:.1f} ms (p90 {lat['p90_ms']:.1f} ms)", flush=True)
    cold = results["cold_start"] = cold_start(model_family=args.model_family)
    print(f"command line, cold: --help {cold['help_s']:.2f} s, predict one formula {cold['predict_one_s']:.2f} s")

    targets = {
        "featurisation >= 100x matminer, difference < 1e-9": f["ratio_same_set"] >= 100 and f["max_abs_difference"] < 1e-9,
        "100,000 end to end < 120 s": e["seconds"] * 100_000 / e["n"] < 120,
        "memory bounded (peak at 100 % < 1.5x peak at 20 %)": e["peak_rss_mb_at_100pct"] < 1.5 * e["peak_rss_mb_at_20pct"],
        "warm single prediction < 20 ms": lat["median_ms"] < 20,
    }
    results["targets_met"] = targets
    for name, ok in targets.items():
        print(f"  [{'met' if ok else 'NOT met'}] {name}")
    if args.output is None:  # a family's run must not overwrite the default models' results
        name = "speed.json" if args.model_family is None else f"speed_{args.model_family.replace('-', '_')}.json"
        args.output = Path(__file__).parent / "results" / name
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
