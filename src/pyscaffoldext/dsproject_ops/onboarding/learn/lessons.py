"""The lessons in the order a newcomer meets the workflow, and what a text adapts to.

The context comes from the answers recorded in ``setup.cfg [pyscaffold]`` when the
repository has them, otherwise from what it holds (an adopted repository has no record).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from . import catalogue

if TYPE_CHECKING:  # the facts reader is not needed to list lessons or show progress
    from ..facts import Facts

ORDER = (
    "hooks",
    "environment",
    "data",
    "remote",
    "pipeline",
    "experiments",
    "tests",
    "notebooks",
    "ci",
    "serving",
    "upgrade",
)


@dataclass(frozen=True)
class Context:
    """The variant keys (see :data:`catalogue.VARIANTS`) and the placeholder values."""

    keys: tuple[str, ...]
    values: Mapping[str, str]


def context(facts: Facts) -> Context:
    recorded = facts.recorded
    if "dsproject_ops_ci" in recorded:
        ci = recorded["dsproject_ops_ci"].strip()
    else:
        providers = {job.provider for job in facts.jobs}
        ci = (
            "both"
            if providers == {"gitlab", "github"}
            else providers.pop() if providers else "none"
        )
    if "dsproject_ops_example" in recorded:
        example = recorded["dsproject_ops_example"].strip().lower() == "true"
    else:
        example = any(s.name == "train" for s in facts.stages)
    remote = facts.default_remote
    keys = [ci, "example" if example else "no_example"]
    if remote is not None:
        keys.append("local_remote" if remote.local else "server_remote")
    package = recorded.get("package", "").strip() or (
        facts.packages[0].replace("/", ".") if facts.packages else "PACKAGE"
    )
    project = facts.name or facts.root.name
    values = {
        "project": project,
        # A Docker image name is lowercase (cookiecutter.json's ``__image``, the same rule).
        "image": project.lower().replace("_", "-").replace(".", "-"),
        "package": package,
        "remote": remote.shown(facts.root) if remote else "(none)",
        "exp_set": exp_set(facts),
    }
    return Context(tuple(keys), values)


def exp_set(facts: Facts) -> str:
    """A ``KEY=VALUE`` for ``dvc exp run -S``: a real key of params.yaml, changed."""
    if "train.n_estimators" in facts.params:
        return "train.n_estimators=100"
    return "seed=43" if "seed" in facts.params or not facts.params else f"{facts.params[0]}=..."


def text(lesson: str, field: str, language: str, ctx: Context) -> str:
    raw: Any = catalogue.load(language)["lessons"][lesson][field]
    return " ".join(catalogue.fill(catalogue.pick(raw, ctx.keys), ctx.values).split())


def title(lesson: str, language: str) -> str:
    return str(catalogue.load(language)["lessons"][lesson]["title"])


def ui(key: str, language: str, **values: Any) -> str:
    raw = str(catalogue.load(language)["ui"][key])
    return catalogue.fill(raw, {k: str(v) for k, v in values.items()})


def message(key: str, language: str, values: Mapping[str, Any]) -> str:
    raw = str(catalogue.load(language)["messages"][key])
    return catalogue.fill(raw, {k: str(v) for k, v in values.items()})
