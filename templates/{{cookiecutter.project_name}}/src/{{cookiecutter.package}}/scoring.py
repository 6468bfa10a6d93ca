"""Load the trained model, and the `predict` stage: batch scoring of new readings.

A model is named by a path or a URI string:

* ``models/model``: the MLflow model folder the `train` stage writes (DVC tracks it);
* ``models:/<name>@champion``, ``runs:/<run id>/model``: a model MLflow resolves
  (the registry; MLFLOW_TRACKING_URI, or the project's default store, says where).

params.yaml `predict.model` picks the model the stage scores with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import UserError
from .model_folder import URI, load_local, read_mlmodel


def load_model(source: str) -> Any:
    """The scikit-learn pipeline (raw readings -> probabilities) of an MLflow model.

    A local folder is read as MLflow's sklearn flavour describes it in ``MLmodel``
    (file and format), without importing MLflow: that import costs seconds in
    every stage that only scores, and in the service's start. A URI goes through
    MLflow itself.
    """
    if URI.match(source):
        import mlflow.sklearn

        from .tracking import load_env_file, tracking_uri

        load_env_file()
        mlflow.set_tracking_uri(tracking_uri())
        return mlflow.sklearn.load_model(source)
    return load_local(Path(source), read_mlmodel(Path(source)))


def failure_probabilities(model: Any, readings: Any) -> Any:
    """Column "failure" of the model's probabilities, for each reading."""
    from .contract import INPUTS

    classes = list(model.classes_)
    positive = classes.index(1) if 1 in classes else len(classes) - 1
    return model.predict_proba(readings[INPUTS])[:, positive]


def main(argv: list[str], prog: str) -> int:
    """The `predict` stage: score new readings (params: predict, evaluate)."""
    import argparse

    import pandas as pd

    from .contract import problems
    from .params import load_params

    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("data", type=Path, help="new readings (CSV)")
    parser.add_argument("output", type=Path, help="predictions to write (CSV)")
    parser.add_argument(
        "--model", help="model path or URI (default: params.yaml predict.model)"
    )
    args = parser.parse_args(argv)
    params = load_params()
    source = args.model or str(params["predict"]["model"])
    threshold = float(params["evaluate"]["decision_threshold"])
    if not args.data.is_file():
        raise UserError(f"{args.data} not found: run the pipeline first (dvc repro)")
    readings = pd.read_csv(args.data)
    found = problems(readings)
    if found:
        raise UserError(f"{args.data} breaks the data contract: {found[0]}")
    probabilities = failure_probabilities(load_model(source), readings)
    scored = readings[["machine_id", "hour"]].assign(
        failure_probability=probabilities.round(5),
        failure_predicted=(probabilities >= threshold).astype(int),
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    scored.to_csv(args.output, index=False)
    flagged = int(scored["failure_predicted"].sum())
    print(
        f"scored {len(scored)} readings with {source}: {flagged} predicted failure(s)"
    )
    return 0
