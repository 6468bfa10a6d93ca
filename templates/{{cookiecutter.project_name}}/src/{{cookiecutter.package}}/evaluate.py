"""Evaluate the trained model on the test set: metrics, plot data, a figure and
the model-quality report (reports/model_quality.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from .contract import LABEL
from .scoring import failure_probabilities, load_model


def score(labels: Any, probabilities: Any, threshold: float) -> dict[str, float]:
    """Ranking metrics from probabilities; the others at the decision threshold."""
    predicted = (np.asarray(probabilities) >= threshold).astype(int)
    return {
        "roc_auc": float(roc_auc_score(labels, probabilities)),
        "average_precision": float(average_precision_score(labels, probabilities)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
    }


def curves(labels: Any, probabilities: Any) -> dict[str, pd.DataFrame]:
    """The ROC and precision-recall curves as tables (DVC draws them)."""
    fpr, tpr, _ = roc_curve(labels, probabilities)
    precision, recall, _ = precision_recall_curve(labels, probabilities)
    return {
        "roc.csv": pd.DataFrame({"fpr": fpr, "tpr": tpr}).round(5),
        "precision_recall.csv": pd.DataFrame(
            {"recall": recall, "precision": precision}
        ).round(5),
    }


def report(metrics: dict[str, float], minimum: float, rows: int) -> str:
    """The model-quality report in Markdown."""
    verdict = "passes" if metrics["roc_auc"] >= minimum else "FAILS"
    lines = [
        "# Model quality",
        "",
        f"Test set: {rows} rows. The model {verdict} the quality gate:",
        f"ROC AUC {metrics['roc_auc']:.3f}, minimum {minimum} "
        "(params.yaml `evaluate.min_roc_auc`, checked by tests/test_model_quality.py).",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value:.4f} |" for name, value in metrics.items()]
    return "\n".join(lines) + "\n"


def draw_roc(roc: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot(roc["fpr"], roc["tpr"], label="model")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve (test set)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str], prog: str) -> int:
    """The `evaluate` stage (params: evaluate)."""
    import argparse

    from .params import load_params

    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("model", type=Path, help="MLflow model folder")
    parser.add_argument("test", type=Path, help="test set (CSV)")
    parser.add_argument("reports", type=Path, help="reports folder")
    args = parser.parse_args(argv)
    settings = load_params()["evaluate"]
    test = pd.read_csv(args.test)
    probabilities = failure_probabilities(load_model(str(args.model)), test)
    metrics = score(test[LABEL], probabilities, float(settings["decision_threshold"]))
    (args.reports / "plots").mkdir(parents=True, exist_ok=True)
    (args.reports / "figures").mkdir(parents=True, exist_ok=True)
    tables = curves(test[LABEL], probabilities)
    for name, table in tables.items():
        table.to_csv(args.reports / "plots" / name, index=False)
    draw_roc(tables["roc.csv"], args.reports / "figures" / "roc.png")
    (args.reports / "metrics.json").write_text(
        json.dumps({"test": metrics}, indent=2) + "\n", encoding="utf-8"
    )
    (args.reports / "model_quality.md").write_text(
        report(metrics, float(settings["min_roc_auc"]), len(test)), encoding="utf-8"
    )
    print(f"test ROC AUC {metrics['roc_auc']:.3f}; reports in {args.reports}")
    return 0
