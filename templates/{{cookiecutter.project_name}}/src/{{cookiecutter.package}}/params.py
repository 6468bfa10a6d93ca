"""Read params.yaml, the file DVC tracks the pipeline's parameters in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import UserError

PARAMS_FILE = Path("params.yaml")


def load_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """All parameters; stages run from the repository root, where params.yaml is."""
    if not path.is_file():
        raise UserError(f"{path} not found: run the command from the repository root")
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a mapping of parameters")
    return data


def lookup(params: dict[str, Any], key: str) -> Any:
    """``lookup(params, "train.n_estimators")``: a dotted key, as dvc.yaml names it."""
    node: Any = params
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise UserError(f"parameter {key!r} is not in {PARAMS_FILE}")
        node = node[part]
    return node


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"seed": 1}}`` -> ``{"train.seed": 1}`` (how MLflow logs them)."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
