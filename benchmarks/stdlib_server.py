# The model server the template generated before issue 16 (the standard library's
# ThreadingHTTPServer), frozen here as the baseline of the service benchmark in
# run.py. Not part of any generated project.
"""Serve the trained model over HTTP: one command on a laptop and in the container.

    demo serve                  # http://127.0.0.1:8000
    curl -s http://127.0.0.1:8000/predict -H 'Content-Type: application/json' \\
         -d '{"records": [{"temperature": 61.2, "vibration": 0.71, ...}]}'
    {"failure_probability": [0.07]}

* ``GET /health`` answers ``{"status": "ok"}`` once the model is loaded (the
  Docker image's HEALTHCHECK calls it).
* ``POST /predict`` takes ``{"records": [...]}``, one object per row, with exactly
  the input columns of the model's MLflow signature (``GET /health`` lists them),
  and answers the probability of failure for each row.
* A malformed request gets a 4xx status and ``{"error": "..."}`` saying what to fix.

The model is the MLflow model the pipeline saves at ``models/model``. The server is
the standard library's threading HTTP server: small, fast to start, no extra
dependency. Put a reverse proxy in front of it for TLS or heavy traffic.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, Sequence

DEFAULT_MODEL = "models/model"
DEFAULT_PORT = 8000
# Bodies are read whole: refuse bigger ones rather than run out of memory.
MAX_BODY_BYTES = 10 * 1024 * 1024


class RequestError(Exception):
    """A client mistake: answered with ``status`` and a one-line message."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Predictor:
    """The model plus the input columns (and their types) of its MLflow signature."""

    def __init__(self, model_dir: Path) -> None:
        if not (model_dir / "MLmodel").is_file():
            raise FileNotFoundError(
                f"no MLflow model at {model_dir} (train one first: `dvc repro`)"
            )
        # Imported here so `--help` and the tests of other modules stay fast.
        import mlflow.sklearn
        from mlflow.models import Model

        signature = Model.load(str(model_dir)).signature
        if signature is None or signature.inputs is None:
            raise ValueError(f"the model at {model_dir} was saved without a signature")
        self.columns: dict[str, str] = {
            str(spec.name): str(spec.type.name) for spec in signature.inputs.inputs
        }
        self.model = mlflow.sklearn.load_model(str(model_dir))
        if not hasattr(self.model, "predict_proba"):
            raise ValueError(f"the model at {model_dir} cannot predict probabilities")
        classes = list(self.model.classes_)
        # The probability of the positive class (1 = failure; else the last class).
        self.positive = classes.index(1) if 1 in classes else len(classes) - 1

    def predict(self, records: list[dict[str, Any]]) -> list[float]:
        import pandas as pd

        frame = pd.DataFrame.from_records(records, columns=list(self.columns))
        probabilities = self.model.predict_proba(frame)[:, self.positive]
        return [float(p) for p in probabilities]


def parse_records(body: bytes, columns: dict[str, str]) -> list[dict[str, Any]]:
    """The rows of a ``/predict`` body, checked against the model's columns."""
    usage = 'expected {"records": [{"<column>": <value>, ...}, ...]}'
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {error}")
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        raise RequestError(HTTPStatus.BAD_REQUEST, usage)
    records = payload["records"]
    if not records:
        raise RequestError(HTTPStatus.BAD_REQUEST, '"records" is empty')
    for number, record in enumerate(records):
        if not isinstance(record, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, f"record {number}: {usage}")
        missing = [name for name in columns if name not in record]
        unknown = [name for name in record if name not in columns]
        if missing or unknown:
            problems = []
            if missing:
                problems.append("missing column(s): " + ", ".join(missing))
            if unknown:
                problems.append("unknown column(s): " + ", ".join(unknown))
            raise RequestError(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                f"record {number}: " + "; ".join(problems),
            )
        for name, kind in columns.items():
            if not _fits(record[name], kind):
                raise RequestError(
                    HTTPStatus.UNPROCESSABLE_ENTITY,
                    f"record {number}, column {name!r}: expected {kind}, "
                    f"got {json.dumps(record[name])}",
                )
    return records


def _fits(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    # bool is an int in Python, but `true` is no measurement.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and (kind not in ("integer", "long") or value == int(value))


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, predictor: Predictor, host: str, port: int) -> None:
        self.predictor = predictor
        super().__init__((host, port), Handler)


class Handler(BaseHTTPRequestHandler):
    server: ModelServer

    # do_GET/do_POST: the method names http.server dispatches to.
    def do_GET(self) -> None:
        if self.path != "/health":
            self._send(HTTPStatus.NOT_FOUND, {"error": "try GET /health or POST /predict"})
            return
        columns = list(self.server.predictor.columns)
        self._send(HTTPStatus.OK, {"status": "ok", "columns": columns})

    def do_POST(self) -> None:
        try:
            if self.path != "/predict":
                raise RequestError(HTTPStatus.NOT_FOUND, "try POST /predict")
            records = parse_records(self._body(), self.server.predictor.columns)
            result = self.server.predictor.predict(records)
        except RequestError as error:
            self._send(error.status, {"error": error.message})
            return
        except Exception as error:  # a bug, not the client's: say so, keep serving
            self.log_error("prediction failed: %r", error)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "prediction failed"})
            return
        self._send(HTTPStatus.OK, {"failure_probability": result})

    def _body(self) -> bytes:
        kind = self.headers.get("Content-Type", "").split(";")[0].strip()
        if kind != "application/json":
            raise RequestError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send Content-Type: application/json"
            )
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
        if length > MAX_BODY_BYTES:
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"body larger than {MAX_BODY_BYTES} bytes: send fewer records",
            )
        return self.rfile.read(length)

    def _send(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"MLflow model folder ({DEFAULT_MODEL})"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: all)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port")


def run(args: argparse.Namespace, prog: str = "serve") -> int:
    try:
        predictor = Predictor(Path(args.model))
        server = ModelServer(predictor, args.host, args.port)
    except (OSError, ValueError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    # In a container the server is process 1, which ignores SIGTERM unless it
    # handles it: without this, `docker stop` would wait and then kill it.
    signal.signal(signal.SIGTERM, _interrupt)
    port = server.server_address[1]
    print(f"serving {args.model} on http://{args.host}:{port}", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """`demo serve`: serve the trained model over HTTP."""
    parser = argparse.ArgumentParser(prog=prog, description="Serve the trained model over HTTP.")
    add_arguments(parser)
    return run(parser.parse_args(argv), parser.prog)


if __name__ == "__main__":
    raise SystemExit(main())
