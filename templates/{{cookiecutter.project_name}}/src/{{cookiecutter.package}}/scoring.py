"""Load the trained model, and the `predict` stage: batch scoring of new readings.

A model is named by a path or a URI string:

* ``models/model``: the MLflow model folder the `train` stage writes (DVC tracks it);
* ``models:/<name>@champion``, ``runs:/<run id>/model``: a model MLflow resolves
  (the registry; MLFLOW_TRACKING_URI, or the project's default store, says where).

params.yaml `predict.model` picks the model the stage scores with.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import UserError

URI = re.compile(r"^[a-z][a-z0-9+.-]*:/")
MLMODEL_MAX_BYTES = 1024 * 1024


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


def read_mlmodel(folder: Path) -> dict[str, Any]:
    """The ``MLmodel`` file of a local MLflow model folder: the one reader of it here
    (the stages and the service), so a model loads the same way everywhere."""
    import yaml

    meta_file = folder / "MLmodel"
    if not meta_file.is_file():
        raise UserError(f"no MLflow model at {folder} (train one first: dvc repro)")
    if meta_file.stat().st_size > MLMODEL_MAX_BYTES:  # a description, never data
        raise UserError(f"{meta_file} is larger than {MLMODEL_MAX_BYTES} bytes")
    try:
        meta = yaml.safe_load(meta_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UserError(f"{meta_file} is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise UserError(f"{meta_file} is no MLflow model description")
    return meta


def signature_columns(meta: dict[str, Any]) -> dict[str, str] | None:
    """The input columns of the model's signature, name -> MLflow type ("double",
    "long", ...), in order; None if the model was saved without a column signature.

    MLflow stores the signature's inputs as a JSON string inside ``MLmodel``.
    """
    import json

    inputs = (meta.get("signature") or {}).get("inputs")
    if not isinstance(inputs, str):
        return None
    try:
        specs = json.loads(inputs)
    except ValueError:
        return None
    if not isinstance(specs, list) or not all(
        isinstance(spec, dict) and isinstance(spec.get("name"), str) for spec in specs
    ):
        return None  # a tensor signature names no columns
    return {spec["name"]: str(spec.get("type", "double")) for spec in specs}


def load_local(folder: Path, meta: dict[str, Any]) -> Any:
    """The scikit-learn model of a local MLflow folder, as its ``MLmodel`` says."""
    flavor = (meta.get("flavors") or {}).get("sklearn")
    if not isinstance(flavor, dict) or "pickled_model" not in flavor:
        raise UserError(f"the model at {folder} is no scikit-learn MLflow model")
    path = folder / str(flavor["pickled_model"])
    kind = flavor.get("serialization_format", "pickle")
    if kind == "skops":  # loads only the types the model's MLmodel trusts
        import skops.io

        return skops.io.load(path, trusted=flavor.get("skops_trusted_types") or [])
    if kind in ("pickle", "cloudpickle"):  # like MLflow: only load models you trust
        import pickle

        with open(path, "rb") as fh:
            return pickle.load(fh)
    raise UserError(f"the model at {folder} is saved as {kind!r}, unknown here")


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
