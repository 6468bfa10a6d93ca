"""Train the failure classifier and save it as an MLflow model.

The model is saved under ``models/model`` with ``mlflow.sklearn.save_model``: an
MLflow model folder (``MLmodel``, the scikit-learn pipeline, its pinned requirements
and a signature naming the input columns). The pipeline starts with the features
(features.RollingMeans), so it takes raw readings: ``machine_id``, ``hour`` and the
sensors. Load it with ``mlflow.pyfunc.load_model("models/model")``: ``predict``
returns, for each reading, the probabilities of [no failure, failure].

The stage also writes the reference statistics of the training data
(``models/reference.json``), which the `drift` stage compares new data with.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from .contract import INPUTS, LABEL
from .drift import reference_stats
from .errors import UserError
from .features import RollingMeans

# The model's runtime, pinned like setup.cfg, is recorded with the model: MLflow
# need not infer it (slow), and a model server installs the same versions.
PIP_REQUIREMENTS = [
{%- for name in ("mlflow", "numpy", "pandas", "scikit-learn") %}
    "{{ name }}=={{ cookiecutter._pins[name] }}",
{%- endfor %}
]

# MLflow saves scikit-learn models with skops, which loads only the types it is told
# to trust: the trees of our own random forest and our own feature step.
SKOPS_TRUSTED_TYPES = [
    "sklearn.tree._tree.Tree",
    f"{RollingMeans.__module__}.{RollingMeans.__qualname__}",
]


def build_model(settings: dict[str, Any], window: int = 6) -> Pipeline:
    """Features, then the estimator params.yaml `train` describes (`model` picks the
    kind); ``window`` is params.yaml `features.window`."""
    kind = settings.get("model", "random_forest")
    seed = int(settings.get("seed", 0))
    classifier: ClassifierMixin
    if kind == "random_forest":
        classifier = RandomForestClassifier(
            n_estimators=int(settings["n_estimators"]),
            max_depth=int(settings["max_depth"]),
            min_samples_leaf=int(settings["min_samples_leaf"]),
            class_weight="balanced",  # failures are rare
            random_state=seed,
            n_jobs=1,
        )
    elif kind == "logistic_regression":
        classifier = LogisticRegression(class_weight="balanced", max_iter=1000)
    else:
        raise UserError(
            f"unknown train.model {kind!r}: use random_forest or logistic_regression"
        )
    return make_pipeline(RollingMeans(window), StandardScaler(), classifier)


def cross_validate(
    model: Pipeline, train: pd.DataFrame, folds: int
) -> dict[str, float]:
    """ROC AUC over folds that keep each machine's rows together."""
    scores = cross_val_score(
        model,
        train[INPUTS],
        train[LABEL],
        groups=train["machine_id"],
        cv=GroupKFold(n_splits=folds),
        scoring="roc_auc",
    )
    return {"roc_auc": float(np.mean(scores)), "roc_auc_std": float(np.std(scores))}


def fit(model: Pipeline, train: pd.DataFrame) -> Pipeline:
    return model.fit(train[INPUTS], train[LABEL])


def save(model: Pipeline, train: pd.DataFrame, folder: Path) -> None:
    """Save as an MLflow model whose pyfunc ``predict`` gives the probabilities."""
    import mlflow.sklearn  # slow to import: only this step needs it
    from mlflow.models import infer_signature

    readings = train[INPUTS]
    signature = infer_signature(readings, model.predict_proba(readings.head(5)))
    if folder.exists():  # MLflow refuses to save into an existing folder
        shutil.rmtree(folder)
    mlflow.sklearn.save_model(
        model,
        str(folder),
        signature=signature,
        pip_requirements=PIP_REQUIREMENTS,
        pyfunc_predict_fn="predict_proba",
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
    )


def main(argv: list[str], prog: str) -> int:
    """The `train` stage: fit on the training set, save the model and CV metrics."""
    import argparse

    from .params import load_params

    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("train", type=Path, help="training set (CSV)")
    parser.add_argument("model", type=Path, help="MLflow model folder to write")
    parser.add_argument("metrics", type=Path, help="cross-validation metrics (JSON)")
    parser.add_argument(
        "reference", type=Path, help="reference statistics of the training data (JSON)"
    )
    args = parser.parse_args(argv)
    params = load_params()
    settings = params["train"]
    train = pd.read_csv(args.train)
    model = build_model(settings, int(params["features"]["window"]))
    scores = cross_validate(model, train, int(settings["cv_folds"]))
    save(fit(model, train), train, args.model)
    args.metrics.parent.mkdir(parents=True, exist_ok=True)
    args.metrics.write_text(json.dumps({"cv": scores}, indent=2) + "\n", "utf-8")
    stats = reference_stats(train)
    args.reference.write_text(json.dumps(stats, indent=2) + "\n", "utf-8")
    print(f"cross-validated ROC AUC {scores['roc_auc']:.3f}; model in {args.model}")
    return 0
