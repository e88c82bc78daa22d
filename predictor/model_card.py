"""The model card (``models/README.md``), written from the training report."""

from __future__ import annotations

from pathlib import Path

_SPLIT_TITLES = {
    "obelix_split_obelix_only": "OBELiX official split, trained on OBELiX train only",
    "obelix_split_with_extra_sources": "OBELiX official split, trained on OBELiX train + other sources (test compositions and test papers removed)",
}


def _row(name: str, m: dict) -> str:
    return (f"| {name} | {m['n']} | {m['mae']:.3f} | {m['rmse']:.3f} | {m['r2']:.3f} | {m['spearman']:.3f} | "
            f"{m.get('coverage90', float('nan')):.3f} | {m.get('interval_width90', float('nan')):.2f} |")


def metrics_table(report: dict) -> str:
    """Markdown table of the held-out metrics of a training report."""
    lines = ["| evaluation (held-out) | n | MAE | RMSE | R² | Spearman | 90 % coverage | 90 % width |",
             "|---|---|---|---|---|---|---|---|"]
    evaluation = report.get("evaluation", {})
    for key, title in _SPLIT_TITLES.items():
        if key in evaluation:
            lines.append(_row(f"{title}: all test entries", evaluation[key]["all"]))
            lines.append(_row(f"{title}: uncensored test entries", evaluation[key]["uncensored"]))
    if "grouped_cv" in evaluation:
        folds = report["config"]["cv_folds"]
        lines.append(_row(f"grouped {folds}-fold CV by chemical system, all labels", evaluation["grouped_cv"]["all"]))
        if "halides" in evaluation["grouped_cv"]:
            lines.append(_row(f"grouped {folds}-fold CV, halide-family rows", evaluation["grouped_cv"]["halides"]))
    return "\n".join(lines)


def write_model_card(folder: Path, report: dict) -> Path:
    data, versions = report["data"], report["versions"]
    per_source = ", ".join(f"{k} {v}" for k, v in data["rows_per_source"].items())
    text = f"""# Model card: predictor conductivity model

Written by `predictor train` on {report['date']}. Do not edit by hand: retrain instead.

## What it predicts
Room-temperature ionic conductivity, log10 of sigma in S/cm, from the composition alone, with a
calibrated standard deviation and 90 % interval, and an applicability-domain flag.

## Model
A bag of LightGBM models (Huber loss, random split thresholds) on 160 composition descriptors
(Magpie statistics, stoichiometry, halide-physics descriptors). Uncertainty: ensemble spread,
distance to the training data and a noise floor, fitted on grouped out-of-fold residuals and
calibrated by split-conformal prediction (see `predictor/estimators/calibration.py`).
Parameters: `{report['config']['model_params']}`; censored labels (<1e-10 S/cm) trained at
log10 sigma = {report['config']['censored_log10_sigma']}.

## Data
{data['rows']} room-temperature labels ({per_source}); {data['halide_rows']} halide-family rows,
{data['na_rows']} Na conductors. Table hash `{data['table_hash']}`. {report['rejected_rows']} source rows had
unusable formulas and were left out (listed by `predictor.loaders.combined.load_conductivity_data().rejected`).

## Held-out metrics
Test labels below detection keep OBELiX's convention (log10 sigma = -15) in the "all test
entries" rows.

{metrics_table(report)}

## Files
`conductivity/`: LightGBM text models, `domain.npz` (no pickles), `estimator.json`, and
`manifest.json` with SHA-256 hashes checked on load. `metrics.json`: this report as data.
`grouped_cv_predictions.csv`: out-of-fold predictions.

## Versions
{', '.join(f'{k} {v}' for k, v in versions.items())}
"""
    path = Path(folder) / "README.md"
    path.write_text(text)
    return path
