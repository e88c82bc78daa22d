"""The MLflow UI in a real headless browser: the address the README gives (and ``predictor train``
prints) opens the experiment on its runs table, with the run's name and the compared metrics'
values on the page, nothing clicked.

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


def open_runs_table(page, base: str, experiment_id: str, run_name: str) -> None:
    """Open the address of :func:`predictor.training.tracking.runs_url`, wait for the run's row and close
    MLflow's assistant panel (it opens beside the table on a first visit)."""
    from predictor.training.tracking import runs_url

    page.goto(runs_url(base, experiment_id))
    page.get_by_role("grid").first.get_by_text(run_name, exact=True).first.wait_for()
    if page.get_by_text("MLflow Assistant").first.is_visible():
        page.get_by_role("button", name="Close").last.click()


@pytest.fixture()
def logged_run(tmp_path, monkeypatch):
    """One run logged through predictor.training.tracking into a fresh SQLite store."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from predictor.training.tracking import log_notebook_run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    figure, ax = plt.subplots()
    ax.plot([-8, -2], [-8, -2])
    metrics = {"grouped_cv": {"all": {"mae": 1.234, "spearman": 0.678, "coverage90": 0.901, "rmse": 2.345}}}
    run_id = log_notebook_run("ui check: quick run", {"n_estimators": 60}, metrics, {"parity.png": figure})
    plt.close(figure)
    return {"uri": uri, "run_id": run_id, "name": "ui check: quick run", "root": tmp_path}


def test_experiment_opens_on_runs_table_with_run_name_and_metric(logged_run):
    pytest.importorskip("playwright", reason="needs playwright: pip install -e '.[dev]'")
    from mlflow import MlflowClient

    from predictor.training.tracking import (COMPARED_METRICS, EXPERIMENT, EXPERIMENT_KIND, EXPERIMENT_KIND_TAG,
                                             RUNS_VIEW_TAG)

    experiment = MlflowClient(logged_run["uri"]).get_experiment_by_name(EXPERIMENT)
    assert experiment.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND == "custom_model_development"
    assert RUNS_VIEW_TAG in experiment.tags

    with mlflow_ui(logged_run["uri"], logged_run["root"] / "served-artifacts") as base, browser_page() as page:
        # why the README gives an address: the bare experiment address, kind tag or not, opens on
        # MLflow 3.17's GenAI overview (when this fails, MLflow reads the tag again: simplify the README)
        page.goto(f"{base}/#/experiments/{experiment.experiment_id}")
        page.wait_for_url("**/overview/**")

        open_runs_table(page, base, experiment.experiment_id, logged_run["name"])
        assert f"/experiments/{experiment.experiment_id}/runs" in page.url
        # the left bar of "Model training" (its model registry), not GenAI's (its overview)
        page.get_by_text("Model registry", exact=True).first.wait_for()
        assert not page.get_by_text("Overview", exact=True).is_visible()
        table = page.get_by_role("grid").first
        for metric, value in zip(COMPARED_METRICS, ("1.234", "0.678", "0.901")):
            table.get_by_role("columnheader", name=metric, exact=True).first.wait_for()
            table.get_by_role("gridcell", name=value, exact=True).wait_for()
        # a metric not compared stays out of the table
        assert not table.get_by_role("gridcell", name="2.345", exact=True).count()
        assert not page.get_by_text("Detect Issues").is_visible()


def save_screenshots(uri: str, folder: Path) -> None:
    """The README's two screenshots from a store with ``predictor train`` runs: the runs table with
    the compared metrics, and the newest training run's page with its plots."""
    from mlflow import MlflowClient

    from predictor.training.tracking import COMPARED_METRICS, EXPERIMENT

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    run = client.search_runs([experiment.experiment_id], "tags.evaluation LIKE '%CV%'", max_results=1)[0]
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        artifacts = Path(stack.enter_context(__import__("tempfile").TemporaryDirectory()))
        base = stack.enter_context(mlflow_ui(uri, artifacts))
        page = stack.enter_context(browser_page(width=1500, height=560))
        open_runs_table(page, base, experiment.experiment_id, run.info.run_name)
        page.get_by_role("columnheader", name=COMPARED_METRICS[0], exact=True).first.wait_for()
        page.mouse.move(0, 0)
        page.screenshot(path=str(folder / "mlflow-ui-runs.png"))
        page.set_viewport_size({"width": 1500, "height": 900})
        page.goto(f"{base}/#/experiments/{experiment.experiment_id}/runs/{run.info.run_id}/artifacts/plots/parity.png"
                  "?workflowType=machine_learning")  # as runs_url: the run page of "Model training", not GenAI's
        page.locator("img[src^='blob:']").first.wait_for()  # the plot, fetched and shown as a blob
        # the artifact's absolute path (file:// on this machine) stays out of a committed image
        page.evaluate("""() => { for (const e of document.querySelectorAll('body *'))
            if (!e.children.length && (e.textContent.includes('file://') || e.textContent.trim() === 'Path:'))
                e.style.visibility = 'hidden'; }""")
        page.wait_for_timeout(2000)
        page.screenshot(path=str(folder / "mlflow-ui-run-plots.png"))


if __name__ == "__main__":
    save_screenshots(sys.argv[1], Path(sys.argv[2]))
