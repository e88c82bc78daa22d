"""Issue 26, MLflow model and serving: the model folder carries data, never code, and ``predictor serve``
answers every bad request with a JSON error without traceback or server path."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml

from predictor.artifacts import check_pyfunc_folder, write_pyfunc_manifest
from predictor.errors import ModelLoadError
from predictor.interfaces.serving import load_model
from predictor.paths import REPO_ROOT, models_dir


# -- the MLflow model folder: data, never code ---------------------------------------------------

@pytest.fixture(scope="module")
def pyfunc_folder(shipped_mlflow_model) -> Path:
    """The MLflow model of the shipped models (:func:`predictor.interfaces.serving.save_model`)."""
    return shipped_mlflow_model


@pytest.fixture
def tampered(pyfunc_folder, tmp_path) -> Path:
    """A private copy of the MLflow model folder, to tamper with."""
    import shutil

    return Path(shutil.copytree(pyfunc_folder, tmp_path / "mlflow_model"))


def _marker_code(marker: Path) -> str:
    return f"\nfrom pathlib import Path as _P\n_P({str(marker)!r}).write_text('ran')\n"


def _edit_mlmodel(folder: Path, **settings) -> None:
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    mlmodel["flavors"]["python_function"].update(settings)
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))


def test_built_mlflow_model_carries_no_code(pyfunc_folder):
    folder = pyfunc_folder
    check_pyfunc_folder(folder)
    assert not [p for p in folder.rglob("*") if p.suffix in (".py", ".pyc", ".pkl")]
    settings = yaml.safe_load((folder / "MLmodel").read_text())["flavors"]["python_function"]
    assert settings["loader_module"] == "predictor.interfaces.serving" and settings["data"] == "data/models"
    assert not settings.get("code") and "model_code_path" not in settings and "python_model" not in settings
    assert "serving.py" not in json.loads((folder / "manifest.json").read_text())["files"]


def test_code_added_to_a_rehashed_folder_never_runs(tampered, tmp_path):
    """Python code put into the folder, with the manifest re-hashed over it, is refused and never imported."""
    import mlflow

    marker = tmp_path / "code-ran"
    for code in tampered.rglob("*.py"):  # the folder's own code, if it has any
        code.write_text(code.read_text() + _marker_code(marker))
    (tampered / "evil.py").write_text(_marker_code(marker))
    write_pyfunc_manifest(tampered)
    with pytest.raises(ModelLoadError, match=r"evil\.py is code"):
        check_pyfunc_folder(tampered)
    with pytest.raises(Exception, match=r"evil\.py is code"):
        mlflow.pyfunc.load_model(str(tampered))
    assert not marker.exists()


@pytest.mark.parametrize("how", ["code folder and loader module", "models from code"])
@pytest.mark.parametrize("rehash", [True, False], ids=["manifest re-hashed", "manifest removed"])
def test_mlmodel_naming_other_code_is_refused_before_mlflow_reads_it(tampered, tmp_path, how, rehash):
    from predictor.interfaces.serving import load_model

    marker = tmp_path / "code-ran"
    module = f"evil_{tmp_path.name.replace('-', '_')}"
    if how == "code folder and loader module":
        (tampered / "code").mkdir()
        (tampered / "code" / f"{module}.py").write_text(_marker_code(marker) + "def _load_pyfunc(path): return None\n")
        _edit_mlmodel(tampered, code="code", loader_module=module)
        reason = "names loader module"
    else:
        (tampered / f"{module}.py").write_text(_marker_code(marker))
        _edit_mlmodel(tampered, loader_module="mlflow.pyfunc.loaders.code_model", model_code_path=f"{module}.py")
        reason = "names loader module 'mlflow.pyfunc.loaders.code_model'"
    if rehash:
        write_pyfunc_manifest(tampered)
    else:
        (tampered / "manifest.json").unlink()
    for check in (check_pyfunc_folder, load_model):
        with pytest.raises(ModelLoadError, match=reason):
            check(tampered)
    _edit_mlmodel(tampered, loader_module="predictor.interfaces.serving")  # the right loader, still code beside it
    if rehash:
        write_pyfunc_manifest(tampered)
    with pytest.raises(ModelLoadError, match="code"):
        load_model(tampered)
    assert not marker.exists()


def test_load_model_verifies_the_folder_once(tampered, monkeypatch):
    """load_model checks MLmodel before MLflow reads it; the full check (hashes) runs once, in _load_pyfunc."""
    from predictor.interfaces import serving

    calls = []
    check = serving.check_pyfunc_folder
    monkeypatch.setattr(serving, "check_pyfunc_folder", lambda folder: (calls.append(folder), check(folder)))
    serving.load_model(tampered)
    assert len(calls) == 1
    with open(tampered / "conda.yaml", "a") as handle:
        handle.write("\n# TAMPERED\n")
    with pytest.raises(ModelLoadError, match="conda.yaml does not match its hash"):
        serving.load_model(tampered)


def test_pyfunc_model_from_the_loader_module_predicts_with_parameters(pyfunc_folder):
    from predictor.interfaces.serving import load_model

    model = load_model(pyfunc_folder)
    request = pd.DataFrame({"formula": ["Li3YCl6", "garbage"]})
    room, warm = model.predict(request), model.predict(request, params={"temperature_C": 60.0})
    assert warm.loc[0, "log10_sigma"] > room.loc[0, "log10_sigma"] and warm.loc[0, "temperature_C"] == 60.0
    assert "garbage" in room.loc[1, "error"] and room.loc[1, "log10_sigma"] is None
    graph = model.predict(request, params={"model_family": "graph-network"})
    assert graph.loc[0, "conductivity_model"] == graph.loc[0, "window_model"] == "graph-network"


def test_error_answer_drops_the_stack_trace_and_server_paths():
    from predictor.interfaces.serving import json_error

    body = json.dumps({"error_code": "BAD_REQUEST", "stack_trace": "Traceback ...",
                       "message": f"cannot read {REPO_ROOT}/models/x.csv\nTraceback (most recent call last):\n"
                                  f'  File "{sys.prefix}/lib/site.py", line 1'}).encode()
    error = json_error(400, body)
    assert set(error) == {"error_code", "message"} and error["error_code"] == "BAD_REQUEST"
    assert error["message"] == "cannot read <path>"
    assert json_error(415, b"The scoring server only supports UTF-8") == {
        "error_code": "UNSUPPORTED_MEDIA_TYPE", "message": "The scoring server only supports UTF-8"}
    assert json_error(404, b'{"detail": "Not Found"}')["message"] == "Not Found"


# -- predictor serve: every bad request gets a JSON error -----------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``predictor serve`` on a free port (the MLflow model built from the shipped models); yields its address."""
    log = tmp_path_factory.mktemp("serve") / "server.log"
    temporary = tmp_path_factory.mktemp("serve-tmp")  # where the server builds its MLflow model
    port = _free_port()
    with open(log, "wb") as output:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen([sys.executable, "-m", "predictor", "serve",
                                    "--port", str(port)], stdout=output, stderr=subprocess.STDOUT,
                                   cwd=tmp_path_factory.getbasetemp(), env={**os.environ, "TMPDIR": str(temporary)})
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{address}/ping", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"predictor serve did not start: {log.read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert not list(temporary.glob("predictor-serve-*")), "the built MLflow model is removed when the server stops"


def _request(url: str, body: bytes | None, content_type: str | None, method: str = "POST"):
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def _parquet_of(frame: pd.DataFrame) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def test_served_predictions_take_the_parameters(server):
    payload = {"dataframe_records": [{"formula": "Li3YCl6"}, {"formula": "garbage"}],
               "params": {"temperature_C": 60.0, "model_family": "graph-network"}}
    status, content_type, body = _request(f"{server}/invocations", json.dumps(payload).encode(), "application/json")
    assert status == 200 and content_type.startswith("application/json")
    rows = json.loads(body)["predictions"]
    assert rows[0]["temperature_C"] == 60.0 and rows[0]["conductivity_model"] == "graph-network"
    assert rows[1]["log10_sigma"] is None and rows[1]["error"]
    status, _, body = _request(f"{server}/invocations", _parquet_of(pd.DataFrame({"formula": ["Li3YCl6"]})),
                               "application/vnd.apache.parquet")
    assert status == 200 and json.loads(body)["predictions"][0]["formula"] == "Li3YCl6"


BAD_REQUESTS = {
    "malformed CSV": (b'formula,x\n"Li3YCl6,1\nLiCl,1,2,3\n', "text/csv"),
    "CSV without formulas": (b"smiles,x\nLiCl,1,2,3\n", "text/csv"),
    "malformed parquet": (b"PAR1 this is not parquet PAR1", "application/vnd.apache.parquet"),
    "parquet cut short": (_parquet_of(pd.DataFrame({"formula": ["Li3YCl6"] * 50}))[:-40],
                          "application/vnd.apache.parquet"),
    "parquet as x-parquet": (b"PAR1 this is not parquet PAR1", "application/x-parquet"),
    "deeply nested JSON": (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    "deeply nested records": (b'{"dataframe_records": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                              "application/json"),
    "not JSON": (b"Li3YCl6, Na3YCl6", "application/json"),
    "not UTF-8": (b'{"dataframe_records": [{"formula": "\xff\xfe"}]}', "application/json"),
    "a JSON list": (b'["Li3YCl6"]', "application/json"),
    "unknown JSON key": (b'{"formulas": ["Li3YCl6"]}', "application/json"),
    "bad parameter": (b'{"dataframe_records": [{"formula": "LiCl"}], "params": {"temperature_C": -300}}',
                      "application/json"),
    "wrong content type": (b"Li3YCl6", "text/plain"),
    "no content type": (b"Li3YCl6", None),
    "latin-1 charset": (b'{"dataframe_records": [{"formula": "LiCl"}]}', "application/json; charset=latin-1"),
}
# an absolute path of the server: a slash that starts a word, followed by another directory
_SERVER_PATH = re.compile(r"(?:^|[\s'\"(=])/[\w.-]+/")


def _assert_clean_json_error(status: int, content_type: str, body: str) -> dict:
    assert 400 <= status < 500, (status, body[:500])
    assert content_type.startswith("application/json"), content_type
    error = json.loads(body)
    assert isinstance(error, dict) and error.get("error_code") and error.get("message"), body[:500]
    for internal in ("Traceback", 'File "', "stack_trace", str(REPO_ROOT), sys.prefix, "site-packages",
                     os.path.expanduser("~") + "/"):
        assert internal not in body, (internal, body[:500])
    assert not _SERVER_PATH.search(body), body[:500]
    return error


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_request_gets_a_json_error_without_internals(server, name):
    body, content_type = BAD_REQUESTS[name]
    _assert_clean_json_error(*_request(f"{server}/invocations", body, content_type))


@pytest.mark.parametrize("method, path", [("GET", "/invocations"), ("POST", "/no-such-page"), ("DELETE", "/ping")])
def test_wrong_method_or_address_gets_a_json_error(server, method, path):
    body = b"{}" if method == "POST" else None
    _assert_clean_json_error(*_request(f"{server}{path}", body, "application/json", method=method))


def test_serve_refuses_a_model_folder_naming_other_code(tampered, tmp_path, capsys):
    from predictor.interfaces.cli import main

    marker = tmp_path / "code-ran"
    (tampered / "evil_serve.py").write_text(_marker_code(marker))
    _edit_mlmodel(tampered, loader_module="mlflow.pyfunc.loaders.code_model", model_code_path="evil_serve.py")
    write_pyfunc_manifest(tampered)
    assert main(["serve", "-m", str(tampered), "--port", str(_free_port())]) == 2
    assert "names loader module 'mlflow.pyfunc.loaders.code_model'" in capsys.readouterr().err
    assert not marker.exists()


# -- predictor serve: an address it cannot listen on is one line, exit 2, before the models load ---

@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_serve_port_out_of_range_is_refused_by_the_parser(port, capsys):
    from predictor.interfaces.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", f"--port={port}"])
    assert exit_.value.code == 2
    assert f"argument --port: {port!r} is not a port number (0 to 65535)" in capsys.readouterr().err


def test_serve_on_a_port_in_use_is_one_line_before_the_models_load(monkeypatch, capsys):
    import predictor.interfaces.serving
    from predictor.interfaces.cli import main

    def refuse(*args, **kwargs):
        raise AssertionError("the models were loaded before the port was checked")

    monkeypatch.setattr(predictor.interfaces.serving, "serve", refuse)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"predictor serve: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_serve_that_uvicorn_cannot_start_is_one_line_not_its_exit_status(monkeypatch, capsys):
    """uvicorn ends the process with sys.exit(3) when it cannot bind (the port taken after the check)."""
    import predictor.interfaces.serving
    from predictor.interfaces.cli import main

    monkeypatch.setattr(predictor.interfaces.serving, "serve", lambda *args, **kwargs: sys.exit(3))
    port = _free_port()
    assert main(["serve", "--port", str(port)]) == 2
    assert capsys.readouterr().err == (f"predictor serve: the server did not start on 127.0.0.1:{port} "
                                       "(the reason is logged above)\n")


# -- predictor serve --models: the MLflow model is built from a model folder, and removed after -----

def test_serve_builds_from_the_model_folder_given_and_says_which_option_fits(pyfunc_folder, monkeypatch, capsys):
    import predictor.interfaces.serving
    from predictor.interfaces.cli import main

    calls = []
    monkeypatch.setattr(predictor.interfaces.serving, "serve", lambda *args, **kwargs: calls.append((args, kwargs)))
    assert main(["serve", "--models", str(models_dir()), "--port", str(_free_port())]) == 0
    assert calls[0][0] == (None,) and calls[0][1]["models_folder"] == str(models_dir())
    with pytest.raises(SystemExit):  # one or the other
        main(["serve", "--models", str(models_dir()), "-m", str(pyfunc_folder)])
    monkeypatch.undo()
    assert main(["serve", "-m", str(models_dir()), "--port", str(_free_port())]) == 2
    assert f"is a model folder: serve it with --models {models_dir()}" in capsys.readouterr().err
    assert main(["serve", "--models", str(pyfunc_folder), "--port", str(_free_port())]) == 2
    assert f"is an MLflow model: serve it with -m {pyfunc_folder}" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not both"):
        predictor.interfaces.serving.serve(pyfunc_folder, models_folder=models_dir())


def test_an_mlflow_model_of_an_earlier_version_says_to_build_it_again(tampered):
    _edit_mlmodel(tampered, loader_module="predictor.serving")
    with pytest.raises(ModelLoadError, match="earlier version of predictor.*save_model.*--models"):
        load_model(tampered)


def test_save_model_interrupted_leaves_no_partial_folder(monkeypatch, tmp_path):
    import predictor.artifacts
    from predictor.interfaces.serving import save_model

    def full_disk(folder):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(predictor.artifacts, "write_pyfunc_manifest", full_disk)
    with pytest.raises(OSError, match="No space left"):
        save_model(models_dir(), tmp_path / "mlflow_model")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_serve_from_python_stopped_by_sigterm_removes_its_model(tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    port = _free_port()
    code = f"from predictor.interfaces.serving import serve; serve(port={port})"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "TMPDIR": str(temporary)})
    try:
        deadline = time.monotonic() + 120
        while not _answers(f"http://127.0.0.1:{port}/ping"):
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)
        assert list(temporary.glob("predictor-serve-*")), "the model is built in the temporary folder"
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert not list(temporary.glob("predictor-serve-*"))


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
        return True
    except OSError:
        return False
