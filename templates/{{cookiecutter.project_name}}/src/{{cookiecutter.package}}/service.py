"""The model service: a FastAPI application around the trained MLflow model.

Endpoints (the OpenAPI description is at ``/docs`` and ``/openapi.json``):

* ``POST /predict`` ``{"records": [{"machine_id": 3, "hour": 120, ...}, ...]}``
  answers ``{"failure_probability": [...], "model": "<version>"}``, one probability
  per record. Records are raw sensor readings: the model computes its features
  (rolling means per machine) itself, from the readings of the same machine in the
  request, so send each machine's last hours (params.yaml `features.window`). The
  request model is built from the model's MLflow signature (exactly its columns, with
  its types), and the readings must keep the data contract (contract.py): a value out
  of range gets a 422 that names the record and the column.
* ``GET /health``: the process is alive (Kubernetes' liveness probe).
* ``GET /ready``: the model is loaded and answers (readiness probe, HEALTHCHECK).
* ``GET /version``: model name, version (and registry alias) or run id, commit and
  training-data md5.
* ``GET /metrics``: Prometheus metrics (requests, latency, errors, predictions).

Every answer is JSON; errors are ``{"error": "...", "request_id": "..."}``.
Each request is logged as one JSON line with its request id (``X-Request-ID``).
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from starlette.exceptions import HTTPException

from . import __version__
from .guards import (
    ASGIApp,
    BodyLimit,
    Message,
    Receive,
    RequestError,
    Scope,
    Send,
    parse_json,
)
from .model_folder import URI, load_local, read_mlmodel, signature_columns

LOG = logging.getLogger("{{ cookiecutter.package }}.service")
ENV_PREFIX = "SERVE_"
# The paths metrics are labelled with; anything else counts as "other", so a
# client probing random URLs cannot grow the metrics without bound.
ROUTES = (
    "/predict",
    "/health",
    "/ready",
    "/version",
    "/metrics",
    "/docs",
    "/openapi.json",
)
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
PYTHON_TYPES: dict[str, type] = {
    "double": float,
    "float": float,
    "long": int,
    "integer": int,
    "boolean": bool,
    "string": str,
}


@dataclass(frozen=True)
class Settings:
    """What the service needs; ``serve --help`` documents each as an option, and
    each can come from an environment variable ``SERVE_<NAME>`` (the Kubernetes
    ConfigMap sets them)."""

    model: str = "models/model"
    max_body_bytes: int = 1024 * 1024
    max_rows: int = 1000
    max_depth: int = 4  # {"records": [{...}]} is 3 levels deep
    max_magnitude: float = 1e12
    client_timeout: float = 10.0

    @classmethod
    def from_env(cls) -> Settings:
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = os.environ.get(ENV_PREFIX + field.name.upper())
            if raw is not None:
                kind = type(getattr(cls, field.name))
                values[field.name] = kind(float(raw)) if kind is int else kind(raw)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        return {
            ENV_PREFIX + f.name.upper(): str(getattr(self, f.name))
            for f in fields(self)
        }


# --- the model ----------------------------------------------------------------------


def locate(source: str) -> str:
    """Check cheaply that ``source`` can be a model, before anything slow is imported.

    A folder must hold an ``MLmodel`` file. A URI MLflow resolves
    (``models:/name@champion``, ``runs:/<id>/model``) is checked when it loads.
    """
    if URI.match(source):
        return source
    if not (Path(source) / "MLmodel").is_file():
        raise ValueError(f"no MLflow model at {source} (train one first: `dvc repro`)")
    return source


class Predictor:
    """The model, its signature's input columns (and types), and where it came from.

    The folder is read by model_folder.py, as the `evaluate` and `predict`
    stages read it: no MLflow import for a local model (seconds of start-up); a URI
    is downloaded by MLflow first.
    """

    def __init__(self, source: str) -> None:
        folder = _local_copy(locate(source))
        meta = read_mlmodel(folder)
        columns = signature_columns(meta)
        if not columns:
            raise ValueError(f"the model at {source} was saved without a signature")
        self.columns: dict[str, str] = columns
        self.model = load_local(folder, meta)
        if not hasattr(self.model, "predict_proba"):
            raise ValueError(f"the model at {source} cannot predict probabilities")
        classes = list(self.model.classes_)
        # The probability of the positive class (1 = failure; else the last class).
        self.positive = classes.index(1) if 1 in classes else len(classes) - 1
        self.info = _model_info(source, meta)
        from .contract import FIELDS, schema

        # The model's columns the data contract describes; its schema is built now
        # (pandera imported), so the first request is as fast as the others.
        self.contract = tuple(name for name in self.columns if name in FIELDS)
        if self.contract:
            schema(self.contract)

    def check(self, records: list[dict[str, Any]]) -> str | None:
        """The first broken rule of the data contract, as one line; None if valid."""
        if not self.contract:
            return None
        import pandas as pd

        from .contract import violations

        frame = pd.DataFrame.from_records(records, columns=list(self.columns))
        for found in violations(frame, self.contract):
            where = f"record {found.row}, " if found.row is not None else ""
            return f"{where}{found} (the data contract)"
        return None

    def predict(self, records: list[dict[str, Any]]) -> list[float]:
        import pandas as pd

        frame = pd.DataFrame.from_records(records, columns=list(self.columns))
        probabilities = self.model.predict_proba(frame)[:, self.positive]
        return [float(p) for p in probabilities]


def _local_copy(source: str) -> Path:
    """A local folder with the model: the path itself, or MLflow's download of a URI
    such as ``models:/<name>@champion`` from the project's tracking store (the one
    the pipeline logs to; MLFLOW_TRACKING_URI names another)."""
    if ":/" not in source:
        return Path(source)
    import mlflow.artifacts

    from .tracking import connect

    connect()

    target = tempfile.mkdtemp(prefix="model-")
    return Path(
        mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=target)
    )


def _model_info(source: str, meta: dict[str, Any]) -> dict[str, Any]:
    """The model's identity, as /version and the logs show it: for a registered
    model its name, version, the alias it was loaded by and its lineage tags."""
    name, version, alias = "{{ cookiecutter.project_name }}", None, None
    lineage: dict[str, str] = {}
    registered = re.match(r"^models:/([^/@]+)(?:([/@])(.+))?$", source)
    if registered:
        name, version = registered.group(1), registered.group(3)
        if registered.group(2) == "@":
            alias = version
        if alias or (version or "").isdigit():  # not models:/<name>/latest
            from mlflow import MlflowClient

            client = MlflowClient()  # _local_copy connected to the store
            found = (
                client.get_model_version_by_alias(name, str(alias))
                if alias
                else client.get_model_version(name, str(version))
            )
            version, lineage = str(found.version), dict(found.tags)
    return {
        "source": source,
        "name": name,
        "version": version,
        "alias": alias,
        "lineage": lineage,
        "run_id": meta.get("run_id"),
        "uuid": meta.get("model_uuid"),
        "created": meta.get("utc_time_created"),
    }


def _commit() -> str | None:
    """The commit the service runs: the image's GIT_COMMIT, else the checkout's HEAD."""
    if os.environ.get("GIT_COMMIT"):
        return os.environ["GIT_COMMIT"]
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _data_md5(model: str, lock: Path = Path("dvc.lock")) -> dict[str, str]:
    """md5 of the data the model was trained on, from the dvc.lock stage that wrote it
    (in the image, which has no dvc.lock, from SERVE_DATA_MD5 that CI passes)."""
    import yaml

    if os.environ.get("SERVE_DATA_MD5"):
        return {"dvc.lock": os.environ["SERVE_DATA_MD5"]}

    try:
        # libyaml's safe loader when PyYAML has it: 8x faster on a dvc.lock
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        stages = yaml.load(lock.read_text(encoding="utf-8"), Loader=loader)["stages"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return {}
    wanted = Path(model).resolve()
    for stage in stages.values():
        outs = [Path(out["path"]).resolve() for out in stage.get("outs", [])]
        if wanted in outs:
            return {
                dep["path"]: dep["md5"]
                for dep in stage.get("deps", [])
                if str(dep["path"]).startswith("data/") and "md5" in dep
            }
    return {}


# --- request and response models ---------------------------------------------------


def record_model(columns: dict[str, str], settings: Settings) -> type[BaseModel]:
    """One row: exactly the signature's columns, strictly typed, numbers bounded.

    The shape of a row; its values are then checked against the data contract
    (contract.py, ``Predictor.check``), so the server refuses what training never saw.
    """
    bound = settings.max_magnitude
    specs: dict[str, Any] = {}
    for name, kind in columns.items():
        python = PYTHON_TYPES.get(kind, float)
        if python in (int, float):
            specs[name] = (Annotated[python, Field(ge=-bound, le=bound)], ...)
        else:
            specs[name] = (python, ...)
    config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    record: type[BaseModel] = create_model("Record", __config__=config, **specs)
    return record


class PredictResponse(BaseModel):
    failure_probability: list[float]
    model: str


def describe(error: ValidationError, number: int, columns: dict[str, str]) -> str:
    """A pydantic error as one line that names the record and the column to fix."""
    problems = error.errors()
    missing = [str(p["loc"][0]) for p in problems if p["type"] == "missing"]
    unknown = [str(p["loc"][0]) for p in problems if p["type"] == "extra_forbidden"]
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing column(s): " + ", ".join(missing))
        if unknown:
            parts.append("unknown column(s): " + ", ".join(unknown))
        return f"record {number}: " + "; ".join(parts)
    first = problems[0]
    if not first["loc"]:
        return f"record {number}: expected an object of columns"
    column = str(first["loc"][0])
    got = json.dumps(first.get("input"))[:40]
    if first["type"] in ("greater_than_equal", "less_than_equal"):
        return f"record {number}, column {column!r}: {got} is out of range"
    kind = columns.get(column)
    return f"record {number}, column {column!r}: expected {kind}, got {got}"


# --- metrics and logs ---------------------------------------------------------------


class Metrics:
    """Prometheus metrics in the application's own registry (tests build several apps).

    With several workers set PROMETHEUS_MULTIPROC_DIR (``serve`` does): each worker
    writes its values there and ``/metrics`` adds them up.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered",
            ["method", "path", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer a request",
            ["method", "path"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.errors = Counter(
            "http_request_errors",
            "Requests answered with an error (kind: client 4xx, server 5xx)",
            ["path", "kind"],
            registry=self.registry,
        )
        self.predictions = Histogram(
            "model_failure_probability",
            "Distribution of the predicted failure probabilities",
            buckets=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0),
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            MultiProcessCollector(merged)
            return generate_latest(merged)
        return generate_latest(self.registry)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log collectors (Loki, CloudWatch, ...) parse."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RequestContext:
    """Outermost middleware: request id, one log line and the metrics of every request,
    including those the limits refuse before the application sees them."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope["path"] if scope["path"] in ROUTES else "other"
        method = scope["method"] if scope["method"] in METHODS else "other"
        status = 500
        started = time.perf_counter()

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(method, path, str(status)).inc()
            self.metrics.latency.labels(method, path).observe(elapsed)
            if status >= 400:
                kind = "server" if status >= 500 else "client"
                self.metrics.errors.labels(path, kind).inc()
            LOG.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": scope["method"][:16],
                        "path": scope["path"][:200],
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    }
                },
            )


# --- the application ----------------------------------------------------------------


def create_app(settings: Settings, predictor: Predictor | None = None) -> ASGIApp:
    """The ASGI application; the model is loaded at startup unless one is given."""
    metrics = Metrics()
    state: dict[str, Any] = {}

    def bind(model: Predictor) -> None:
        """The request model follows the loaded model's signature."""
        state["predictor"] = model
        state["record"] = record_model(model.columns, settings)

    if predictor is not None:
        bind(predictor)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if "predictor" not in state:
            started = time.perf_counter()
            bind(await run_in_threadpool(Predictor, settings.model))
            LOG.info(
                "model loaded",
                extra={
                    "fields": {
                        **state["predictor"].info,
                        "seconds": round(time.perf_counter() - started, 2),
                    }
                },
            )
        state["commit"] = await run_in_threadpool(_commit)
        state["data_md5"] = _data_md5(settings.model)
        if not gc.isenabled():  # `serve` turned it off for the start-up
            # What start-up made lives as long as the process: the collector never
            # needs to scan it again, so requests do not pay for it.
            gc.freeze()
            gc.enable()
        yield

    app = FastAPI(
        title="{{ cookiecutter.project_name }} model service",
        version=__version__,
        description="Failure probabilities of the trained model (docs/serving.md).",
        lifespan=lifespan,
    )

    def loaded() -> Predictor:
        found: Predictor | None = state.get("predictor")
        if found is None:
            raise HTTPException(503, "the model is not loaded yet")
        return found

    def error(
        request: Request, status: int, message: str, **headers: str
    ) -> JSONResponse:
        request_id = request.scope.get("state", {}).get("request_id")
        return JSONResponse(
            {"error": message, "request_id": request_id},
            status_code=status,
            headers=headers,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 404:
            message = f"no {request.url.path}: see /docs for the endpoints"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        return error(request, exc.status_code, message, **(exc.headers or {}))

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError) -> JSONResponse:
        return error(request, exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(request, 422, str(exc.errors()[:1]))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not the client's: logged with its traceback, answered without it.
        LOG.exception("request failed", extra={"fields": {"path": request.url.path}})
        return error(request, 500, "internal error: the log has the details")

    @app.get("/health", summary="The process is alive")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/ready",
        summary="The model is loaded",
        responses={503: {"description": "loading"}},
    )
    async def ready() -> dict[str, Any]:
        model = loaded()
        return {
            "status": "ready",
            "model": model.info["name"],
            "columns": list(model.columns),
        }

    @app.get("/version", summary="Which model, code and data answer")
    async def version() -> dict[str, Any]:
        return {
            "package": __version__,
            "model": loaded().info,
            "commit": state.get("commit"),
            "data_md5": state.get("data_md5", {}),
        }

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4")

    @app.post(
        "/predict",
        summary="Failure probability of each record",
        response_model=PredictResponse,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/PredictRequest"}
                    }
                },
            }
        },
    )
    async def predict(request: Request) -> PredictResponse:
        model = loaded()
        kind = request.headers.get("content-type", "").split(";")[0].strip()
        if kind != "application/json":
            raise RequestError(415, "send Content-Type: application/json")
        payload = parse_json(await request.body(), settings.max_depth)
        usage = 'expected {"records": [{"<column>": <value>, ...}, ...]}'
        if not isinstance(payload, dict) or not isinstance(
            payload.get("records"), list
        ):
            raise RequestError(400, usage)
        if set(payload) != {"records"}:
            raise RequestError(400, f"unknown field(s) beside records: {usage}")
        records = payload["records"]
        if not records:
            raise RequestError(400, '"records" is empty')
        if len(records) > settings.max_rows:
            raise RequestError(
                413, f"{len(records)} records: send at most {settings.max_rows}"
            )
        record: type[BaseModel] = state["record"]
        for number, row in enumerate(records):
            try:
                record.model_validate(row)
            except ValidationError as exc:
                raise RequestError(422, describe(exc, number, model.columns)) from None
        broken = await run_in_threadpool(model.check, records)
        if broken:
            raise RequestError(422, broken)
        probabilities = await run_in_threadpool(model.predict, records)
        for value in probabilities:
            if math.isfinite(value):
                metrics.predictions.observe(value)
        label = (
            model.info["version"] or model.info["run_id"] or model.info["uuid"] or ""
        )
        return PredictResponse(failure_probability=probabilities, model=str(label))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Record"] = state["record"].model_json_schema()
            components["PredictRequest"] = {
                "title": "PredictRequest",
                "type": "object",
                "properties": {
                    "records": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Record"},
                        "minItems": 1,
                        "maxItems": settings.max_rows,
                    }
                },
                "required": ["records"],
                "additionalProperties": False,
            }
            app.openapi_schema = schema
        return app.openapi_schema

    setattr(app, "openapi", openapi)  # FastAPI's documented way to extend the schema
    guarded = BodyLimit(app, settings.max_body_bytes, settings.client_timeout)
    return RequestContext(guarded, metrics)


def app_from_env() -> ASGIApp:
    """The uvicorn factory (``serve`` starts it; each worker process calls it)."""
    gc.disable()  # until the model is loaded (lifespan), as in serve.py
    configure_logging(os.environ.get("SERVE_LOG_LEVEL", "info"))
    return create_app(Settings.from_env())


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("{{ cookiecutter.package }}")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    # A library's warning (scikit-learn's, say) is a log record too: one JSON line,
    # never a bare traceback-style line that log collectors cannot parse.
    logging.captureWarnings(True)
    warned = logging.getLogger("py.warnings")
    warned.handlers[:] = [handler]
    warned.propagate = False
