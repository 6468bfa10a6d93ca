"""dvc.yaml and params.yaml agree: what a stage names exists (no DVC needed)."""

from pathlib import Path
from typing import Any

import yaml

from {{ cookiecutter.package }}.cli import COMMANDS
from {{ cookiecutter.package }}.params import load_params, lookup

ROOT = Path(__file__).resolve().parents[1]
STAGES: dict[str, Any] = (
    yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8")) or {}
).get("stages") or {}


def outputs(stage: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for kind in ("outs", "metrics", "plots"):
        for entry in stage.get(kind, []):
            found += [entry] if isinstance(entry, str) else list(entry)
    return found


def test_params_yaml_is_a_mapping() -> None:
    assert isinstance(load_params(ROOT / "params.yaml"), dict)


def test_stage_params_exist() -> None:
    params = load_params(ROOT / "params.yaml")
    for stage in STAGES.values():
        for key in stage.get("params", []):
            lookup(params, key)


def test_stage_deps_exist_or_come_from_an_earlier_stage() -> None:
    earlier: set[str] = set()
    for name, stage in STAGES.items():
        for dep in stage.get("deps", []):
            assert (ROOT / dep).exists() or dep in earlier, f"{name}: no {dep}"
        earlier.update(outputs(stage))


def test_stage_commands_are_project_commands() -> None:
    for name, stage in STAGES.items():
        words = stage["cmd"].split()
        if words[:3] == ["python", "-m", "{{ cookiecutter.package }}.cli"]:
            assert words[3] in COMMANDS, f"{name}: unknown command {words[3]}"
