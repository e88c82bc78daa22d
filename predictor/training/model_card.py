"""The model card (``models/README.md``) from the training report.

``predictor train`` writes it with the models; ``python -m predictor.training.model_card`` rewrites it
from an existing ``models/metrics.json`` (or ``$PREDICTOR_MODELS_DIR``'s) without retraining, and
the folder's manifest after it, so that the folder still loads. Neither touches the repository's
README.md, whose metrics section is written by hand from the model card.
"""

from __future__ import annotations

from pathlib import Path

from predictor.model_layout import METRICS_FILE, MODEL_CARD_FILE, PREDICTION_FILES
from predictor.paths import models_dir
from predictor.training.report import TrainingReport, WindowData

_SPLIT_TITLES = {
    "obelix_split_obelix_only": "OBELiX official split, trained on OBELiX train only",
    "obelix_split_with_extra_sources": "OBELiX official split, trained on OBELiX train + other sources (minus test compositions and rows sharing a DOI with a test entry)",
}


def _row(name: str, m: dict) -> str:
    literal = f" ({m['coverage90_literal']:.3f})" if "coverage90_literal" in m else ""
    return (f"| {name} | {m['n']} | {m['mae']:.3f} | {m['rmse']:.3f} | {m['r2']:.3f} | {m['spearman']:.3f} | "
            f"{m.get('coverage90', float('nan')):.3f}{literal} | {m.get('interval_width90', float('nan')):.2f} |")


def metrics_table(report: TrainingReport) -> str:
    """Markdown table of the held-out metrics of a training report."""
    lines = ["| evaluation (held-out) | n | MAE | RMSE | R² | Spearman | 90 % coverage | 90 % width |",
             "|---|---|---|---|---|---|---|---|"]
    evaluation = report.evaluation
    for key, title in _SPLIT_TITLES.items():
        if key in evaluation:
            lines.append(_row(f"{title}: all test entries", evaluation[key]["all"]))
            lines.append(_row(f"{title}: uncensored test entries", evaluation[key]["uncensored"]))
    if "grouped_cv" in evaluation:
        folds = report.config["cv_folds"]
        lines.append(_row(f"grouped {folds}-fold CV by chemical system, all labels", evaluation["grouped_cv"]["all"]))
        if "halides" in evaluation["grouped_cv"]:
            lines.append(_row(f"grouped {folds}-fold CV, halide-family rows", evaluation["grouped_cv"]["halides"]))
    return "\n".join(lines)


def window_metrics_table(report: TrainingReport) -> str:
    """Markdown table of the held-out window metrics (V) of a training report."""
    evaluation = report.evaluation
    cv, rules = evaluation.get("window_grouped_cv"), evaluation.get("window_rules_cv")
    if not cv and not rules:
        return "(not evaluated)"
    lines = ["| limit | held-out rows | n | MAE (V) | RMSE (V) | R² | Spearman | 90 % coverage | 90 % width (V) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for limit in ("reduction_limit_V", "oxidation_limit_V"):
        for subset, m in (cv or {}).get(limit, {}).items():
            if subset != "without_rules":  # reports written before the calibration folds were read
                lines.append(_row(f"{limit} | {subset}, regressor (calibration folds)", m))
        for subset, m in (rules or {}).get(limit, {}).items():
            if subset != "without_rules":
                lines.append(_row(f"{limit} | {subset}, with the thermodynamic rules (refitted folds)", m))
    return "\n".join(lines)


def held_out_papers_table(report: TrainingReport) -> str:
    """Markdown table of the held-out halide papers of a training report (pooled, far quarter, per group)."""
    papers = report.evaluation.get("held_out_papers")
    if not papers:
        return "(not evaluated in this run: `predictor train --evaluate full` adds it, about 20 minutes)"
    lines = ["| compositions | n | papers | MAE | median abs. error | Spearman | median within-paper Spearman "
             "| 90 % coverage | 90 % width |", "|---|---|---|---|---|---|---|---|---|"]
    groups = {"all held-out halide compositions": papers["all"],
              "the quarter farthest from the training data": papers["far_quarter"],
              **papers["per_anion_family"],
              **{f"{name} conductors": m for name, m in papers["per_carrier"].items()}}
    for name, m in groups.items():
        lines.append(f"| {name} | {m['n']} | {m['papers']} | {m['mae']:.3f} | {m['median_abs_error']:.3f} | "
                     f"{m['spearman']:.3f} | {m['median_within_paper_spearman']:.2f} ({m['papers_with_3']} papers) | "
                     f"{m['coverage90']:.3f} | {m['interval_width90']:.2f} |")
    return "\n".join(lines)


def activation_section(report: TrainingReport) -> str:
    """Markdown section on the activation-energy model of a training report ("" when it has none)."""
    data = report.activation_data
    if data is None:
        return ""
    from predictor.training.activation import activation_metrics_table

    model = report.activation_model
    pairs = model.correlation_pairs if model else 0
    estimate = model.correlation_estimate if model else None
    correlation = (f"{model.correlation:.2f}, estimated from the out-of-fold residuals of both models "
                   f"on the {pairs} compositions that have both labels" if estimate is not None and
                   model.correlation == estimate else
                   f"0 (not estimated: {pairs} compositions with both out-of-fold residuals)")
    span = model.label_temperature_range_C if model else None
    span_text = f"{span[0]:.0f}-{span[1]:.0f} °C" if span else "not stated by the labels"
    per_source = ", ".join(f"{k} {v}" for k, v in data.rows_per_source.items())
    per_method = ", ".join(f"{k}: {v}" for k, v in data.reports_per_method.items())
    failed = data.consistency_failed
    failed_text = "; ".join(f"{f['formula']} ({f['doi']}, {f['difference_eV']:+.2f} eV)" for f in failed) or "none"
    return f"""
## Activation energy and conductivity at other temperatures
Activation energy Ea (eV, sigma*T = A*exp(-Ea/kT)), one bagged LightGBM model on the same
descriptors, uncertainty calibrated the same way. Labels: {data.rows} compositions ({per_source};
{data.halide_rows} halide-family) from {data.reports} reports ({per_method}); {data.rejected}
multi-temperature series gave no label (span too narrow or fitted Ea implausible). Consistency: {data.consistency_checked}
compositions of the curated file have a reported Ea beside conductivities at two or more
temperatures; disagreeing by more than 0.1 eV: {failed_text}.
Parameters: `{report.config.get('activation_params')}`.

Sigma at a temperature T is the room-temperature prediction moved with the predicted Ea; the
variance adds the Ea term and twice their covariance, with a correlation between the
room-temperature log10 sigma and Ea errors of {correlation}. Most labels were measured over
{span_text}.

{activation_metrics_table(report)}
"""


def graph_family_section(report: TrainingReport) -> str:
    """The graph-network family: what it is, its out-of-fold metrics and the default family of each property."""
    family = report.graph_family
    if not family:
        return ""
    rows = [f"| {name} | {m['n']} | {m['mae']:.3f} | {m['spearman']:.3f} | {m.get('coverage90', float('nan')):.2f} |"
            for name in ("log10_sigma", "reduction_limit_V", "oxidation_limit_V") if (m := family.get(name))]
    defaults = report.config.get("default_families", {})
    default_text = ", ".join(f"{part}: {name}" for part, name in defaults.items())
    reason = report.default_families.reason if report.default_families else "not recorded"
    return f"""
## Graph-network family
`families/graph-network/`: deep ensembles of Roost composition networks (descriptor pretrained on
Materials Project formation energies, `pretrained/`), one for conductivity and one per window
limit; each member is trained without one grouped fold by chemical system, and those out-of-fold
predictions calibrate the uncertainty (with the distance to the training data in the same
descriptor space as the gradient-boosted models). Parameters: `{report.config.get('graph_params')}`.
Held-out: {family.get('split', 'out-of-fold')}, each held-out composition predicted by the one
member that did not see it (a single network, not the ensemble: `benchmarks/model_families.py`
scores the ensembles); MAE in the target's unit, intervals cross-conformal.

| target | n | MAE | Spearman | 90 % coverage |
|---|---|---|---|---|
{chr(10).join(rows)}

Default family per property (`families.json`; `Predictor.load(model_family=...)` or
`--model-family` chooses another): {default_text}. Why: {reason}.
"""


def write_model_card(folder: Path, report: TrainingReport) -> Path:
    """Write the model card ``README.md`` of the model folder ``folder`` from its training report."""
    data, versions = report.data, report.versions
    per_source = ", ".join(f"{k} {v}" for k, v in data.rows_per_source.items())
    window_data = report.window_data or WindowData(rows=0, rows_per_source={}, na_rows=0)
    window_summary = (f"{window_data.rows} compositions ("
                      + ", ".join(f"{k} {v}" for k, v in window_data.rows_per_source.items())
                      + f"; {window_data.na_rows} Na)")
    window_table = window_metrics_table(report)
    censored = report.config["censored_log10_sigma"]
    from predictor.estimators.gbm.model import ConductivityRegressor

    noise = report.config["model_params"].get("input_noise")
    noise = ConductivityRegressor.default_input_noise if noise is None else noise
    huber_delta = report.config["model_params"].get("huber_delta")
    huber_delta = ConductivityRegressor.default_huber_delta if huber_delta is None else huber_delta
    parts = ConductivityRegressor.noised_descriptors
    noised = " and ".join(f"`{part}`" for part in parts) if parts else "every descriptor"
    censored_text = ("their detection bound (log10 sigma = -10 or -8)" if censored is None
                     else f"log10 sigma = {censored}")
    reused = report.reused
    reused_text = (f"\nRetrained: {', '.join(report.properties or [])}. Copied unchanged, with their metrics, "
                   f"from `{reused.source}`: {', '.join(reused.properties)}." if reused else "")
    text = f"""# Model card: predictor conductivity and window models

Written by `predictor train` on {report.date}. Do not edit by hand: retrain instead.{reused_text}

## What it predicts
From the composition alone: room-temperature ionic conductivity (log10 of sigma in S/cm) with a
calibrated standard deviation and 90 % interval, the reduction and oxidation limits of the
electrochemical window (V vs Li+/Li or Na+/Na) with calibrated standard deviations, and an
applicability-domain flag.

## Held-out halide papers (the headline)
What a user's composition from a new paper meets: the curated dataset's papers dealt into 10
folds; each fold's compositions and every training row citing its papers removed, the model
refitted with these settings on the rest, and the fold's room-temperature halide compositions
predicted, each against the paper's own value (log10 S/cm; `predictor.training.held_out_papers`,
`benchmarks/new_papers.py` compares the model families and a Magpie + random forest reference).
Measured by `predictor train --evaluate full` (10 more fits).
"Farthest": by distance in the descriptor space to the fold's training compositions.

{held_out_papers_table(report)}

## Model
A bag of LightGBM models (Huber loss turning linear at {huber_delta} decades, the spread between two
labs' values of one composition is 0.44; random split thresholds) on continuous composition
descriptors (Magpie-style statistics, stoichiometry, halide-physics descriptors). A trace element
(below 5 % of its site) moves a prediction by its share of the step to the composition without
it (`predictor/estimators/trace_elements.py`), so that a trace dopant cannot jump the trees, and
each member learns from the descriptors that follow the amount of a composition's extreme element
({noised}) blurred by Gaussian noise ({noise} of each descriptor's spread, `input_noise`), so that a
small change of an element already present moves the prediction along a slope instead of across
a split.
Uncertainty: ensemble spread, distance to the training data and a noise floor, fitted on
grouped out-of-fold residuals and calibrated by split-conformal prediction per anion family
(Mondrian; see `predictor/estimators/calibration.py`); intervals stop at 0.1 S/cm.
Parameters: `{report.config['model_params']}`; censored labels (<1e-10 S/cm) trained at
{censored_text}.

## Data
{data.rows} room-temperature labels ({per_source}); {data.halide_rows} halide-family rows,
{data.na_rows} Na conductors. Table hash `{data.table_hash}`. {report.rejected_rows} source rows had
unusable formulas and were left out (listed by `predictor.loaders.combined.load_conductivity_data().rejected`).

## Held-out metrics over all labels
Grouped cross-validation by chemical system read from the folds that calibrate the model's
uncertainty (each fold's bag predicts the chemical systems it never saw; each fold's interval is
calibrated on the other folds' residuals, cross-conformal): the numbers come from the fits that
made the shipped model. Labels below detection count as {censored_text} for MAE, RMSE, R² and Spearman. Coverage counts
an interval as covering such a label when its lower bound reaches below the detection bound; in
brackets, the coverage taking the label literally. MAE and coverage in log10(S/cm) units; width:
mean width of the 90 % interval. Most labels are oxides and sulfides: the halide headline is above.

{metrics_table(report)}

## Electrochemical window model
Reduction and oxidation limits (V vs Li+/Li or Na+/Na), one bagged LightGBM model each on the
same descriptors, uncertainty calibrated the same way. Labels: {window_summary}. Published DFT
grand-potential windows of the curated dataset take precedence over the thermodynamic windows
generated from the Materials Project table (`datasets/thermodynamic_windows.csv`). Held-out:
grouped CV by chemical system from each limit model's calibration folds (the regressor alone);
with `--evaluate full`, also refitted folds with the thermodynamic rules applied. "published"
rows are the published DFT windows in the held-out folds.

{window_table}

{activation_section(report)}{graph_family_section(report)}
## Files
`conductivity/`, `windows/reduction_limit_V/`, `windows/oxidation_limit_V/`, `activation/Ea_eV/`: LightGBM text
models, `domain.npz` (no pickles), `estimator.json`, and `manifest.json` with SHA-256 hashes
checked on load. `families/graph-network/`: the graph-network family (PyTorch state_dicts,
loaded with `weights_only=True`), `families.json` the default family per property. `metrics.json`: this report as data. `grouped_cv_predictions.csv` and
`window_cv_predictions.csv` (written by training, not committed: they hold third-party labels):
out-of-fold predictions; `held_out_papers_predictions.csv`: the held-out halide papers' predictions.

## Versions
{', '.join(f'{k} {v}' for k, v in versions.items())}
"""
    path = Path(folder) / MODEL_CARD_FILE
    path.write_text(text)
    return path


def main(argv: list[str] | None = None) -> None:
    """Rewrite the model card of a model folder (default: the shipped one), then its manifest.

    The folder's other top-level files must match its manifest first (a hand-edited card is
    what this replaces; an edited ``families.json`` or report stays refused).
    """
    import argparse

    from predictor.artifacts import check_model_folder, write_folder_manifest

    parser = argparse.ArgumentParser(prog="python -m predictor.training.model_card",
                                     description="Rewrite README.md (the model card) of a model folder from its "
                                                 "metrics.json, then the folder's manifest.")
    parser.add_argument("folder", nargs="?", help="model folder (default: the shipped models/)")
    args = parser.parse_args(argv)
    folder = Path(args.folder) if args.folder else models_dir()
    check_model_folder(folder, PREDICTION_FILES, skip=(MODEL_CARD_FILE,))
    report = TrainingReport.read(folder / METRICS_FILE)
    path = write_model_card(folder, report)
    write_folder_manifest(folder)
    print(f"wrote {path} and {folder / 'manifest.json'}")


if __name__ == "__main__":
    from predictor.errors import ModelLoadError

    try:
        main()
    except ModelLoadError as exc:  # one line, no traceback
        raise SystemExit(f"python -m predictor.training.model_card: {exc}") from None
