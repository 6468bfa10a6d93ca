"""The template spec: cookiecutter.json read in one module, ``_features`` evaluated once
for render and validate alike."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from pyscaffoldext.dsproject_ops import spec
from pyscaffoldext.dsproject_ops.answers import build
from pyscaffoldext.dsproject_ops.render import render
from pyscaffoldext.dsproject_ops.validate.layout import template_paths

SRC = Path(__file__).resolve().parents[1] / "src" / "pyscaffoldext" / "dsproject_ops"


@pytest.mark.parametrize(
    "ci,example", list(itertools.product(["both", "gitlab", "github", "none"], [True, False]))
)
def test_validate_expects_exactly_what_render_writes(ci: str, example: bool) -> None:
    answers = build("my-proj", ci=ci, example=example)
    rendered = sorted(render(answers))
    recorded = {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in answers.values().items()
    }
    assert template_paths(recorded) == rendered
    assert spec.load().paths(answers.values()) == rendered


def test_spec_is_read_once_and_knows_the_version() -> None:
    first = spec.load()
    assert spec.load() is first
    assert spec.template_version() == first.data["_template_version"] == first.version
    assert first.choices("ci")[0] == "both"


@pytest.mark.parametrize(
    "condition,values,expected",
    [
        ("cookiecutter.ci in ('gitlab', 'both')", {"ci": "both"}, True),
        ("cookiecutter.ci in ('gitlab', 'both')", {"ci": "github"}, False),
        ("cookiecutter.example", {"example": False}, False),
        (
            "not cookiecutter.example and cookiecutter.ci == 'none'",
            {"example": False, "ci": "none"},
            True,
        ),
        # outside the fast subset: Jinja's own evaluator decides
        ("cookiecutter.ci | length > 3", {"ci": "both"}, True),
        ("cookiecutter.ci is defined", {"ci": "x"}, True),
    ],
)
def test_feature_conditions(condition: str, values: dict[str, object], expected: bool) -> None:
    assert spec.evaluate(condition, values) is expected


def test_cookiecutter_json_is_opened_in_one_module() -> None:
    """The structure promise of issue 12: one reader of cookiecutter.json. paths.py only
    checks that it exists."""
    naming = sorted(
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if '"cookiecutter.json"' in path.read_text(encoding="utf-8")
    )
    assert set(naming) == {"paths.py", "spec.py"}, naming


def test_features_are_evaluated_in_one_module() -> None:
    users = [
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if "compile_expression" in path.read_text(encoding="utf-8")
    ]
    assert users == ["spec.py"]
