"""The model service answers predictions and explains every bad request in JSON.

A tiny model is trained and saved here the way the pipeline saves its model (an
MLflow model with a signature), so these tests need no `dvc repro`. The service
runs for real: uvicorn on 127.0.0.1, in a thread, with the limits of guards.py.
"""

from __future__ import annotations

import gc
import hashlib
import http.client
import json
import shutil
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any, Iterator

import pytest
import uvicorn
import yaml

from {{ cookiecutter.package }}.guards import GuardedH11, nesting_depth
from {{ cookiecutter.package }}.serve import main
from {{ cookiecutter.package }}.service import Predictor, Settings, create_app

COLUMNS = ["temperature", "vibration"]
# A short client timeout: the 408 test waits it out.
SETTINGS = Settings(max_body_bytes=4096, max_rows=5, client_timeout=0.25)


def save_tiny_model(path: Path) -> None:
    """A tiny model, saved by MLflow as the pipeline's is (signature, skops)."""
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    # readings inside the data contract's ranges (contract.py)
    frame = pd.DataFrame(rng.normal(size=(60, 2)) + [60, 2], columns=COLUMNS)
    labels = (frame["vibration"] > 2).astype(int)
    # newton-cholesky: 0.01 s on 60 rows, where the default lbfgs takes 0.3 s
    model = LogisticRegression(solver="newton-cholesky").fit(frame, labels)
    mlflow.sklearn.save_model(
        model,
        str(path),
        signature=infer_signature(frame, model.predict_proba(frame)[:, 1]),
        pip_requirements=[],  # skips the slow requirement inference
    )


@pytest.fixture(scope="module")
def model_dir(request: pytest.FixtureRequest) -> Path:
    """The tiny model, saved by MLflow itself once, then kept in pytest's cache
    (.pytest_cache): importing and running MLflow would cost seconds on every run.
    The cache key changes with this file and with the versions of MLflow,
    scikit-learn and skops, so the cached model is what a new save would write."""
    key = hashlib.sha256(Path(__file__).read_bytes())
    for package in ("mlflow", "scikit-learn", "skops"):
        key.update(f"{package}=={version(package)};".encode())
    cache = getattr(request.config, "cache", None)  # None with -p no:cacheprovider
    if cache is None:
        base = request.getfixturevalue("tmp_path_factory").mktemp("serve")
    else:
        base = cache.mkdir(f"serve-model-{key.hexdigest()[:16]}")
    path = base / "model"
    if not (path / "MLmodel").is_file():
        partial = Path(tempfile.mkdtemp(dir=base)) / "model"
        save_tiny_model(partial)
        try:
            partial.rename(path)  # whole or not at all, even with two runs at once
        except OSError:
            assert (path / "MLmodel").is_file()
        shutil.rmtree(partial.parent, ignore_errors=True)
    return path


@contextmanager
def serving(app: Any, **config: Any) -> Iterator[int]:
    """uvicorn on 127.0.0.1, in a thread, until the block ends: its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free, log_level="warning", **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.05)
        yield free
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def port(model_dir: Path) -> Iterator[int]:
    app = create_app(SETTINGS, Predictor(str(model_dir)))
    with serving(app, http=GuardedH11) as free:
        yield free


def call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """(status, JSON answer): every answer of the service is JSON."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        sent = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=body, headers=sent)
        answer = connection.getresponse()
        assert answer.getheader("Content-Type", "").startswith(
            ("application/json", "text/plain; version=0.0.4")
        )
        data = answer.read()
        kind = answer.getheader("Content-Type", "")
        return answer.status, json.loads(data) if "json" in kind else data.decode()
    finally:
        connection.close()


def records(*rows: dict[str, Any]) -> bytes:
    return json.dumps({"records": list(rows)}).encode()


def test_probes_and_version(port: int) -> None:
    assert call(port, "GET", "/health") == (200, {"status": "ok"})
    assert call(port, "GET", "/health?probe=1")[0] == 200
    status, ready = call(port, "GET", "/ready")
    assert status == 200 and ready["columns"] == COLUMNS
    status, version = call(port, "GET", "/version")
    assert status == 200 and version["model"]["uuid"]


def test_start_up_turns_the_garbage_collector_back_on(model_dir: Path) -> None:
    """`serve` starts with the collector off (faster); the service turns it back on
    once the model is loaded, with the start-up's objects frozen (never scanned)."""
    app = create_app(Settings(model=str(model_dir)))  # the model loads at startup
    gc.disable()
    try:
        with serving(app):
            assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_service_reads_the_model_as_mlflow_saved_it(model_dir: Path) -> None:
    # The service reads MLmodel itself (model_folder.py, no MLflow at start):
    # the signature's columns and types, the flavour's file and format.
    predictor = Predictor(str(model_dir))
    assert predictor.columns == {"temperature": "double", "vibration": "double"}
    assert predictor.info["uuid"] and predictor.info["created"]


def test_a_model_without_a_signature_is_refused(
    model_dir: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(model_dir, tmp_path / "model"))
    meta = yaml.safe_load((copy / "MLmodel").read_text())
    del meta["signature"]
    (copy / "MLmodel").write_text(yaml.safe_dump(meta))
    with pytest.raises(ValueError, match="without a signature"):
        Predictor(str(copy))


def test_prediction_is_a_probability_per_record(port: int) -> None:
    body = records(
        {"temperature": 60, "vibration": 4.0}, {"temperature": 60, "vibration": 0.1}
    )
    status, answer = call(port, "POST", "/predict", body)
    assert status == 200
    high, low = answer["failure_probability"]
    assert 0 <= low < 0.5 < high <= 1


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, '"records"'),
        (b'{"records": []}', 400, "empty"),
        (b'{"records": [{"temperature": 1}]}', 422, "missing column(s): vibration"),
        (
            b'{"records": [{"temperature": 1, "vibration": 1, "x": 1}]}',
            422,
            "unknown column(s): x",
        ),
        (
            b'{"records": [{"temperature": "hot", "vibration": 1}]}',
            422,
            "column 'temperature': expected double",
        ),
        (b'{"records": [{"temperature": 1e308, "vibration": 1}]}', 422, "out of range"),
        (b'{"records": [{"temperature": 1e999, "vibration": 1}]}', 422, "out of range"),
        (b'{"records": [{"temperature": NaN, "vibration": 1}]}', 422, "NaN"),
{%- if cookiecutter.example %}
        (  # the data contract (contract.py) bounds each reading
            b'{"records": [{"temperature": 60, "vibration": 1}, '
            b'{"temperature": 400, "vibration": 1}]}',
            422,
            "record 1, column 'temperature': 400.0 is out of range [0, 150]",
        ),
{%- endif %}
        (
            b'{"records": [{"temperature": ' + b"9" * 5000 + b', "vibration": 1}]}',
            413,
            "larger than 4096 bytes",
        ),
        (b'{"records": [{"temperature": ' + b"9" * 50 + b"}]}", 422, "50 digits"),
        (b"[" * 2000 + b"]" * 2000, 400, "nested deeper"),
        (records(*[{"temperature": 1, "vibration": 1}] * 6), 413, "at most 5"),
    ],
)
def test_bad_requests_get_a_json_4xx_that_says_why(
    port: int, body: bytes, status: int, message: str
) -> None:
    got, answer = call(port, "POST", "/predict", body)
    assert got == status, answer
    assert message in answer["error"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_wrong_methods_get_405(port: int, method: str) -> None:
    status, answer = call(port, method, "/predict")
    assert status == 405 and method in answer["error"]


def test_wrong_content_type_and_path_are_refused(port: int) -> None:
    assert (
        call(port, "POST", "/predict", b"{}", {"Content-Type": "text/plain"})[0] == 415
    )
    assert call(port, "GET", "/nowhere")[0] == 404


def test_negative_content_length_is_a_json_400(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
        answer = sock.recv(4096)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and "error" in json.loads(body)


def test_a_slow_body_times_out_with_408(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        answer = sock.recv(4096)  # the server answers after client_timeout
    assert answer.startswith(b"HTTP/1.1 408")


def test_metrics_count_requests(port: int) -> None:
    def count() -> float:
        text = call(port, "GET", "/metrics")[1]
        line = 'http_requests_total{method="GET",path="/version",status="200"}'
        found = [row.split()[-1] for row in text.splitlines() if row.startswith(line)]
        return float(found[0]) if found else 0.0

    before = count()
    for _ in range(3):
        call(port, "GET", "/version")
    assert count() == before + 3


def test_depth_counts_brackets_outside_strings() -> None:
    assert nesting_depth(b'{"a": [{"b": "[[[["}]}', 10) == 3


def test_openapi_describes_the_model_columns(port: int) -> None:
    status, schema = call(port, "GET", "/openapi.json")
    assert status == 200
    record = schema["components"]["schemas"]["Record"]
    assert list(record["properties"]) == COLUMNS


def test_missing_model_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--model", str(tmp_path / "absent")]) == 2
    assert "dvc repro" in capsys.readouterr().err


def test_a_bad_setting_in_the_environment_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # What Kubernetes injects for a Service named "serve" (enableServiceLinks).
    monkeypatch.setenv("SERVE_PORT", "tcp://10.0.0.1:80")
    with pytest.raises(SystemExit) as stopped:
        main([])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "SERVE_PORT='tcp://10.0.0.1:80' is not a valid int" in error
