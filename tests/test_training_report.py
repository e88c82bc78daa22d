"""The training report (``metrics.json``) as a typed object: read back and written again byte for byte."""

import itertools
import json

import pytest

from predictor.errors import ModelLoadError
from predictor.model_layout import METRICS_FILE
from predictor.paths import models_dir
from predictor.training.pipeline import PROPERTIES, PROPERTY_REPORT, carry_sections
from predictor.training.report import DataSummary, DefaultFamilies, Reused, TrainingReport

SHIPPED = models_dir() / METRICS_FILE


def test_the_shipped_report_reads_back_and_writes_byte_identical(tmp_path):
    report = TrainingReport.read(SHIPPED)
    assert isinstance(report.data, DataSummary) and report.data.rows == sum(report.data.rows_per_source.values())
    assert isinstance(report.default_families, DefaultFamilies)
    assert report.config["cv_folds"] == 5 and "grouped_cv" in report.evaluation
    assert report.reused is None and report.copied_sections == [] and report.mlflow_run_id is None
    report.write(tmp_path / METRICS_FILE)
    assert (tmp_path / METRICS_FILE).read_bytes() == SHIPPED.read_bytes()
    assert TrainingReport.from_json_dict(report.to_json_dict()) == report


def _old_merge(fresh: dict, old: dict, start: str, reused: list[str]) -> dict:
    """How ``train`` added the sections of the properties it did not retrain, when the report was a dict."""
    carried = {"reused": {"from": start, "properties": list(reused)}}
    for prop in reused:
        for dotted in PROPERTY_REPORT[prop]:
            section, _, key = dotted.partition(".")
            if key and key in old.get(section, {}):
                carried.setdefault(section, {})[key] = old[section][key]
            elif not key and section in old:
                carried[section] = old[section]
    for section, values in carried.items():
        both = isinstance(values, dict) and isinstance(fresh.get(section), dict)
        fresh[section] = {**fresh[section], **values} if both else values
    return fresh


def _fresh(shipped: dict, trained: tuple[str, ...], graph_family: bool) -> dict:
    """The report a run that trained only ``trained`` writes before the others are copied (from the shipped one)."""
    own = {section for prop in trained for section in PROPERTY_REPORT[prop]}
    fresh = {}
    for section, value in shipped.items():
        if section == "properties":
            fresh[section] = list(trained)
        elif section == "evaluation":
            fresh[section] = {k: v for k, v in value.items() if f"evaluation.{k}" in own}
        elif section == "graph_family":
            if graph_family:  # written by every run that trains the family, its split at least
                fresh[section] = {k: v for k, v in value.items() if k == "split" or f"graph_family.{k}" in own}
        elif section == "fingerprints":
            if "windows" in trained:
                fresh[section] = value
        elif section in ("window_data", "activation_data", "activation_model"):
            if section in own:
                fresh[section] = value
        else:
            fresh[section] = value
    return fresh


@pytest.mark.parametrize("graph_family", [True, False])
@pytest.mark.parametrize("trained", [t for n in (1, 2) for t in itertools.combinations(PROPERTIES, n)],
                         ids="+".join)
def test_a_partial_run_writes_what_the_dict_report_wrote(trained, graph_family):
    """``--property``: the copied metrics in the same places, the sections copied whole after ``reused``."""
    shipped = json.loads(SHIPPED.read_text())
    reused = [p for p in PROPERTIES if p not in trained]
    expected = _old_merge(_fresh(shipped, trained, graph_family), shipped, "/models", reused)

    report = TrainingReport.from_json_dict(_fresh(shipped, trained, graph_family))
    report.reused = Reused(source="/models", properties=reused)
    old = TrainingReport.from_json_dict(shipped)
    for prop in reused:
        carry_sections(old, PROPERTY_REPORT[prop], report)
    written = json.dumps(report.to_json_dict(), indent=2)
    assert written == json.dumps(expected, indent=2)
    assert json.dumps(TrainingReport.from_json_dict(json.loads(written)).to_json_dict(), indent=2) == written


def test_sections_that_are_none_are_not_written_and_older_entries_are_dropped():
    document = json.loads(SHIPPED.read_text())
    for section in ("properties", "window_data", "fingerprints", "activation_data", "activation_model",
                    "graph_family", "default_families"):
        del document[section]
    document["smoothing_cost"] = {"mae": 0.01}  # a section of an older version
    report = TrainingReport.from_json_dict(document)
    assert report.properties is None and report.window_data is None
    assert list(report.to_json_dict()) == ["date", "config", "data", "rejected_rows", "versions", "evaluation"]


def test_what_is_not_a_training_report_is_refused_naming_the_file(tmp_path):
    path = tmp_path / METRICS_FILE
    path.write_text(json.dumps({"date": "2026-12-07"}))
    with pytest.raises(ModelLoadError, match="metrics.json is not a training report"):
        TrainingReport.read(path)
    path.write_text("{")
    with pytest.raises(ModelLoadError, match="metrics.json is not a training report"):
        TrainingReport.read(path)
