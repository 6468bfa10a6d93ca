"""Read a local MLflow model folder without importing MLflow.

MLflow writes a model as a folder: ``MLmodel`` (YAML: the flavours, the signature,
the model's uuid and run) beside the model's file. Importing MLflow costs seconds,
so the stages that only score (`evaluate`, `predict`) and the service read the
folder here instead, the way MLflow's scikit-learn flavour does: this module is
the one reader of ``MLmodel`` in the project. A URI (``models:/...``,
``runs:/...``) still needs MLflow, to download or resolve it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import UserError

# A URI MLflow resolves (models:/, runs:/, s3://, ...) rather than a local folder.
URI = re.compile(r"^[a-z][a-z0-9+.-]*:/")
MLMODEL_MAX_BYTES = 1024 * 1024  # a description, never data


def read_mlmodel(folder: Path) -> dict[str, Any]:
    """The ``MLmodel`` file of a local MLflow model folder: the one reader of it here
    (the stages and the service), so a model loads the same way everywhere."""
    import yaml

    meta_file = folder / "MLmodel"
    if not meta_file.is_file():
        raise UserError(f"no MLflow model at {folder} (train one first: dvc repro)")
    if meta_file.stat().st_size > MLMODEL_MAX_BYTES:
        raise UserError(f"{meta_file} is larger than {MLMODEL_MAX_BYTES} bytes")
    try:
        # libyaml's safe loader (PyYAML's wheels include it), else the Python one
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        meta = yaml.load(meta_file.read_text(encoding="utf-8"), Loader=loader)
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
