"""The model server answers predictions and explains malformed requests.

A tiny model is trained and saved here the way the pipeline saves its model (an
MLflow model with a signature), so these tests need no `dvc repro`.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from {{ cookiecutter.package }}.serve import ModelServer, Predictor, main

COLUMNS = ["temperature", "vibration"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 2)), columns=COLUMNS)
    labels = (frame["vibration"] > 0).astype(int)
    model = LogisticRegression().fit(frame, labels)
    path = tmp_path_factory.mktemp("serve") / "model"
    mlflow.sklearn.save_model(
        model,
        str(path),
        signature=infer_signature(frame, model.predict_proba(frame)[:, 1]),
        pip_requirements=[],  # skips the slow requirement inference
    )
    return path


@pytest.fixture(scope="module")
def url(model_dir: Path) -> Iterator[str]:
    server = ModelServer(Predictor(model_dir), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def call(
    url: str, body: bytes | None = None, kind: str = "application/json"
) -> tuple[int, Any]:
    """(status, JSON answer) of a GET, or of a POST when there is a body."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": kind})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_health_lists_the_model_columns(url: str) -> None:
    assert call(f"{url}/health") == (200, {"status": "ok", "columns": COLUMNS})


def test_prediction_is_a_probability_per_record(url: str) -> None:
    records = [
        {"temperature": 0.1, "vibration": 2.0},
        {"temperature": 0.1, "vibration": -2.0},
    ]
    status, answer = call(f"{url}/predict", json.dumps({"records": records}).encode())
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
    ],
)
def test_malformed_requests_get_a_4xx_that_says_why(
    url: str, body: bytes, status: int, message: str
) -> None:
    got, answer = call(f"{url}/predict", body)
    assert got == status
    assert message in answer["error"]


def test_wrong_content_type_and_path_are_refused(url: str) -> None:
    assert call(f"{url}/predict", b"{}", kind="text/plain")[0] == 415
    assert call(f"{url}/nowhere")[0] == 404


def test_missing_model_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--model", str(tmp_path / "absent")]) == 2
    assert "dvc repro" in capsys.readouterr().err
