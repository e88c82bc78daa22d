"""The MLflow UI in a real headless browser: the experiment opens on its runs table, with the run's
name and a metric value on the page.

Needs Debian's ``chromium`` package (``.ci/run`` installs it) and the ``playwright`` package of
the dev extra, which drives that Chromium (no browser download). Run as a script, this module also
renders the README's screenshots from a tracking store::

    python tests/test_mlflow_ui.py sqlite:///<store>/mlflow.db docs/
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path

import pytest

from test_mlflow import free_port, start, stop, wait_for

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# the metrics a user compares runs by: error, ranking, calibration of the 90 % interval
COMPARED_METRICS = ("grouped_cv.all.mae", "grouped_cv.all.spearman", "grouped_cv.all.coverage90")
UI_TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install chromium (Debian package)"),
]


@contextlib.contextmanager
def mlflow_ui(uri: str, artifacts: Path):
    """``mlflow ui`` on a free port of 127.0.0.1; yields its base URL."""
    port = free_port()
    server = start([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--default-artifact-root",
                    artifacts.as_uri(), "--host", "127.0.0.1", "--port", str(port)])
    try:
        wait_for(f"http://127.0.0.1:{port}/health", server)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server)


@contextlib.contextmanager
def browser_page(width: int = 1600, height: int = 800):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(UI_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def open_runs_table(page, base: str, experiment: str, run_name: str, metrics=COMPARED_METRICS) -> None:
    """What the README tells a user: choose "Model training" (MLflow 3 starts on its GenAI view and
    remembers the choice), open the experiment, wait for the run, add the compared metrics under Columns."""
    page.goto(f"{base}/#/")
    page.get_by_text("Model training", exact=True).click()
    page.get_by_role("link", name=experiment, exact=True).first.click()
    page.get_by_role("grid").first.get_by_text(run_name, exact=True).first.wait_for()
    close_assistant = page.get_by_role("button", name="Close")
    if page.get_by_text("MLflow Assistant").first.is_visible() and close_assistant.count():
        close_assistant.last.click()
    page.get_by_role("button", name="Columns").click()
    for metric in metrics:  # a tree of attributes, metrics, parameters and tags to tick
        page.get_by_role("dialog").get_by_title(metric, exact=True).click()
    page.keyboard.press("Escape")


@pytest.fixture()
def logged_run(tmp_path, monkeypatch):
    """One run logged through predictor.tracking into a fresh SQLite store."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from predictor.tracking import log_notebook_run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    figure, ax = plt.subplots()
    ax.plot([-8, -2], [-8, -2])
    metrics = {"grouped_cv": {"all": {"mae": 1.234, "spearman": 0.678, "coverage90": 0.901}}}
    run_id = log_notebook_run("ui check: quick run", {"n_estimators": 60}, metrics, {"parity.png": figure})
    plt.close(figure)
    return {"uri": uri, "run_id": run_id, "name": "ui check: quick run", "root": tmp_path}


def test_experiment_opens_on_runs_table_with_run_name_and_metric(logged_run):
    pytest.importorskip("playwright", reason="needs playwright: pip install -e '.[dev]'")
    from mlflow import MlflowClient

    from predictor.tracking import EXPERIMENT, EXPERIMENT_KIND, EXPERIMENT_KIND_TAG

    experiment = MlflowClient(logged_run["uri"]).get_experiment_by_name(EXPERIMENT)
    assert experiment.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND == "custom_model_development"

    with mlflow_ui(logged_run["uri"], logged_run["root"] / "served-artifacts") as base, browser_page() as page:
        open_runs_table(page, base, EXPERIMENT, logged_run["name"])
        assert f"/experiments/{experiment.experiment_id}/runs" in page.url
        table = page.get_by_role("grid").first
        table.get_by_role("columnheader", name="grouped_cv.all.mae", exact=True).first.wait_for()
        table.get_by_role("gridcell", name="1.234", exact=True).wait_for()
        assert not page.get_by_text("Detect Issues").is_visible()


def save_screenshots(uri: str, folder: Path) -> None:
    """The README's two screenshots from a store with ``predictor train`` runs: the runs table with
    the compared metrics, and the newest training run's page with its plots."""
    from mlflow import MlflowClient

    from predictor.tracking import EXPERIMENT

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    run = client.search_runs([experiment.experiment_id], "tags.evaluation LIKE '%CV%'", max_results=1)[0]
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        artifacts = Path(stack.enter_context(__import__("tempfile").TemporaryDirectory()))
        base = stack.enter_context(mlflow_ui(uri, artifacts))
        page = stack.enter_context(browser_page(width=1500, height=560))
        open_runs_table(page, base, EXPERIMENT, run.info.run_name)
        page.mouse.move(0, 0)
        page.screenshot(path=str(folder / "mlflow-ui-runs.png"))
        page.set_viewport_size({"width": 1500, "height": 900})
        page.goto(f"{base}/#/experiments/{experiment.experiment_id}/runs/{run.info.run_id}/artifacts/plots/parity.png")
        page.get_by_role("img").last.wait_for()
        page.wait_for_timeout(2000)
        page.screenshot(path=str(folder / "mlflow-ui-run-plots.png"))


if __name__ == "__main__":
    save_screenshots(sys.argv[1], Path(sys.argv[2]))
