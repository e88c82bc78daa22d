"""Every notebook runs top to bottom in small mode; committed notebooks carry no outputs."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_notebooks_exist():
    assert [n.name[:2] for n in NOTEBOOKS] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_outputs_are_stripped(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs: strip them"


def _output_text(notebook) -> str:
    return "\n".join(str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
                     for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.slow
def test_notebook_runs_in_small_mode(path, tmp_path, monkeypatch):
    """Run from the notebooks folder as Jupyter does, with the default output folder (in a
    temporary home): nothing lands in the checkout, retrained models land in the user's folder."""
    import matplotlib

    monkeypatch.setenv("MPLCONFIGDIR", matplotlib.get_cachedir())  # keep the font cache of the real home
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PREDICTOR_NOTEBOOK_OUTPUT", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("PREDICTOR_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    before = sorted(p.name for p in path.parent.iterdir())
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    assert sorted(p.name for p in path.parent.iterdir()) == before, "the notebook wrote into notebooks/"
    text = _output_text(notebook)
    assert "MLflow run" in text and "IProgress not found" not in text
    assert "INFO mlflow" not in text, "MLflow's INFO log lines reached the notebook"
    written = {p.name for p in (tmp_path / "home/.local/share/predictor/retrained_models").glob("*")}
    assert written == {"02": {"conductivity"}, "03": {"windows"}, "05": {"with-my-measurements"}}.get(
        path.name[:2], set())
