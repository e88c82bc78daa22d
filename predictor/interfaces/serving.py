"""The predictor as an MLflow ``pyfunc`` model, and a scoring server with clean error answers.

The MLflow model is built from a model folder when asked: :func:`save_model` writes it (``predictor
serve`` builds one from the shipped models in a temporary folder, a training run logs one to the
registry); nothing of it is stored beside the models. It carries data, never code: its ``MLmodel``
names this module of the installed package as ``loader_module``, and its data are copies of the
model parts. MLflow imports this module and calls :func:`_load_pyfunc`; nothing is pickled and no
file of the folder is run. It needs the ``predictor`` package installed (``--env-manager local``
serves from the current environment)::

    from predictor.interfaces.serving import save_model
    from predictor.paths import models_dir
    save_model(models_dir(), "my_mlflow_model")   # then: mlflow models serve -m my_mlflow_model --env-manager local

Input: a DataFrame with a ``formula`` column (or a list of formulas, or ``{"formula": [...]}``),
at most :data:`MAX_RECORDS` formulas per request; a larger request is refused before any
prediction starts (split it). Parameter (MLflow ``params``): ``temperature_C`` (°C, default 25),
the temperature of the conductivity columns; a temperature that is not a number, not finite or
at or below -273.15 °C is refused with a message naming it; ``model_family`` ("default", or one
of :data:`predictor.model_layout.MODEL_FAMILIES`, e.g. "graph-network"), the model family of
both properties (default: the folder's default per property).
Output: the columns of :meth:`predictor.Predictor.predict`, one row per input formula, as valid
JSON: a number that was not predicted is ``null`` (never ``NaN``), a row that could not be
predicted says why in ``error``.

What is verified, and when:

- :func:`load_model` (and ``predictor serve``) checks the folder's ``MLmodel`` and files
  *before* MLflow reads it (:func:`predictor.artifacts.check_pyfunc_holds_no_code`): any folder
  (also one without a manifest, such as a model downloaded from the registry) must name
  :data:`~predictor.model_layout.PYFUNC_LOADER` as its loader, no ``code``, ``model_code_path``
  or pickled model, and hold no Python file or pickle. MLflow then imports this module, whose
  :func:`_load_pyfunc` verifies the folder in full (:func:`predictor.artifacts.check_pyfunc_folder`:
  a folder written by :func:`save_model` must also match its ``manifest.json`` in every file) before the model
  parts, which are verified against their own manifests as they load.
- ``mlflow.pyfunc.load_model`` and ``mlflow models serve`` follow whatever ``MLmodel`` says. For
  an untouched ``MLmodel`` they import this module, whose :func:`_load_pyfunc` runs the checks
  above before loading the models. An ``MLmodel`` edited to name other code (a ``code:`` folder,
  another loader module) makes MLflow run that code before anything of this package is asked:
  load a folder you did not write with :func:`load_model`, or check it first with
  :func:`predictor.artifacts.check_pyfunc_folder`.
- ``predictor serve`` (:func:`serve`, :func:`scoring_app`) answers every bad request with a JSON
  ``{"error_code": ..., "message": ...}`` without traceback or server path (the details go to
  the server log). ``mlflow models serve`` answers a request the model refuses the same way,
  but a body MLflow cannot parse (malformed CSV or Parquet) gets MLflow's own answer, with a
  ``stack_trace`` of the server, and a deeply nested JSON body a plain-text 500.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
from http import HTTPStatus
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, INVALID_PARAMETER_VALUE

from predictor.artifacts import check_pyfunc_folder, check_pyfunc_holds_no_code, read_pyfunc_settings
from predictor.errors import ModelLoadError
from predictor.model_layout import MODEL_FAMILIES, MODEL_PARTS, PYFUNC_LOADER
from predictor.predictor import Predictor, formula_inputs

log = logging.getLogger(__name__)

#: The ``model_family`` parameter value that keeps the folder's default family per property.
DEFAULT_FAMILY = "default"
#: Most formulas one request may hold (about 10 s of prediction); larger requests are refused.
MAX_RECORDS = 10_000
#: A request the MLflow model shows as its example.
INPUT_EXAMPLE = pd.DataFrame({"formula": ["Li3YCl6", "Na3YCl6", "Li2ZrCl6"]})
#: Parameters of a request (MLflow ``params``), with their defaults: recorded in the model signature.
PARAMS_EXAMPLE = {"temperature_C": 25.0, "model_family": DEFAULT_FAMILY}
TEXT_COLUMNS = ("formula", "carrier", "reduced_formula", "anion_family", "conductivity_model",
                "window_reference", "window_model", "measured_refs", "domain_notes", "error", "temperature_note")


def formulas_from_input(model_input) -> list:
    """The list of formulas in whatever shape MLflow hands over.

    Raises
    ------
    TypeError, ValueError
        For an input without formulas (a table without a ``formula`` column, a dict without a
        ``formula`` key, bytes, a 2-D array).
    """
    if isinstance(model_input, dict):
        if "formula" not in model_input:
            raise ValueError(f"the input has no 'formula' key (keys: {', '.join(map(str, list(model_input)[:20]))})")
        model_input = model_input["formula"]
    return list(formula_inputs(model_input))


def table_for_serving(table: pd.DataFrame) -> pd.DataFrame:
    """Predictions with JSON-safe values: text never None, missing or non-finite numbers None (JSON null)."""
    table = table.copy()
    for column in table.columns:
        if column in TEXT_COLUMNS:
            table[column] = table[column].map(lambda v: "" if v is None else str(v))
        elif pd.api.types.is_float_dtype(table[column]):
            values = table[column].to_numpy(dtype=float)
            table[column] = pd.Series([float(v) if np.isfinite(v) else None for v in values], index=table.index,
                                      dtype=object)
    return table


class PredictorModel:
    """Conductivity and electrochemical window with uncertainties, for MLflow.

    ``predict(context, model_input, params)`` as an MLflow ``PythonModel``; MLflow itself calls
    the :class:`PyfuncModel` that :func:`_load_pyfunc` wraps around it.
    """

    def __init__(self, folder: str | Path | None = None):
        #: The model folder (the MLflow model's data), None when the predictors are given.
        self.folder = folder
        self.predictors = {} if folder is None else {DEFAULT_FAMILY: Predictor.load(folder)}

    def predictor_for(self, model_family) -> Predictor:
        """The predictor of a ``model_family`` parameter, loaded on first use.

        Raises
        ------
        ValueError
            For an unknown family; ModelLoadError when the folder has no models of it.
        """
        if model_family not in (DEFAULT_FAMILY, *MODEL_FAMILIES):
            raise ValueError(f"model_family={model_family!r} is not one of {', '.join((DEFAULT_FAMILY, *MODEL_FAMILIES))}")
        if model_family not in self.predictors:
            self.predictors[model_family] = Predictor.load(self.folder, model_family=model_family)
        return self.predictors[model_family]

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        try:
            formulas = formulas_from_input(model_input)
        except (TypeError, ValueError) as exc:
            raise MlflowException(f"malformed request: {exc}", error_code=INVALID_PARAMETER_VALUE) from None
        temperature_C = (params or {}).get("temperature_C", 25.0)
        try:
            predictor = self.predictor_for((params or {}).get("model_family", DEFAULT_FAMILY))
            temperature_C = predictor.check_temperature(temperature_C)
        except (TypeError, ValueError, ModelLoadError) as exc:
            raise MlflowException(f"bad parameter: {exc}", error_code=INVALID_PARAMETER_VALUE) from None
        if len(formulas) > MAX_RECORDS:
            raise MlflowException(f"{len(formulas)} records in one request, at most {MAX_RECORDS} are accepted: "
                                  "split the request", error_code=INVALID_PARAMETER_VALUE)
        try:
            table = predictor.predict(formulas, temperature_C=temperature_C)
        except Exception:  # noqa: BLE001 - logged in full here, reported without internals to the client
            log.exception("prediction failed")
            raise MlflowException("internal error while predicting (details in the server log)",
                                  error_code=INTERNAL_ERROR) from None
        return table_for_serving(table)


class PyfuncModel:
    """What ``mlflow.pyfunc.load_model`` wraps: ``predict(model_input, params)``."""

    def __init__(self, model: PredictorModel):
        self.model = model

    def predict(self, model_input, params=None) -> pd.DataFrame:
        return self.model.predict(None, model_input, params)


def _load_pyfunc(data_path: str) -> PyfuncModel:
    """MLflow's entry point (``loader_module``): the model of the folder whose data is ``data_path``.

    ``data_path`` is ``<MLflow model folder>/data/models`` (:data:`~predictor.model_layout.PYFUNC_DATA`,
    also in a model logged to the registry): the folder two levels up is verified (:func:`predictor.artifacts.check_pyfunc_folder`)
    before the model parts, which are verified as they load.

    Raises
    ------
    ModelLoadError
        Naming the file and the reason.
    """
    data = Path(data_path)
    folder = data.parents[1]
    check_pyfunc_folder(folder)
    named = read_pyfunc_settings(folder).get("data")
    if (folder / str(named)).resolve() != data.resolve():
        raise ModelLoadError(f"{data} is not the data that {folder / 'MLmodel'} names ({named!r})")
    return PyfuncModel(PredictorModel(data))


# -- the MLflow model of a model folder ----------------------------------------------------------

def signature():
    """The request parameters (:data:`PARAMS_EXAMPLE`) of the MLflow model, as its signature.

    Given explicitly: MLflow infers none for a model saved with a loader module, and without a
    parameter schema MLflow drops ``params``. No input schema: the input shapes
    :func:`formulas_from_input` accepts (and the error rows of non-formulas) stay as they are.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ParamSchema, ParamSpec

    specs = [ParamSpec(name, "string" if isinstance(value, str) else "double", value)
             for name, value in PARAMS_EXAMPLE.items()]
    return ModelSignature(params=ParamSchema(specs))


def pip_requirements() -> list[str]:
    """The packages the MLflow model needs: predictor (which brings its own) and mlflow, at the installed versions.

    Given explicitly: MLflow would otherwise load the model in a subprocess to see what it imports.
    """
    from predictor.artifacts import library_versions

    versions = library_versions(("predictor", "mlflow"))
    return [f"{name}=={versions[name]}" for name in ("predictor", "mlflow") if name in versions]


def staged_model_parts(models_folder: Path, into: Path) -> Path:
    """Copy the model parts of :data:`~predictor.model_layout.MODEL_PARTS` that ``models_folder`` holds
    (not its plots, CSV files or metrics) into ``into/models``: the data of an MLflow model."""
    models_folder, staged = Path(models_folder), Path(into) / "models"
    staged.mkdir(parents=True)
    for part in MODEL_PARTS:
        if (models_folder / part).is_dir():
            shutil.copytree(models_folder / part, staged / part)
        elif (models_folder / part).is_file():
            shutil.copy2(models_folder / part, staged / part)
    return staged


def save_model(models_folder: str | Path, path: str | Path) -> Path:
    """Write the MLflow model of a model folder into the new folder ``path``; returns ``path``.

    Data only: ``MLmodel`` names :data:`~predictor.model_layout.PYFUNC_LOADER` as loader module and
    the copied model parts as data; every other file is hashed in its ``manifest.json``. The model
    folder is verified first (it must load). ``mlflow.pyfunc.load_model(path)`` and ``mlflow models
    serve -m path --env-manager local`` read the result. Written under a temporary name and renamed
    when complete.

    Raises
    ------
    ModelLoadError
        When ``models_folder`` is not a loadable model folder.
    FileExistsError
        When ``path`` exists (a folder is never overwritten).
    """
    import mlflow

    from predictor.artifacts import write_pyfunc_manifest
    from predictor.training.tracking import quiet_mlflow

    Predictor.load(models_folder)  # a broken model folder is refused here, naming the file at fault
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists: give a new folder for the MLflow model")
    quiet_mlflow()
    partial = path.with_name(f".{path.name}.part-{os.getpid()}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            mlflow.pyfunc.save_model(path=str(partial), loader_module=PYFUNC_LOADER,
                                     data_path=str(staged_model_parts(models_folder, Path(tmp))),
                                     input_example=INPUT_EXAMPLE, signature=signature(),
                                     pip_requirements=pip_requirements())
        write_pyfunc_manifest(partial)
        partial.rename(path)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return path


def load_model(model_uri: str | Path):
    """``mlflow.pyfunc.load_model`` of the predictor's MLflow model, its folder verified first.

    Parameters
    ----------
    model_uri : str or Path
        A local MLflow model folder (written by :func:`save_model`) or an MLflow URI
        (``models:/halide-electrolyte-predictor/1``, ``runs:/<id>/predictor``), downloaded first
        from the tracking store of :func:`predictor.training.tracking.tracking_uri`.

    Raises
    ------
    ModelLoadError
        When the folder names or holds code (:func:`predictor.artifacts.check_pyfunc_holds_no_code`):
        MLflow never reads it then, so no code it names runs; or when it does not match its
        manifest (:func:`_load_pyfunc`, which MLflow calls).
    MlflowException
        When a URI names no model of the tracking store.
    """
    import mlflow

    folder = Path(model_uri)
    if not folder.is_dir():
        if "://" not in str(model_uri) and not str(model_uri).startswith(("models:", "runs:")):
            raise ModelLoadError(f"MLflow model folder {folder} does not exist")
        from predictor.training.tracking import tracking_uri

        folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=str(model_uri), tracking_uri=tracking_uri()))
    check_pyfunc_holds_no_code(folder)  # MLmodel, before MLflow reads it; the rest in _load_pyfunc
    return mlflow.pyfunc.load_model(str(folder))


# -- scoring server ------------------------------------------------------------------------------

#: Characters of an error message sent to a client; longer messages (echoing a large request) are cut.
MAX_MESSAGE = 1000
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*File \"", re.MULTILINE)
# an absolute path: a slash not inside a word, a URL or a chemical notation such as Li+/Li or S/cm
_ABSOLUTE_PATH = re.compile(r"(?<![\w.+:/-])/[^\s'\"<>]+")


def public_message(text: str) -> str:
    """An error message fit for a client: no traceback, no path of the server, at most :data:`MAX_MESSAGE` characters."""
    text = _TRACEBACK.split(str(text), maxsplit=1)[0]
    text = _ABSOLUTE_PATH.sub("<path>", text).strip()
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def json_error(status: int, body: bytes) -> dict:
    """The ``{"error_code", "message"}`` answer of an error response of the scoring app.

    MLflow's errors are JSON with ``error_code``, ``message`` and perhaps ``stack_trace`` (dropped);
    FastAPI's are ``{"detail": ...}``; others are plain text.
    """
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        payload = None
    try:
        code, phrase = HTTPStatus(status).name, HTTPStatus(status).phrase
    except ValueError:
        code, phrase = "ERROR", f"error {status}"
    if isinstance(payload, dict) and ("message" in payload or "detail" in payload):
        message = payload.get("message", payload.get("detail"))
        code = str(payload.get("error_code") or code)
    else:
        message = body.decode("utf-8", errors="replace")
    if not isinstance(message, str):
        message = json.dumps(message)
    return {"error_code": code, "message": public_message(message) or phrase}


class JsonErrors:
    """ASGI middleware: every error answer of ``app`` becomes :func:`json_error` JSON.

    A response with status 400 or more is held back and rewritten; an exception that escapes
    ``app`` is logged in full and answered with a 500 (a ``RecursionError``, a request nested
    too deeply to read, with a 400).
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held = {"status": None, "body": b"", "sent": False}

        async def hold_errors(message):
            if message["type"] == "http.response.start":
                if message["status"] >= 400:
                    held["status"] = message["status"]
                    return
                held["sent"] = True
            elif message["type"] == "http.response.body" and held["status"] is not None:
                held["body"] += message.get("body", b"")
                return
            await send(message)

        try:
            await self.app(scope, receive, hold_errors)
        except Exception as exc:  # noqa: BLE001 - logged in full here, answered without internals
            log.exception("request to %s failed", scope.get("path"))
            if held["sent"]:
                raise
            if isinstance(exc, RecursionError):
                status, error = 400, {"error_code": "BAD_REQUEST",
                                      "message": "the request body is nested too deeply to read"}
            else:
                status, error = 500, {"error_code": "INTERNAL_ERROR",
                                      "message": "internal error (details in the server log)"}
            await _send_json(send, status, error)
            return
        if held["status"] is not None:
            await _send_json(send, held["status"], json_error(held["status"], held["body"]))


async def _send_json(send, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def scoring_app(model_uri: str | Path):
    """MLflow's scoring app (``/invocations``, ``/ping``, ``/health``, ``/version``) for the
    model at ``model_uri``, loaded with :func:`load_model`, its error answers made JSON (:class:`JsonErrors`)."""
    from mlflow.pyfunc import scoring_server

    return JsonErrors(scoring_server.init(load_model(model_uri)))


def serve(model_uri: str | Path | None = None, host: str = "127.0.0.1", port: int = 5001,
          models_folder: str | Path | None = None) -> None:
    """Serve an MLflow model on ``host:port`` until interrupted (one process).

    ``model_uri``: an MLflow model folder or URI (see :func:`load_model`); None builds the MLflow
    model of ``models_folder`` (default: the shipped models) in a temporary folder, removed when
    the server stops (Ctrl-C or SIGTERM).
    """
    import uvicorn

    if model_uri is not None and models_folder is not None:
        raise ValueError("give model_uri (an MLflow model) or models_folder (a model folder), not both")
    if model_uri is not None:
        uvicorn.run(scoring_app(model_uri), host=host, port=port)
        return
    from predictor.paths import models_dir

    with _sigterm_as_interrupt(), tempfile.TemporaryDirectory(prefix="predictor-serve-") as tmp:
        folder = save_model(models_folder or models_dir(), Path(tmp) / "mlflow_model")
        uvicorn.run(scoring_app(folder), host=host, port=port)


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises KeyboardInterrupt meanwhile, so that the temporary model is removed: uvicorn
    re-raises the signal once it has shut down, and its default action would end Python at once.
    A handler already set (the command line's) is kept."""
    replace = (threading.current_thread() is threading.main_thread()
               and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
    if replace:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        if replace:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)
