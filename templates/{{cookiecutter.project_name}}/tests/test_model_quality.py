"""Model-quality tests: the trained model must reach the threshold in params.yaml."""

import json
from pathlib import Path

import pytest

from {{ cookiecutter.package }}.evaluate import report, score
from {{ cookiecutter.package }}.params import load_params

ROOT = Path(__file__).resolve().parents[1]
METRICS = ROOT / "reports" / "metrics.json"


def test_model_reaches_the_quality_threshold() -> None:
    if not METRICS.is_file():
        pytest.skip("no reports/metrics.json: run `dvc repro` (or `dvc pull`) first")
    achieved = json.loads(METRICS.read_text(encoding="utf-8"))["test"]["roc_auc"]
    minimum = load_params(ROOT / "params.yaml")["evaluate"]["min_roc_auc"]
    assert achieved >= minimum, (
        f"model quality below the threshold: test ROC AUC {achieved:.4f} is below "
        f"evaluate.min_roc_auc = {minimum} in params.yaml"
    )


def test_score_ranks_and_thresholds() -> None:
    metrics = score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], threshold=0.5)
    assert metrics["roc_auc"] == pytest.approx(0.75)
    assert metrics["precision"] == 1.0
    assert metrics["recall"] == 0.5


def test_report_states_the_verdict() -> None:
    metrics = score([0, 1], [0.2, 0.9], threshold=0.5)
    assert "passes" in report(metrics, minimum=0.9, rows=2)
    assert "FAILS" in report({**metrics, "roc_auc": 0.5}, minimum=0.9, rows=2)
