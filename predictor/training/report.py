"""The training report: what ``predictor train`` did, written as ``metrics.json`` in the model folder.

:class:`TrainingReport` holds one attribute per top-level entry of ``metrics.json``, in the
file's order. Training fills it (:mod:`predictor.training.pipeline`,
:mod:`predictor.training.activation`), the model card and the MLflow run are written from it
(:mod:`predictor.training.model_card`, :mod:`predictor.training.tracking`), and a later run reads
the previous one back to copy the models that have not changed.

The sections with fixed entries (data summaries, the Ea model, the default families) are small
dataclasses below; the held-out metrics tables stay dicts, keyed as written (see
:func:`predictor.training.evaluation.regression_metrics` for one table's entries). Units: log10 S/cm
for conductivity, V for window limits, eV for activation energies.

``TrainingReport.read(path)`` then ``report.write(path)`` gives the file back byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


class Section:
    """A section of fixed entries: written as its fields, read back from them."""

    def to_json_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json_dict(cls, document: dict):
        """The section of its JSON entries; entries this version does not know (written by another) are dropped."""
        known = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in document.items() if name in known})


@dataclass
class DataSummary(Section):
    """The conductivity training labels (one label per composition, at room temperature)."""

    rows: int
    """Labels (compositions) trained on."""
    rows_per_source: dict[str, int]
    """Labels per source (``obelix``, ``curated``, ``liiondb``, ``user`` for a lab's own), most first."""
    halide_rows: int
    """Labels of halide-family compositions."""
    na_rows: int
    """Labels of Na conductors."""
    table_hash: str
    """Hash (16 hex digits) of the training table's formulas, labels and sources: its data version."""
    user_labels: str | None = None
    """The lab's labels file (its name) added with ``--labels``; None (not written) without one."""

    def to_json_dict(self) -> dict:
        document = asdict(self)
        if self.user_labels is None:
            del document["user_labels"]
        return document


@dataclass
class WindowData(Section):
    """The electrochemical-window training labels."""

    rows: int
    """Compositions with both window limits."""
    rows_per_source: dict[str, int]
    """Compositions per source (``thermodynamic``: generated from the Materials Project table,
    ``published``: published DFT windows)."""
    na_rows: int
    """Compositions of Na conductors."""


@dataclass
class ActivationData(Section):
    """The activation-energy (Ea) training labels and the checks of their consistency."""

    rows: int
    """Compositions with an Ea label."""
    reports: int
    """Ea reports the labels were made from (several reports of a composition give one label)."""
    reports_per_method: dict[str, int]
    """Reports per method (stated by the paper, or fitted to conductivities at several temperatures)."""
    rows_per_source: dict[str, int]
    """Labels per source."""
    halide_rows: int
    """Labels of halide-family compositions."""
    rejected: int
    """Multi-temperature series that gave no label (span too narrow or fitted Ea implausible)."""
    consistency_checked: int
    """Compositions whose reported Ea could be checked against their conductivities at two or more temperatures."""
    consistency_failed: list[dict]
    """The checked compositions disagreeing by more than 0.1 eV: ``formula``, ``doi``, ``difference_eV``."""


@dataclass
class ActivationModelSummary(Section):
    """What the saved Arrhenius model (Ea and sigma at other temperatures) was fitted with."""

    correlation: float
    """Correlation used between the errors of room-temperature log10 sigma and of Ea (0 when not estimated)."""
    correlation_estimate: float | None
    """That correlation as estimated from out-of-fold residuals; None (``null``) when it could not be."""
    correlation_pairs: int
    """Compositions with both out-of-fold residuals, the estimate's sample size."""
    label_temperature_range_C: list[float] | None
    """Temperature span (°C, low and high) over which most Ea labels were measured; None when not stated."""


@dataclass
class DefaultFamilies(Section):
    """The model family each property is predicted with by default: the content of ``families.json``."""

    default: dict[str, str]
    """Property (``conductivity``, ``windows``) -> family (``gradient-boosted``, ``graph-network``, ``average``)."""
    reason: str
    """Why these are the defaults (text)."""


@dataclass
class Reused:
    """Properties a run did not retrain (``--property``): their models and metrics were copied."""

    source: str
    """The model folder they were copied from (written as ``"from"``)."""
    properties: list[str]
    """The properties copied (``conductivity``, ``windows``, ``activation``)."""

    def to_json_dict(self) -> dict:
        return {"from": self.source, "properties": self.properties}

    @classmethod
    def from_json_dict(cls, document: dict) -> Reused:
        return cls(source=document["from"], properties=document["properties"])


#: The class of each section that is a dataclass (the others are written as they are).
_SECTION_TYPES = {"data": DataSummary, "window_data": WindowData, "activation_data": ActivationData,
                  "activation_model": ActivationModelSummary, "default_families": DefaultFamilies, "reused": Reused}
#: Attributes of the report that are not sections of ``metrics.json``.
_NOT_WRITTEN = ("copied_sections", "mlflow_run_id")


@dataclass(kw_only=True)
class TrainingReport:
    """The report of one training run (``metrics.json``): one attribute per section, in the file's order.

    A section that is None is not written (a run that did not train the windows has no
    ``window_data``). ``TrainingReport.read`` / ``write`` read and write the file;
    ``from_json_dict`` / ``to_json_dict`` convert from and to its JSON content.
    """

    date: str
    """The day of the training run, ISO 8601 (``YYYY-MM-DD``)."""
    config: dict
    """The run's settings: the fields of :class:`predictor.training.pipeline.TrainConfig` (tuples as
    lists), whose docstring gives each one's meaning and unit (``cv_folds``, ``censored_log10_sigma``
    in log10 S/cm, the ``*_params`` of each model, ``default_families``...). A dict, not a
    ``TrainConfig``: reports of older versions hold settings since removed."""
    data: DataSummary
    """The conductivity training labels."""
    rejected_rows: int
    """Conductivity source rows left out because their formulas could not be used."""
    properties: list[str] | None = None
    """The properties this run retrained (``conductivity``, ``windows``, ``activation``); None in
    reports written before a run could retrain some only (all were)."""
    versions: dict[str, str]
    """Library -> version of the run (``python``, ``predictor``, ``lightgbm``, ``scikit-learn``, ...)."""
    evaluation: dict[str, dict]
    """Held-out metrics, one table per evaluation. Conductivity (log10 S/cm): ``grouped_cv``,
    ``your_labels_held_out`` (with ``--labels``) and, with ``--evaluate full``, ``held_out_papers``,
    ``obelix_split_obelix_only``, ``obelix_split_with_extra_sources``. Window limits (V):
    ``window_grouped_cv`` and ``window_rules_cv`` (full). Activation energy (eV): ``activation_grouped_cv``
    and ``activation_leave_one_paper_out`` (full). A table's entries: ``n``, ``mae``, ``rmse``, ``r2``,
    ``spearman``, ``coverage90`` (fraction of labels in the 90 % interval), ``interval_width90``."""
    window_data: WindowData | None = None
    """The window labels (when the windows were trained or copied)."""
    fingerprints: dict[str, str] | None = None
    """Model part (``windows``, ``graph_windows``) -> hash of what decides its fit (labels, settings,
    library versions, fitting code; :func:`predictor.training.pipeline.fingerprint`): a later run
    with the same fingerprint copies the part instead of refitting it."""
    activation_data: ActivationData | None = None
    """The Ea labels (when the Ea model was trained or copied)."""
    activation_model: ActivationModelSummary | None = None
    """The saved Arrhenius model's error correlation and label temperatures."""
    graph_family: dict | None = None
    """The graph-network family's held-out metrics: ``split`` (how they were held out, text) and one
    table per target, ``log10_sigma`` (log10 S/cm), ``reduction_limit_V`` and ``oxidation_limit_V`` (V)."""
    default_families: DefaultFamilies | None = None
    """The family each property is predicted with by default (``families.json``)."""
    reused: Reused | None = None
    """What a run that retrained only some properties copied, and from where."""
    copied_sections: list[str] = field(default_factory=list)
    """Sections copied whole with ``reused`` (this run wrote nothing of them): ``metrics.json`` lists
    them after ``reused``, in this order. Not a section itself."""
    mlflow_run_id: str | None = None
    """The MLflow run the training was logged as (``train(track=True)``); None when not logged.
    Not written to ``metrics.json`` (the run is logged after the file is written)."""

    def to_json_dict(self) -> dict:
        """The content of ``metrics.json``: the sections that are not None, copied ones after ``reused``."""
        names = [f.name for f in fields(self) if f.name not in _NOT_WRITTEN]
        ordered = [name for name in names if name not in self.copied_sections] + list(self.copied_sections)
        document = {}
        for name in ordered:
            value = getattr(self, name)
            if value is not None:
                document[name] = value.to_json_dict() if name in _SECTION_TYPES else value
        return document

    @classmethod
    def from_json_dict(cls, document: dict) -> TrainingReport:
        """The report of the content of a ``metrics.json``; entries of older versions no longer written are dropped.

        Raises KeyError or TypeError when a section every report has is missing or malformed.
        """
        names = {f.name for f in fields(cls)} - set(_NOT_WRITTEN)
        sections = {}
        for name in names & set(document):
            value = document[name]
            if name in _SECTION_TYPES and value is not None:
                value = _SECTION_TYPES[name].from_json_dict(value)
            sections[name] = value
        keys = list(document)
        copied = keys[keys.index("reused") + 1:] if "reused" in document else []
        return cls(**sections, copied_sections=[name for name in copied if name in names])

    def write(self, path: str | Path) -> None:
        """Write the report as JSON (indented by 2, NaN for a metric that could not be computed)."""
        Path(path).write_text(json.dumps(self.to_json_dict(), indent=2) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> TrainingReport:
        """The report of a ``metrics.json``.

        Raises
        ------
        predictor.errors.ModelLoadError
            When the file is missing, is not JSON or lacks a section every report has.
        """
        from predictor.artifacts import read_json
        from predictor.errors import ModelLoadError

        document = read_json(Path(path), what="a training report", allow_nan=True)
        try:
            return cls.from_json_dict(document)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ModelLoadError(f"{path} is not a training report ({type(exc).__name__}: {exc})") from None
