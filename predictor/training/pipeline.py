"""Train the shipped models: load the data, fit on everything, evaluate held-out, write a model folder.

``predictor train`` calls :func:`train`. The same configuration and seed give the same
models and the same metrics (LightGBM runs in deterministic mode).

Nothing is written into the model folder while training: everything (models, metrics, model
card) goes into a staging folder beside it, which replaces the folder
only once complete. An error or an interrupt leaves the previous models as they were. Training
never edits the repository's README.md.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.training import EVALUATIONS, PROPERTIES
from predictor.artifacts import (left_by_interrupted_run, library_versions, recover_interrupted, staged_replacement,
                                 write_folder_manifest)
from predictor.errors import FewerSourcesError, TableError
from predictor.estimators import ConductivityRegressor, WindowRegressor
from predictor.training.evaluation import (evaluate_obelix_split, evaluate_window_cv, grouped_cv_scores, training_labels,
                                           window_cv_scores)
from predictor.loaders.activation_labels import SOURCES as ACTIVATION_SOURCES
from predictor.loaders.combined import SOURCES, load_conductivity_data
from predictor.loaders.window_labels import load_window_labels
from predictor.prediction.measured import MeasuredValues
from predictor.model_layout import (ACTIVATION_DIR, CONDUCTIVITY_DIR, FAMILIES_DIR, FAMILIES_FILE, GRADIENT_BOOSTED,
                                    GRAPH_NETWORK, GROUPED_CV_PREDICTIONS_FILE, HELD_OUT_PAPERS_PREDICTIONS_FILE, KEPT_FOLDERS,
                                    MEASURED_DIR, METRICS_FILE, MODEL_FOLDER_ENTRIES, PRETRAINED_DIR,
                                    WINDOW_CV_PREDICTIONS_FILE, WINDOWS_DIR, family_part)
from predictor.paths import models_dir
from predictor.training.report import DataSummary, DefaultFamilies, Reused, TrainingReport, WindowData

log = logging.getLogger(__name__)


#: Why the default families are the defaults (written to ``families.json``; the numbers are in the model card).
DEFAULT_FAMILIES_REASON = (
    "conductivity: gradient-boosted. On held-out halide papers (benchmarks/new_papers.py: 234 compositions of "
    "105 papers) its MAE is 0.82 log10 S/cm against 0.89 for the graph network and 0.84 for their average, and "
    "on the quarter farthest from the training data 1.14 against 1.21 and 1.17 (the average minus the "
    "gradient-boosted: +0.02, 95 % bootstrap interval over papers -0.03 to +0.08; far quarter +0.03, -0.04 to "
    "+0.13); on the OBELiX split 1.20 against 1.39; and it predicts several times faster and starts without "
    "PyTorch (benchmarks/results/speed.json). The two rank a held-out paper's compositions alike (median "
    "within-paper Spearman 0.50 and 0.50), but on the 14 doping series of benchmarks/doping_series.py the graph "
    "network orders them better (0.57 against 0.07, where one swapped pair moves a paper by 0.1-0.5): ask for it "
    "by name to order a doping series. "
    "Windows: gradient-boosted, 0.02-0.03 V behind the graph network on grouped "
    "CV by chemical system (reduction and oxidation limits 0.29 and 0.37 V against 0.26 and 0.35 V, model card) "
    "but several times faster to predict. Every family passes the continuity tests (tests/test_chemistry.py)"
)


PROPERTY_FOLDERS = {
    "conductivity": (CONDUCTIVITY_DIR, MEASURED_DIR, family_part(GRAPH_NETWORK, CONDUCTIVITY_DIR)),
    "windows": (WINDOWS_DIR, family_part(GRAPH_NETWORK, WINDOWS_DIR)),
    "activation": (ACTIVATION_DIR,),
}
#: The sections of the training report (``metrics.json``; "section" or "section.key") that describe each
#: property's models: a section is an attribute of :class:`~predictor.training.report.TrainingReport`.
PROPERTY_REPORT = {
    "conductivity": ("evaluation.grouped_cv", "evaluation.held_out_papers", "evaluation.obelix_split_obelix_only",
                     "evaluation.obelix_split_with_extra_sources", "graph_family.log10_sigma"),
    "windows": ("window_data", "evaluation.window_grouped_cv", "evaluation.window_rules_cv",
                "graph_family.reduction_limit_V", "graph_family.oxidation_limit_V"),
    "activation": ("activation_data", "activation_model", "evaluation.activation_grouped_cv",
                   "evaluation.activation_leave_one_paper_out"),
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run.

    Parameters
    ----------
    sources : tuple of str
        Conductivity sources (see :mod:`predictor.loaders.combined`).
    censored_log10_sigma : float or None, default=None
        Training (and held-out) label, log10 S/cm, of entries reported only as below detection
        (<1e-10 or <1e-8 S/cm); None: the detection bound itself (-10, -8). Measured against
        OBELiX's own -15 (bag of trees, ``benchmarks/new_papers.py`` protocol): held-out halide
        papers MAE 0.830 against 0.841, OBELiX split trained on its training part 1.212
        against 1.233, both scored with the bound.
    cv_folds : int, default=5
        Folds, grouped by chemical system, that calibrate the uncertainty of the gradient-boosted
        models; their held-out predictions are the grouped cross-validation of the model card
        (:func:`predictor.training.evaluation.grouped_cv_scores`: one set of fits, not two). The graph
        network's folds are its ``n_members``.
    evaluate : {"cv", "full"}, default="cv"
        ``"cv"``: the grouped cross-validation above, from the fits themselves (no extra fit).
        ``"full"`` adds the heavy benchmarks, about 20 more minutes on 2 cores: the OBELiX
        official split (when OBELiX is loaded; 2 fits), the held-out halide papers
        (:func:`predictor.training.held_out_papers.evaluate_held_out_papers`, 10 fits: the model card's
        headline, what a user's composition from a new paper meets), the window CV with the
        thermodynamic rules (5 fits) and the Ea model leaving each paper out (one fit per paper).
    model_params : dict
        Keyword arguments of :class:`predictor.ConductivityRegressor` (``n_jobs=-1``: the
        models of a bag are fitted in one process per core).
    window_params : dict
        Keyword arguments of the :class:`predictor.estimators.WindowRegressor` limit models
        (more labels, smoother targets: a smaller bag suffices).
    activation_sources : tuple of str, default=("curated", "liiondb", "laskowski")
        Sources of the activation-energy labels (:mod:`predictor.loaders.activation_labels`; the
        Laskowski table only for compositions the other two lack).
    activation_params : dict
        Keyword arguments of :class:`predictor.estimators.gbm.activation_energy.ActivationEnergyRegressor`
        (a few hundred labels: a small bag of small trees; measured in grouped 5-fold CV over
        230 labels: MAE 0.101 eV, against 0.109 eV with the window models' 400 rounds at 0.05).
    graph_family : bool, default=True
        Also train the graph-network family (conductivity and both window limits) into
        ``families/graph-network/``; its out-of-fold metrics go into the report.
    graph_params : dict
        Keyword arguments of the graph-network regressors
        (:class:`predictor.estimators.graph.regressor.GraphRegressor`); ``pretrained`` defaults to the
        weights in the model folder's ``pretrained/`` when present.
    default_families : dict
        The family each property is predicted with by default (``families.json``, with
        :data:`DEFAULT_FAMILIES_REASON`): the gradient-boosted one for both. Every family moves
        continuously with a trace dopant (``tests/test_chemistry.py``). For conductivity the
        families and their average are within the spread over papers of one another on held-out
        halide papers (``benchmarks/new_papers.py``); for the windows the graph network is a
        little more accurate on grouped CV. Both are several times slower to predict
        (``benchmarks/speed.py``), so they are asked for by name.
    """

    sources: tuple[str, ...] = SOURCES
    censored_log10_sigma: float | None = None
    cv_folds: int = 5
    evaluate: str = "cv"
    model_params: dict = field(default_factory=lambda: {"random_state": 0, "n_jobs": -1})
    window_params: dict = field(
        default_factory=lambda: {"random_state": 0, "n_members": 4, "n_estimators": 400, "learning_rate": 0.05,
                                 "n_jobs": -1}
    )
    activation_sources: tuple[str, ...] = ACTIVATION_SOURCES
    activation_params: dict = field(
        default_factory=lambda: {"random_state": 0, "n_members": 4, "n_estimators": 200, "learning_rate": 0.03,
                                 "num_leaves": 15, "min_child_samples": 5, "n_jobs": -1}
    )
    graph_family: bool = True
    graph_params: dict = field(default_factory=lambda: {"random_state": 0, "n_jobs": -1})
    default_families: dict = field(default_factory=lambda: {"conductivity": GRADIENT_BOOSTED, "windows": GRADIENT_BOOSTED})

    @classmethod
    def quick(cls, **overrides) -> "TrainConfig":
        """Small models for tests, notebooks' small mode and trying things out (minutes -> seconds)."""
        small = {"n_members": 2, "n_estimators": 60, "random_state": 0}
        small_graph = {"n_members": 2, "epochs": 2, "random_state": 0}
        return cls(**{"model_params": dict(small), "window_params": dict(small), "activation_params": dict(small),
                      "graph_params": small_graph, "cv_folds": 3, **overrides})

    def __post_init__(self):
        if self.evaluate not in EVALUATIONS:
            raise ValueError(f"evaluate={self.evaluate!r}: expected one of {', '.join(map(repr, EVALUATIONS))}")

    def with_seed(self, seed: int) -> "TrainConfig":
        """The same configuration with ``random_state=seed`` in every model's parameters."""
        return replace(self, **{name: {**getattr(self, name), "random_state": int(seed)}
                                for name in ("model_params", "window_params", "activation_params", "graph_params")})

    def make_model(self) -> ConductivityRegressor:
        return ConductivityRegressor(**{"calibration_folds": self.cv_folds, **self.model_params})

    def make_window_model(self) -> WindowRegressor:
        return WindowRegressor(limit_params={"calibration_folds": self.cv_folds, **self.window_params})

    def make_graph_model(self, pretrained: str | Path | None = None):
        """The graph-network conductivity regressor (``pretrained``: descriptor weights, unless set in graph_params)."""
        from predictor.estimators.graph.regressor import GraphConductivityRegressor

        return GraphConductivityRegressor(**{"pretrained": pretrained, **self.graph_params})

    def make_graph_window_model(self, pretrained: str | Path | None = None) -> WindowRegressor:
        """The graph-network window model: one :class:`GraphWindowLimitRegressor` per limit."""
        from predictor.estimators.graph.regressor import GraphWindowLimitRegressor

        return WindowRegressor(estimator=GraphWindowLimitRegressor(**{"pretrained": pretrained, **self.graph_params}))

    def make_activation_model(self):
        from predictor.estimators.gbm.activation_energy import ActivationEnergyRegressor

        return ActivationEnergyRegressor(**{"calibration_folds": self.cv_folds, **self.activation_params})


def data_summary(table: pd.DataFrame) -> dict:
    """Row counts (per source, halides, Na) and a hash of the training table (its data version)."""
    digest = pd.util.hash_pandas_object(table[["formula", "log10_sigma", "source"]], index=False)
    return {
        "rows": int(len(table)),
        "rows_per_source": {k: int(v) for k, v in table["source"].value_counts().items()},
        "halide_rows": int((table["anion_family"] != "non-halide").sum()),
        "na_rows": int((table["carrier"] == "Na").sum()),
        "table_hash": f"{int(np.bitwise_xor.reduce(digest.to_numpy())):016x}",
    }


def previous_sources(folder: Path) -> set[str] | None:
    """The conductivity sources the models in ``folder`` were trained on (None when unknown)."""
    from predictor.errors import ModelLoadError

    try:
        return set(TrainingReport.read(Path(folder) / METRICS_FILE).data.rows_per_source)
    except (ModelLoadError, TypeError):
        return None


def check_replaceable(folder: Path, sources: set[str], allow_fewer_sources: bool = False) -> None:
    """Refuse to replace ``folder`` when it is not a model folder, or holds models trained on more sources.

    What a killed run left beside or in ``folder`` is tidied first
    (:func:`predictor.artifacts.recover_interrupted`: its marked staging folders removed, old
    models it had set aside put back), so that the checks below see the models as they were.

    Raises
    ------
    FewerSourcesError
        When the models in ``folder`` were trained on a source missing from ``sources`` (a
        third-party data set not found, typically) and ``allow_fewer_sources`` is False.
    FileExistsError
        When ``folder`` holds anything but models (training replaces the whole folder).
    """
    folder = Path(folder)
    # what a killed run left (its incomplete output, or the old models set aside) is tidied first
    for line in recover_interrupted(folder.parent, {folder.name}) + recover_interrupted(folder, set(MODEL_FOLDER_ENTRIES)):
        log.warning(line)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise FileExistsError(f"{folder} is a file, not a model folder")
    foreign = sorted(p.name for p in folder.iterdir() if p.name not in MODEL_FOLDER_ENTRIES)
    if foreign:
        left = [name for name in foreign if left_by_interrupted_run(name)]
        hint = (f"; {', '.join(left[:3])} look{'s' if len(left) == 1 else ''} left by an interrupted run: "
                "remove once checked" if left else "")
        raise FileExistsError(f"{folder} holds files that are not models ({', '.join(foreign[:5])}){hint}; "
                              "training replaces the whole folder: choose an empty or a model folder")
    before = previous_sources(folder)
    missing = sorted((before - sources) & set(SOURCES)) if before else []  # a lab's labels are not a data set
    if missing and not allow_fewer_sources:
        raise FewerSourcesError(
            f"refusing to replace the models in {folder}, trained on {', '.join(sorted(before))}, with models "
            f"trained without {', '.join(missing)} (not found); pass --allow-fewer-sources to replace them anyway"
        )


def sources_line(summary: dict, sources: tuple[str, ...]) -> str:
    """The first line a training run prints: the labels per source, and the sources not found."""
    used = ", ".join(f"{name} {rows}" for name, rows in summary["rows_per_source"].items())
    missing = [name for name in sources if name not in summary["rows_per_source"]]
    not_found = f"; not found: {', '.join(missing)} (`predictor data` says where they are looked for)" if missing else ""
    return f"training data: {summary['rows']} conductivity labels ({used}{not_found})"


def user_labels_lines(data, user: pd.DataFrame | None = None) -> list[str]:
    """What became of a lab's rows: how many are used, and each unusable one with its reason.

    ``data``: the conductivity data loaded with the lab's labels; ``user``: the lab's usable rows
    (:func:`predictor.loaders.user_labels.read_user_labels`), to count its Ea and window labels.
    """
    from predictor.loaders.user_labels import USER_SOURCE

    mine = data.table[data.table["source"] == USER_SOURCE]
    bad = data.rejected[data.rejected["source"] == USER_SOURCE] if len(data.rejected) else data.rejected
    rows = int(mine["n_reports"].sum())
    others = ""
    if user is not None:
        rows += int(user["log10_sigma"].isna().sum())  # rows with Ea or window labels only
        ea, windows = int(user["Ea_eV"].notna().sum()), int(user["reduction_limit_V"].notna().sum())
        others = "".join(f"; {n} {name}" for n, name in ((ea, "activation energies"), (windows, "windows")) if n)
    lines = [f"your labels: {rows + len(bad)} rows, {rows} used ({len(mine)} compositions, before every other "
             f"source{others}), {len(bad)} not used"]
    lines += [f"  row {int(r['row'])} ({r['formula'] or 'no formula'}): {r['reason']}" for _, r in bad.iterrows()]
    return lines


def check_training_tables(properties: tuple[str, ...] = PROPERTIES) -> None:
    """Refuse to train on a curated table that breaks its rules, before anything is fitted or written.

    Each table is checked by the function its loader reads it with (one rule, one place): the
    conductivity table (ids, formulas, conductivities, temperatures, Ea;
    :func:`predictor.loaders.curated.checked_conductivity_table`) when conductivity or activation
    energy is retrained, the curated and the thermodynamic window tables
    (:func:`predictor.loaders.curated.checked_window_table`,
    :func:`predictor.loaders.window_labels.checked_thermodynamic_table`) when windows are. A
    lab's labels are checked row by row as they are read (:mod:`predictor.loaders.user_labels`:
    each bad row named with its reason, and not used).

    Raises
    ------
    TableError
        One error naming every problem of every table: table, row id, column, value, reason.
    """
    from predictor.loaders.curated import checked_conductivity_table, checked_window_table
    from predictor.loaders.window_labels import checked_thermodynamic_table

    checks = []
    if {"conductivity", "activation"} & set(properties):
        checks.append(checked_conductivity_table)
    if "windows" in properties:
        checks += [checked_window_table, checked_thermodynamic_table]
    problems = []
    for check in checks:
        try:
            check()
        except TableError as error:
            problems += error.problems
    if problems:
        raise TableError(problems, "refusing to train on tables that break their rules (nothing was fitted or "
                                   "written; fix these rows)")


def train(config: TrainConfig, output_dir: str | Path, progress: bool = True,
          allow_fewer_sources: bool = False, track: bool = False, extra_labels=None,
          properties: tuple[str, ...] = PROPERTIES) -> TrainingReport:
    """Evaluate, fit the conductivity and window models on all labels and write the model folder.

    The folder (models, ``metrics.json``, the model card ``README.md``) is written as ``<output_dir>.staging-<pid>`` beside ``output_dir`` and replaces
    it at the end; until then the previous models stay untouched, and on any error or
    interrupt the staging folder is removed. ``pretrained/`` is carried over (from the shipped
    models, or ``$PREDICTOR_MODELS_DIR``, into a new folder).

    Parameters
    ----------
    config : TrainConfig
    output_dir : str or Path
        The model folder to write or replace (empty, absent, or a model folder).
    progress : bool, default=True
        Log the steps and held-out metrics (INFO records of the ``predictor`` loggers) and
        show progress bars while fitting.
    allow_fewer_sources : bool, default=False
        Replace models trained on more conductivity sources than are available now.
    track : bool, default=False
        Log the run (metrics, plots, model card) and register the predictor with MLflow
        (:mod:`predictor.training.tracking`; off when tracking is disabled there).
    extra_labels : path of a CSV file or DataFrame, optional
        A lab's own measurements (:mod:`predictor.loaders.user_labels`: conductivity, Ea and
        window labels), each used before every other source for the same composition by the
        model of its property (when retrained); the first lines of the log say how many rows
        were used and why any were not.
    properties : tuple of str, default=PROPERTIES
        The properties to retrain (``"conductivity"``, ``"windows"``, ``"activation"``); the
        models of the others (every family) and their metrics are copied from the model folder
        training starts from: ``output_dir`` when it holds models, else the shipped ones (or
        ``$PREDICTOR_MODELS_DIR``).

    Returns
    -------
    TrainingReport
        What ``metrics.json`` holds: configuration, data summary, evaluation metrics, library
        versions and date; with ``track``, also its ``mlflow_run_id`` (None when tracking is
        disabled or failed).

    Raises
    ------
    FewerSourcesError
        See :func:`check_replaceable` (checked before any training).
    TableError
        When a curated table breaks its rules (:func:`check_training_tables`, before anything is
        fitted or written), naming every bad row.
    """
    target = Path(output_dir).absolute()
    properties = tuple(dict.fromkeys(properties))
    if unknown := set(properties) - set(PROPERTIES):
        raise ValueError(f"unknown properties {sorted(unknown)}: choose from {', '.join(PROPERTIES)}")
    check_training_tables(properties)
    user = None
    if extra_labels is not None:
        from predictor.loaders.user_labels import label_properties, read_user_labels

        user = read_user_labels(extra_labels)[0]
        given = label_properties(user)
        if given and not set(given) & set(properties):
            raise ValueError(f"the labels hold {' and '.join(given)} labels, and none of them is retrained")
        for prop in given:
            if prop not in properties:
                log.warning("your %s labels are not used: %s is not retrained (add it to the properties)", prop, prop)
    data = load_conductivity_data(config.sources, extra_labels=extra_labels)
    table = data.table
    summary = data_summary(table)
    if extra_labels is not None:
        summary["user_labels"] = Path(extra_labels).name if isinstance(extra_labels, (str, Path)) else "a table"
    log.debug("training data: %s", summary)
    if progress:
        if extra_labels is not None:
            for line in user_labels_lines(data, user):
                log.info(line)
        log.info(sources_line(summary, config.sources))
    check_replaceable(target, set(summary["rows_per_source"]), allow_fewer_sources)
    # a new folder starts from the shipped (or $PREDICTOR_MODELS_DIR) pretrained graph-network weights
    kept_from = target if (target / PRETRAINED_DIR).is_dir() else models_dir()
    start = target if (target / METRICS_FILE).is_file() else models_dir()
    with staged_replacement(target) as staging:
        not_retrained = [p for p in PROPERTIES if p not in properties]
        previous = reuse_properties(start, staging, not_retrained)
        report = _train_into(staging, config, data, DataSummary.from_json_dict(summary), progress,
                             pretrained_weights(kept_from), properties, start, user)
        if not_retrained:
            report.reused = Reused(source=str(start), properties=list(not_retrained))
            for prop in not_retrained if previous is not None else ():
                carry_sections(previous, PROPERTY_REPORT[prop], report)
            report.write(staging / METRICS_FILE)
        from predictor.training.model_card import write_model_card

        write_model_card(staging, report)
        write_folder_manifest(staging)
        for name in KEPT_FOLDERS:
            if (kept_from / name).is_dir():
                shutil.copytree(kept_from / name, staging / name, symlinks=True)
    if track:
        from mlflow.exceptions import MlflowException

        try:
            run_id = log_run(report, target)
        except (MlflowException, OSError) as exc:  # the models are written: tracking is a record of them
            from predictor.training.tracking import tracking_uri

            log.warning("the run was not logged to MLflow (%s): %s", tracking_uri(), str(exc).splitlines()[0])
            run_id = None
        report.mlflow_run_id = run_id
    return report


def reuse_properties(start: Path, staging: Path, properties: list[str]) -> TrainingReport | None:
    """Copy the models of ``properties`` (every family) from the model folder ``start`` into ``staging``.

    Returns ``start``'s report, whose sections that describe them (:data:`PROPERTY_REPORT`) go into
    the new report; None when nothing is reused or ``start`` has no report.
    """
    if not properties:
        return None
    old = TrainingReport.read(start / METRICS_FILE) if (start / METRICS_FILE).is_file() else None
    for prop in properties:
        for part in PROPERTY_FOLDERS[prop]:
            if not (start / part).is_dir():
                if part.startswith(FAMILIES_DIR):
                    continue  # a folder trained without the graph family
                raise FileNotFoundError(f"{start} has no {part}/ to reuse: retrain {prop} too (--property {prop})")
            shutil.copytree(start / part, staging / part, symlinks=True)
    return old


def carry_sections(old: TrainingReport, sections, into: TrainingReport) -> TrainingReport:
    """Copy the ``sections`` of the report ``old`` ("section" or "section.key") into the report ``into``.

    A section ``into`` does not have yet is listed in its ``copied_sections`` (written after ``reused``).
    """
    for dotted in sections:
        section, _, key = dotted.partition(".")
        value = getattr(old, section)
        if value is None or (key and key not in value):
            continue
        if getattr(into, section) is None:  # a section this run wrote nothing of
            into.copied_sections.append(section)
            if key:
                setattr(into, section, {})
        if key:
            getattr(into, section)[key] = value[key]
        else:
            setattr(into, section, value)
    return into


def log_run(report: TrainingReport, folder: Path) -> str | None:
    """Log a finished training run of the models in ``folder`` to MLflow; its run id, or None when off."""
    from predictor.training.tracking import log_training_run

    model = ConductivityRegressor.load(Path(folder) / CONDUCTIVITY_DIR)
    return log_training_run(report, folder, model.feature_importances(), model.feature_labels_)


def pretrained_weights(folder: Path) -> Path | None:
    """The pretrained graph-network weights of a model folder, or None when it has none."""
    from predictor.estimators.graph.pretrain import WEIGHTS

    path = Path(folder) / PRETRAINED_DIR / WEIGHTS
    return path if path.is_file() else None


def _train_into(output_dir: Path, config: TrainConfig, data, summary: DataSummary, progress: bool,
                pretrained: Path | None = None, properties: tuple[str, ...] = PROPERTIES,
                start: Path | None = None, user: pd.DataFrame | None = None) -> TrainingReport:
    """Fit and evaluate the models of ``properties``, writing them and ``metrics.json`` into ``output_dir``.

    A window model whose labels, settings and libraries are those of the model folder ``start``
    is copied from it instead (:func:`copy_if_unchanged`). ``user``: a lab's usable rows, whose
    Ea and window labels join those models' labels (its conductivities are in ``data``).
    """
    table = data.table
    report = TrainingReport(
        date=_dt.date.today().isoformat(),
        config={k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
        data=summary,
        rejected_rows=int(len(data.rejected)),
        properties=list(properties),
        versions=library_versions(),
        evaluation={},
    )
    model = labels = None
    if "conductivity" in properties:
        model, labels = train_conductivity(config, output_dir, data, report, progress)
    window_labels = load_window_labels(user) if "windows" in properties else None
    if "windows" in properties:
        train_windows(config, output_dir, report, window_labels, progress, start)
    if "activation" in properties:
        from predictor.training.activation import train_activation

        train_activation(config, output_dir, report, model, table, progress, user)
    if config.graph_family:
        train_graph_family(config, output_dir, report, table, labels, pretrained, progress, properties, start,
                           window_labels)
    report.default_families = write_default_families(config, output_dir)
    report.write(output_dir / METRICS_FILE)
    return report


def train_conductivity(config: TrainConfig, output_dir: Path, data, report: TrainingReport,
                       progress: bool = True) -> tuple[ConductivityRegressor, np.ndarray]:
    """Fit the conductivity model and its measured values; its grouped CV (and, with
    ``evaluate="full"``, the heavy benchmarks) into ``report``. The model and its training labels."""
    table = data.table
    if config.evaluate == "full":
        if "obelix" in set(table["source"]):
            evaluate_obelix(config, table, report, progress)
        evaluate_new_papers(config, table, output_dir, report, progress)

    if progress:
        log.info("fitting the conductivity model on all %d labels (its %d grouped folds are the held-out "
                 "evaluation) ...", len(table), config.cv_folds)
    model = config.make_model().set_params(progress=progress)
    labels = training_labels(table, config.censored_log10_sigma)
    model.fit(table["formula"].tolist(), labels, groups=table["group"])
    model.save(output_dir / CONDUCTIVITY_DIR)
    kernel = residual_kernel(model, table, labels)
    MeasuredValues.from_training_table(table, labels, kernel).save(output_dir / MEASURED_DIR)
    if kernel is not None and progress:
        log.info("  held-out errors of one paper's compositions: correlation %.2f, length %.2f (%d pairs)",
                 kernel.correlation, kernel.length, kernel.pairs)
    if model.held_out_ is not None:
        cv = grouped_cv_scores(model, table, labels)
        report.evaluation["grouped_cv"] = {k: v for k, v in cv.items() if k != "predictions"}
        if report.data.user_labels is not None:
            report.evaluation["your_labels_held_out"] = your_labels_held_out(table, labels, model.held_out_)
        cv["predictions"].to_csv(output_dir / GROUPED_CV_PREDICTIONS_FILE, index=False, float_format="%.4f")
        if progress:
            for name, m in (("all labels", cv["all"]), ("halide rows", cv.get("halides"))):
                if m:
                    log.info("  grouped CV by chemical system, %s: MAE %.3f, Spearman %.3f, 90%% coverage %.2f "
                             "(n=%d)", name, m["mae"], m["spearman"], m["coverage90"], m["n"])
    return model, labels


def residual_kernel(model, table: pd.DataFrame, labels: np.ndarray):
    """How the model's held-out errors at two compositions of one paper go together
    (:class:`predictor.prediction.anchoring.ResidualKernel`; None without held-out predictions)."""
    from predictor.prediction.anchoring import ResidualKernel, standardised_descriptors
    from predictor.composition import parse_formula
    from predictor.featurizers import CompositionFeaturizer

    if model.held_out_ is None:
        return None
    measured = ~table["censored"].to_numpy(bool)
    compositions = [parse_formula(f) for f in table["formula"][measured]]
    descriptors = standardised_descriptors(
        model.domain_, CompositionFeaturizer(tuple(model.feature_sets)).transform(compositions))
    dois = table["doi"].fillna("") if "doi" in table else pd.Series("", index=table.index)
    papers = [{p.strip().lower() for p in str(doi).split(";") if p.strip()} for doi in dois[measured]]
    residuals = labels[measured] - model.held_out_["mean"][measured]
    return ResidualKernel.fit(descriptors, residuals, model.held_out_["std"][measured], papers)


def your_labels_held_out(table: pd.DataFrame, labels: np.ndarray, held_out: dict) -> dict:
    """How well the models predict a lab's compositions without the lab's rows (log10 S/cm).

    The lab's rows form one calibration group (:data:`predictor.loaders.user_labels.USER_GROUP`),
    so one fold held them all out: its predictions are the leave-the-lab-out error.
    """
    from predictor.loaders.user_labels import USER_SOURCE

    mine = (table["source"] == USER_SOURCE).to_numpy()
    error = held_out["mean"][mine] - labels[mine]
    return {"n": int(mine.sum()), "mae": float(np.mean(np.abs(error))) if mine.any() else float("nan"),
            "rows": [{"formula": f, "measured": float(m), "held_out": float(p)}
                     for f, m, p in zip(table["formula"][mine], labels[mine], held_out["mean"][mine])]}


def evaluate_obelix(config: TrainConfig, table: pd.DataFrame, report: TrainingReport, progress: bool = True) -> None:
    """The OBELiX official split, trained on OBELiX train alone and with the other sources; adds it to ``report``."""
    if progress:
        log.info("OBELiX official split (train -> test) ...")
    for extra in (False, True):
        result = evaluate_obelix_split(config.make_model, table, config.censored_log10_sigma, extra_sources=extra)
        key = "obelix_split_with_extra_sources" if extra else "obelix_split_obelix_only"
        report.evaluation[key] = {k: v for k, v in result.items() if k != "predictions"}
        if progress:
            m = result["all"]
            log.info("  %s: MAE %.3f, R2 %.3f, Spearman %.3f, 90%% coverage %.2f",
                     key, m["mae"], m["r2"], m["spearman"], m["coverage90"])


def evaluate_new_papers(config: TrainConfig, table: pd.DataFrame, output_dir: Path, report: TrainingReport,
                        progress: bool = True) -> None:
    """Held-out halide papers (:mod:`predictor.training.held_out_papers`) for the conductivity model; adds them to ``report``."""
    from predictor.training.held_out_papers import PAPER_FOLDS, evaluate_held_out_papers, held_out_paper_metrics

    if progress:
        log.info("held-out halide papers (%d folds of papers) ...", PAPER_FOLDS)
    predictions = evaluate_held_out_papers(config.make_model, table, censored_log10_sigma=config.censored_log10_sigma,
                                           progress=progress)
    predictions.to_csv(output_dir / HELD_OUT_PAPERS_PREDICTIONS_FILE, index=False, float_format="%.4f")
    report.evaluation["held_out_papers"] = held_out_paper_metrics(predictions)
    if progress:
        m = report.evaluation["held_out_papers"]["all"]
        log.info("  %d compositions of %d papers: MAE %.3f, Spearman %.3f, within-paper Spearman %.2f, "
                 "90%% coverage %.2f", m["n"], m["papers"], m["mae"], m["spearman"],
                 m["median_within_paper_spearman"], m["coverage90"])


#: The package's code that fits and scores a model (relative to the package folder): part of every fingerprint.
FIT_CODE = ("estimators", "featurizers", "composition.py", "training/evaluation.py", "loaders")


def fingerprint(*parts) -> str:
    """A hash of what decides a fit: its labels (a DataFrame), settings, library versions and the
    package's fitting code (:data:`FIT_CODE`), so that a model is copied only when refitting it
    could not give another one."""
    import hashlib

    digest = hashlib.sha256(json.dumps(library_versions(), sort_keys=True).encode())
    package = Path(__file__).resolve().parents[1]
    for name in FIT_CODE:
        path = package / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(source.relative_to(package).as_posix().encode() + source.read_bytes())
    for part in parts:
        if isinstance(part, pd.DataFrame):
            digest.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        elif isinstance(part, Path):
            digest.update(part.read_bytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def copy_if_unchanged(start: Path | None, output_dir: Path, report: TrainingReport, key: str, print_: str,
                      folders: tuple[str, ...], sections: tuple[str, ...], progress: bool,
                      files: tuple[str, ...] = ()) -> bool:
    """Copy ``folders`` (and ``files``, when there) and the report ``sections`` from the model folder ``start`` when its
    ``fingerprints[key]`` equals ours: the same labels, settings and libraries give the same models
    (every fit is seeded and deterministic), so refitting them would only take time. A report
    that cannot be read is as good as none: the models are refitted."""
    from predictor.errors import ModelLoadError

    if start is None or not (start / METRICS_FILE).is_file():
        return False
    try:
        old = TrainingReport.read(start / METRICS_FILE)
    except ModelLoadError:
        return False
    if (old.fingerprints or {}).get(key) != report.fingerprints[key]:
        return False
    if not all((start / folder).is_dir() for folder in folders):
        return False
    for folder in folders:
        shutil.copytree(start / folder, output_dir / folder, symlinks=True)
    for name in files:
        if (start / name).is_file():
            shutil.copy2(start / name, output_dir / name)
    carry_sections(old, sections, report)
    if progress:
        log.info("%s: labels, settings and libraries unchanged since %s: copied, not refitted (the same models)",
                 print_, start)
    return True


def train_windows(config: TrainConfig, output_dir: Path, report: TrainingReport, labels: pd.DataFrame | None = None,
                  progress: bool = True, start: Path | None = None) -> None:
    """Evaluate and fit the window model on ``labels`` (default: :func:`load_window_labels`); adds its data
    summary and metrics to ``report``.

    Copied from ``start`` instead when nothing that decides it has changed (:func:`copy_if_unchanged`).
    """
    labels = load_window_labels() if labels is None else labels
    report.window_data = WindowData(
        rows=int(len(labels)),
        rows_per_source={k: int(v) for k, v in labels["source"].value_counts().items()},
        na_rows=int((labels["carrier"] == "Na").sum()),
    )
    report.fingerprints = {**(report.fingerprints or {}),
                           "windows": fingerprint(labels, config.window_params, config.cv_folds)}
    copied = copy_if_unchanged(start, output_dir, report, "windows", "window model", (WINDOWS_DIR,),
                               ("evaluation.window_grouped_cv", "evaluation.window_rules_cv"), progress,
                               (WINDOW_CV_PREDICTIONS_FILE,))
    if not copied:
        if progress:
            log.info("fitting the window model on all %d labels (its %d grouped folds are the held-out evaluation) "
                     "...", len(labels), config.cv_folds)
        model = config.make_window_model()
        model.fit(labels["formula"].tolist(), labels[["reduction_limit_V", "oxidation_limit_V"]],
                  groups=labels["group"])
        model.save(output_dir / WINDOWS_DIR)
        if all(m.held_out_ is not None for m in model.models_.values()):
            cv = window_cv_scores(model, labels)
            cv.pop("predictions").to_csv(output_dir / WINDOW_CV_PREDICTIONS_FILE, index=False, float_format="%.4f")
            report.evaluation["window_grouped_cv"] = cv
            if progress:
                for limit in ("reduction_limit_V", "oxidation_limit_V"):
                    m = cv[limit].get("published_halides", cv[limit]["all"])
                    log.info("  %s: MAE %.3f V on held-out published halide windows (n=%d), %.3f V on all (n=%d)",
                             limit, m["mae"], m["n"], cv[limit]["all"]["mae"], cv[limit]["all"]["n"])
    if config.evaluate == "full" and not (copied and "window_rules_cv" in report.evaluation):
        if progress:
            log.info("window model with the thermodynamic rules: grouped %d-fold CV (refitted) ...", config.cv_folds)
        rules = evaluate_window_cv(config.make_window_model, labels, config.cv_folds)
        rules.pop("predictions")
        report.evaluation["window_rules_cv"] = rules


def held_out_metrics(y, held_out: dict) -> dict:
    """Metrics of a model's grouped out-of-fold predictions (its ``held_out_``; target unit)."""
    from predictor.training.evaluation import regression_metrics

    return regression_metrics(np.asarray(y, dtype=float), held_out["mean"], held_out["lo"], held_out["hi"])


def train_graph_family(config: TrainConfig, output_dir: Path, report: TrainingReport, table: pd.DataFrame,
                       labels: np.ndarray | None, pretrained: Path | None = None, progress: bool = True,
                       properties: tuple[str, ...] = PROPERTIES, start: Path | None = None,
                       window_labels: pd.DataFrame | None = None) -> None:
    """Fit the graph-network conductivity and window models (of ``properties``) into ``families/graph-network/``.

    Their held-out metrics (the out-of-fold predictions of the members' grouped folds by
    chemical system, which also calibrate them) go into ``report.graph_family``.
    """
    family = {"split": "out-of-fold predictions of the members' grouped folds by chemical system"}
    report.graph_family = family
    if "conductivity" in properties:
        if progress:
            log.info("graph-network family: conductivity on %d labels%s ...", len(table),
                     " (pretrained descriptor)" if pretrained else "")
        model = config.make_graph_model(pretrained).set_params(progress=progress)
        model.fit(table["formula"].tolist(), labels, groups=table["group"])
        model.save(output_dir / family_part(GRAPH_NETWORK, CONDUCTIVITY_DIR))
        if model.held_out_ is not None:
            family["log10_sigma"] = held_out_metrics(labels, model.held_out_)
    if "windows" in properties:
        _train_graph_windows(config, output_dir, report, pretrained, progress, start, window_labels)
    if progress:
        for name in ("log10_sigma", "reduction_limit_V", "oxidation_limit_V"):
            if name in family:
                m = family[name]
                log.info("  graph network %s: out-of-fold MAE %.3f, 90%% coverage %.2f (n=%d)", name, m["mae"],
                         m["coverage90"], m["n"])


def _train_graph_windows(config: TrainConfig, output_dir: Path, report: TrainingReport, pretrained: Path | None,
                         progress: bool, start: Path | None, window_labels: pd.DataFrame | None = None) -> None:
    window_labels = load_window_labels() if window_labels is None else window_labels
    family = report.graph_family
    report.fingerprints = {**(report.fingerprints or {}), "graph_windows": fingerprint(
        window_labels, config.graph_params, pretrained if pretrained is not None else "no pretrained weights")}
    if copy_if_unchanged(start, output_dir, report, "graph_windows", "graph-network window model",
                         (family_part(GRAPH_NETWORK, WINDOWS_DIR),),
                         ("graph_family.reduction_limit_V", "graph_family.oxidation_limit_V"), progress):
        return
    if progress:
        log.info("graph-network family: window limits on %d labels ...", len(window_labels))
    windows = config.make_graph_window_model(pretrained)
    windows.fit(window_labels["formula"].tolist(), window_labels[["reduction_limit_V", "oxidation_limit_V"]],
                groups=window_labels["group"])
    for limit, limit_model in windows.models_.items():
        if limit_model.held_out_ is not None:
            family[limit] = held_out_metrics(window_labels[limit], limit_model.held_out_)
    windows.save(output_dir / family_part(GRAPH_NETWORK, WINDOWS_DIR))


def write_default_families(config: TrainConfig, output_dir: Path) -> DefaultFamilies:
    """Write ``families.json``: the family each property is predicted with by default, and why."""
    families = dict(config.default_families)
    if not config.graph_family:
        families = {part: GRADIENT_BOOSTED for part in families}
    shipped = families == TrainConfig().default_families
    document = DefaultFamilies(default=families,
                               reason=DEFAULT_FAMILIES_REASON if shipped else "chosen in the training configuration")
    (Path(output_dir) / FAMILIES_FILE).write_text(json.dumps(document.to_json_dict(), indent=1) + "\n")
    return document
