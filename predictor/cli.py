"""Command line: ``predictor predict``, ``predictor screen`` and ``predictor train``.

Heavy libraries are imported inside the commands, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

EXIT_OK, EXIT_NOTHING_PREDICTED, EXIT_USAGE = 0, 1, 2

DISPLAY_COLUMNS = ["formula", "carrier", "log10_sigma", "log10_sigma_std", "log10_sigma_lo90", "log10_sigma_hi90",
                   "sigma_S_cm", "reduction_limit_V", "oxidation_limit_V", "window_reference", "in_domain"]


def _read_formulas(args) -> list[str]:
    formulas = list(args.formulas)
    if args.input:
        import pandas as pd

        path = Path(args.input)
        if not path.is_file():
            raise SystemExit(f"predictor predict: input file {path} not found")
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except Exception as exc:  # pandas raises several parser errors
            raise SystemExit(f"predictor predict: cannot read {path} as CSV: {exc}") from None
        if args.column not in frame.columns:
            raise SystemExit(
                f"predictor predict: {path} has no {args.column!r} column (columns: {', '.join(frame.columns)})"
            )
        formulas += frame[args.column].tolist()
    if not formulas:
        raise SystemExit("predictor predict: give formulas as arguments or --input FILE.csv")
    return formulas


def _format_table(table) -> str:
    shown = table[DISPLAY_COLUMNS].copy()
    for column in ("log10_sigma", "log10_sigma_std", "log10_sigma_lo90", "log10_sigma_hi90"):
        shown[column] = shown[column].map(lambda v: "" if v != v else f"{v:.2f}")
    shown["sigma_S_cm"] = shown["sigma_S_cm"].map(lambda v: "" if v != v else f"{v:.2e}")
    for limit in ("reduction_limit_V", "oxidation_limit_V"):
        shown[limit] = [
            "" if v != v else f"{v:.2f} ± {s:.2f}" for v, s in zip(table[limit], table[f"{limit}_std"])
        ]
    shown["carrier"] = shown["carrier"].fillna("-")
    shown["in_domain"] = [("yes" if ok else "no") if not err else "" for ok, err in zip(table["in_domain"], table["error"])]
    lines = [shown.to_string(index=False)]
    notes = [(f, n) for f, n, e in zip(table["formula"], table["domain_notes"], table["error"]) if n and not e]
    errors = [(f, e) for f, e in zip(table["formula"], table["error"]) if e]
    if notes:
        lines.append("\nOutside the model's domain:")
        lines += [f"  {f}: {n}" for f, n in notes]
    if errors:
        lines.append("\nNot predicted:")
        lines += [f"  {e}" for _, e in errors]
    lines.append(
        "\nlog10_sigma in log10(S/cm) at room temperature; lo90/hi90: calibrated 90 % interval.\n"
        "Window limits in V vs window_reference (thermodynamic, DFT-like), ± one calibrated standard deviation."
    )
    return "\n".join(lines)


def cmd_predict(args) -> int:
    formulas = _read_formulas(args)
    from predictor.errors import ModelLoadError
    from predictor.predictor import Predictor

    try:
        predictor = Predictor.load(args.models)
    except ModelLoadError as exc:
        print(f"predictor predict: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.output:
        any_predicted, rows = False, 0
        with open(args.output, "w", newline="") as handle:
            for i, table in enumerate(predictor.iter_predict(formulas, progress=len(formulas) > 1000)):
                table.to_csv(handle, header=i == 0, index=False)
                any_predicted |= bool((table["error"] == "").any())
                rows += len(table)
        print(f"wrote {rows} rows to {args.output}", file=sys.stderr)
        return EXIT_OK if any_predicted else EXIT_NOTHING_PREDICTED
    table = predictor.predict(formulas, progress=len(formulas) > 1000)
    if args.format == "csv":
        table.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(table.to_json(orient="records", indent=1))
    else:
        print(_format_table(table))
    return EXIT_OK if (table["error"] == "").any() else EXIT_NOTHING_PREDICTED


def _format_ranking(table, top: int) -> str:
    shown = table[table["rank"] > 0].head(top)
    columns = ["rank", "formula", "dopant", "x", "log10_sigma", "log10_sigma_lo90", "log10_sigma_hi90",
               "reduction_limit_V", "oxidation_limit_V", "score", "meets_constraints", "in_domain"]
    text = shown[columns].to_string(index=False, float_format=lambda v: f"{v:.2f}")
    rule = table.attrs["rank_by"]
    lines = [f"parent {table.attrs['parent']}: predicted log10_sigma {table.attrs['parent_log10_sigma']:.2f}",
             f"ranked by {rule} (higher is better)" + (
                 f"; constraint: oxidation_limit_V >= {table.attrs['min_oxidation_limit_V']}"
                 if table.attrs["min_oxidation_limit_V"] is not None else ""), text]
    bad = table[table["error"] != ""]
    if len(bad):
        lines.append(f"\nNot predicted ({len(bad)}):")
        lines += [f"  {row.dopant} x={row.x:g}: {row.error}" for row in bad.itertuples()]
    return "\n".join(lines)


def cmd_screen(args) -> int:
    from predictor.errors import ModelLoadError
    from predictor.predictor import Predictor
    from predictor.screening import screen, x_grid

    try:
        x = x_grid(args.x)
        predictor = Predictor.load(args.models)
        table = screen(predictor, args.parent, args.site, args.dopant, x, compensation=args.compensation,
                       rank_by=args.rank, min_oxidation_limit_V=args.min_oxidation_V, progress=len(x) > 200)
    except (ValueError, ModelLoadError) as exc:
        print(f"predictor screen: {exc}", file=sys.stderr)
        return EXIT_USAGE
    stem = f"screen_{args.parent}_{args.site}".replace("/", "_")
    output = Path(args.output or f"{stem}.csv")
    table.to_csv(output, index=False)
    print(_format_ranking(table, args.top))
    print(f"\nwrote {len(table)} candidates to {output}", file=sys.stderr)
    if not args.no_plot:
        from predictor.plots import plot_screening

        plot = Path(args.plot or output.with_suffix(".png"))
        plot_screening(table).savefig(plot, dpi=120, bbox_inches="tight")
        print(f"wrote the plot to {plot}", file=sys.stderr)
    return EXIT_OK if (table["rank"] > 0).any() else EXIT_NOTHING_PREDICTED


def cmd_train(args) -> int:
    from predictor.errors import DataNotFoundError, FewerSourcesError
    from predictor.paths import models_dir
    from predictor.training import CONDUCTIVITY_DIR, TrainConfig, train

    output = Path(args.output) if args.output else models_dir()
    settings = {"sources": tuple(args.sources), "cv_folds": args.cv_folds, "evaluate": not args.no_evaluate}
    if args.quick:
        config = TrainConfig.quick(**settings)
    else:
        config = TrainConfig(**settings, model_params={"random_state": args.seed})
    try:
        report = train(config, output, progress=True, allow_fewer_sources=args.allow_fewer_sources)
    except (DataNotFoundError, FewerSourcesError, FileExistsError) as exc:
        print(f"predictor train: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"models written to {output} (model card: {output / 'README.md'})")

    import os

    from predictor.estimators import ConductivityRegressor
    from predictor.tracking import log_training_run, tracking_uri

    if args.no_tracking:
        os.environ["PREDICTOR_TRACKING"] = "off"
    model = ConductivityRegressor.load(output / CONDUCTIVITY_DIR)
    run_id = log_training_run(report, output, model.feature_importances(), model.feature_labels_)
    if run_id:
        print(f"MLflow run {run_id} logged to {tracking_uri()}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="predictor",
        description="Predict the room-temperature ionic conductivity of solid electrolytes from their composition.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="predict formulas given as arguments or in a CSV file",
                       description="Predict log10 conductivity (S/cm) and the electrochemical window (V) "
                                   "with calibrated uncertainties.")
    p.add_argument("formulas", nargs="*", help='formulas, e.g. Li3YCl6 "Li2.5Y0.5Zr0.5Cl6"')
    p.add_argument("-i", "--input", help="CSV file with a formula column")
    p.add_argument("--column", default="formula", help="name of the formula column of --input (default: formula)")
    p.add_argument("-o", "--output", help="write all columns to this CSV file")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output on stdout (default: table)")
    p.add_argument("--models", help="model folder (default: the shipped models/)")
    p.set_defaults(func=cmd_predict)

    s = sub.add_parser("screen", help="enumerate a doping series of a parent, predict and rank it",
                       description="Replace x formula units of SITE by each DOPANT, compensate the charge, predict "
                                   "conductivity and window, rank by an acquisition rule; write a CSV and a plot.")
    s.add_argument("parent", help="parent formula, e.g. Li2ZrCl6")
    s.add_argument("--site", required=True, help="element of the parent to substitute, e.g. Zr")
    s.add_argument("--dopant", required=True, action="append",
                   help="dopant with optional charge, e.g. Nb or Nb5+ (repeat for several series)")
    s.add_argument("--x", required=True, help="dopant amounts: start:stop:step (stop included) or a list 0.1,0.2")
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
    s.set_defaults(func=cmd_screen)

    from predictor.loaders import SOURCES

    t = sub.add_parser("train", help="retrain the models and write them with metrics and a model card",
                       description="Evaluate (OBELiX split, grouped CV), fit on all data, write the model folder.")
    t.add_argument("-o", "--output", help="model folder to write (default: the shipped models/)")
    t.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES, help="conductivity sources")
    t.add_argument("--cv-folds", type=int, default=5, help="folds of the grouped cross-validation (default: 5)")
    t.add_argument("--no-evaluate", action="store_true", help="skip the held-out evaluation")
    t.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    t.add_argument("--quick", action="store_true", help="small models (seconds, for trying things out and tests)")
    t.add_argument("--no-tracking", action="store_true", help="do not log the run to MLflow")
    t.add_argument("--allow-fewer-sources", action="store_true",
                   help="replace models trained on more conductivity sources than are available now")
    t.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import warnings

    warnings.filterwarnings("ignore", module="pymatgen")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
