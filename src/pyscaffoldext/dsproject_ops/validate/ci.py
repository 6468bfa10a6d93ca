"""ci: GitLab CI and GitHub Actions pipelines are consistent and call what exists."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from ..gitlab import GLOBAL_KEYWORDS, resolve_extends
from . import commands
from .context import Context, Parsed
from .registry import Check, Issue

GITLAB = ".gitlab-ci.yml"
_GITLAB_GLOBAL = GLOBAL_KEYWORDS
_GITLAB_JOB = {
    "after_script",
    "allow_failure",
    "artifacts",
    "before_script",
    "cache",
    "coverage",
    "dast_configuration",
    "dependencies",
    "environment",
    "extends",
    "hooks",
    "identity",
    "id_tokens",
    "image",
    "inherit",
    "interruptible",
    "manual_confirmation",
    "needs",
    "pages",
    "parallel",
    "release",
    "resource_group",
    "retry",
    "rules",
    "run",
    "script",
    "secrets",
    "services",
    "stage",
    "tags",
    "timeout",
    "trigger",
    "variables",
    "when",
    "only",
    "except",
    "start_in",
}
_DEFAULT_STAGES = [".pre", "build", "test", "deploy", ".post"]


def _gitlab(ctx: Context) -> tuple[dict[str, Any], Parsed | None]:
    parsed = ctx.yaml(GITLAB)
    data = parsed.data if parsed else None
    return (data if isinstance(data, dict) else {}), parsed


def gitlab_jobs(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Jobs and hidden templates (``.name``), without the global keywords."""
    return {str(k): v for k, v in data.items() if k not in _GITLAB_GLOBAL and isinstance(v, dict)}


def _line(parsed: Parsed | None, *path: Any) -> int | None:
    return parsed.line(*path) if parsed else None


class _GitLab(Check):
    family = "ci"
    needs = (GITLAB,)

    def applies(self, ctx: Context) -> bool:
        return ctx.is_file(GITLAB)  # a missing one the answers call for is LAY001's


class GitLabStructure(_GitLab):
    """``.gitlab-ci.yml`` has GitLab's structure: every job a mapping of known job
    keywords, with a ``script`` (or ``trigger``, or ``extends`` of a template that has
    one); ``stages`` a list.

    GitLab rejects the whole pipeline for one unknown keyword, and only when pushed.
    """

    code = "CI001"
    summary = "GitLab CI has GitLab's structure"

    def run(self, ctx: Context) -> Iterable[Issue]:
        data, parsed = _gitlab(ctx)
        if not data:
            yield Issue("the pipeline is empty: define stages and jobs", GITLAB, 1)
            return
        stages = data.get("stages")
        if stages is not None and not (
            isinstance(stages, list) and all(isinstance(s, str) for s in stages)
        ):
            yield Issue("stages must be a list of names", GITLAB, _line(parsed, "stages"))
        jobs = gitlab_jobs(data)
        for name, value in data.items():
            if name not in _GITLAB_GLOBAL and not isinstance(value, dict):
                yield Issue(
                    f"job {name!r} must be a mapping of job keywords", GITLAB, _line(parsed, name)
                )
        for name, job in jobs.items():
            if name.startswith("."):
                continue  # hidden keys are free-form: templates and YAML anchors
            for key in job:
                if key not in _GITLAB_JOB:
                    yield Issue(
                        f"job {name!r}: unknown keyword {key!r}", GITLAB, _line(parsed, name, key)
                    )
            if not any(k in _resolved(jobs, name) for k in ("script", "trigger", "run")):
                yield Issue(
                    f"job {name!r} has no script: add the commands it runs",
                    GITLAB,
                    _line(parsed, name),
                )


def _resolved(jobs: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return resolve_extends(jobs, name)


class GitLabStages(_GitLab):
    """Every GitLab job's ``stage`` is one of ``stages`` (or GitLab's defaults
    ``build``, ``test``, ``deploy`` when none are listed; a job without ``stage`` is in
    ``test``)."""

    code = "CI002"
    summary = "every GitLab job's stage exists"
    requires = ("CI001",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        data, parsed = _gitlab(ctx)
        stages = data.get("stages") or _DEFAULT_STAGES
        known = set(stages) | {".pre", ".post"}
        jobs = gitlab_jobs(data)
        for name in jobs:
            if name.startswith("."):
                continue
            stage = _resolved(jobs, name).get("stage", "test")
            if stage not in known:
                yield Issue(
                    f"job {name!r}: stage {stage!r} is not in stages " f"({', '.join(stages)})",
                    GITLAB,
                    _line(parsed, name, "stage") or _line(parsed, name),
                )


class GitLabNeeds(_GitLab):
    """Every GitLab ``needs`` and ``dependencies`` entry names a job of this pipeline
    (entries with ``optional: true``, ``pipeline:`` or ``project:`` are not checked)."""

    code = "CI003"
    summary = "every GitLab needs/dependencies reference resolves"
    requires = ("CI001",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        data, parsed = _gitlab(ctx)
        jobs = gitlab_jobs(data)
        real = {n for n in jobs if not n.startswith(".")}
        if data.get("include"):
            return  # included files may define the jobs
        for name, job in jobs.items():
            for key in ("needs", "dependencies"):
                items = job.get(key)
                if not isinstance(items, list):
                    continue
                for index, item in enumerate(items):
                    target = item
                    if isinstance(item, dict):
                        if item.get("optional") or "pipeline" in item or "project" in item:
                            continue
                        target = item.get("job")
                    if isinstance(target, str) and target not in real:
                        yield Issue(
                            f"job {name!r}: {key} names {target!r}, which is not a job",
                            GITLAB,
                            _line(parsed, name, key, index),
                        )


class GitLabExtends(_GitLab):
    """Every GitLab ``extends`` names a job or hidden template (``.name``) of this file
    (not checked when the pipeline ``include``s other files)."""

    code = "CI004"
    summary = "every GitLab extends reference resolves"
    requires = ("CI001",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        data, parsed = _gitlab(ctx)
        if data.get("include"):
            return
        jobs = gitlab_jobs(data)
        for name, job in jobs.items():
            parents = job.get("extends")
            listed = [parents] if isinstance(parents, str) else list(parents or [])
            for parent in listed:
                if parent not in jobs:
                    yield Issue(
                        f"job {name!r} extends {parent!r}, which is not defined",
                        GITLAB,
                        _line(parsed, name, "extends"),
                    )


class _GitHub(Check):
    family = "ci"

    def applies(self, ctx: Context) -> bool:
        return bool(ctx.workflows())


def _workflow(ctx: Context, rel: str) -> tuple[dict[str, Any], Parsed | None]:
    parsed = ctx.yaml(rel)
    data = parsed.data if parsed else None
    return (data if isinstance(data, dict) else {}), parsed


def _workflow_jobs(ctx: Context) -> Iterator[tuple[str, Parsed | None, dict[str, Any]]]:
    """Each workflow that parses, with its ``jobs`` mapping (empty when malformed)."""
    for rel in ctx.workflows():
        if ctx.broken(rel):
            continue
        data, parsed = _workflow(ctx, rel)
        jobs = data.get("jobs")
        yield rel, parsed, jobs if isinstance(jobs, dict) else {}


class GitHubStructure(_GitHub):
    """Every workflow under ``.github/workflows/`` has ``on`` and ``jobs``; every job a
    ``runs-on`` (or a reusable workflow's ``uses``) and ``steps``, each step a ``run``
    or a ``uses``."""

    code = "CI005"
    summary = "GitHub workflows have GitHub's structure"

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel in ctx.workflows():
            if ctx.broken(rel):
                continue
            data, parsed = _workflow(ctx, rel)
            if not {"on", True} & set(data):
                yield Issue("the workflow has no `on:` trigger", rel, 1)
            jobs = data.get("jobs")
            if not isinstance(jobs, dict) or not jobs:
                yield Issue("the workflow has no `jobs:`", rel, _line(parsed, "jobs") or 1)
                continue
            for name, job in jobs.items():
                if not isinstance(job, dict):
                    yield Issue(f"job {name!r} must be a mapping", rel, _line(parsed, "jobs", name))
                    continue
                if "uses" in job:
                    continue
                if "runs-on" not in job:
                    yield Issue(f"job {name!r} has no runs-on", rel, _line(parsed, "jobs", name))
                steps = job.get("steps")
                if not isinstance(steps, list) or not steps:
                    yield Issue(f"job {name!r} has no steps", rel, _line(parsed, "jobs", name))
                    continue
                for index, step in enumerate(steps):
                    if not isinstance(step, dict) or not ("run" in step or "uses" in step):
                        yield Issue(
                            f"job {name!r}: step {index + 1} has neither run nor uses",
                            rel,
                            _line(parsed, "jobs", name, "steps", index),
                        )


class GitHubNeeds(_GitHub):
    """Every GitHub job's ``needs`` names a job of the same workflow."""

    code = "CI006"
    summary = "every GitHub needs reference resolves"
    requires = ("CI005",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, parsed, jobs in _workflow_jobs(ctx):
            for name, job in jobs.items():
                needs = job.get("needs") if isinstance(job, dict) else None
                listed = [needs] if isinstance(needs, str) else list(needs or [])
                for index, target in enumerate(listed):
                    if target not in jobs:
                        at = (
                            _line(parsed, "jobs", name, "needs", index)
                            if not isinstance(needs, str)
                            else _line(parsed, "jobs", name, "needs")
                        )
                        yield Issue(
                            f"job {name!r} needs {target!r}, which is not a job of this "
                            "workflow",
                            rel,
                            at,
                        )


def _script_lines(value: Any) -> Iterator[tuple[int, str]]:
    if isinstance(value, str):
        yield 0, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for _, line in _script_lines(item):
                yield index, line


class CommandsExist(Check):
    """Files and commands the CI jobs call exist: scripts run by ``python``/``bash`` or
    as ``./x``, ``make`` targets, ``python -m`` modules of the package, the package's
    console scripts, ``pip install .[extra]`` extras, ``-r``/``-f`` files and
    ``dvc repro`` (and ``<project> repro``) stages."""

    code = "CI007"
    family = "ci"
    summary = "files and commands the CI jobs call exist"
    needs = ("setup.cfg", "pyproject.toml", "dvc.yaml")

    def applies(self, ctx: Context) -> bool:
        return ctx.is_file(GITLAB) or bool(ctx.workflows())

    def run(self, ctx: Context) -> Iterable[Issue]:
        if ctx.is_file(GITLAB) and not ctx.broken(GITLAB):
            data, parsed = _gitlab(ctx)
            sources: list[tuple[tuple[Any, ...], Any]] = []
            for key in ("before_script", "after_script"):
                sources.append(((key,), data.get(key)))
                default = data.get("default")
                if isinstance(default, dict):
                    sources.append((("default", key), default.get(key)))
            for name, job in gitlab_jobs(data).items():
                for key in ("before_script", "script", "after_script"):
                    sources.append(((name, key), job.get(key)))
            for path, value in sources:
                for index, line in _script_lines(value):
                    for problem in commands.problems(ctx, line):
                        at = (
                            _line(parsed, *path, index)
                            if isinstance(value, list)
                            else _line(parsed, *path)
                        )
                        yield Issue(f"`{line.strip()}`: {problem}", GITLAB, at)
        for rel, parsed, jobs in _workflow_jobs(ctx):
            for name, job in jobs.items():
                steps = job.get("steps") if isinstance(job, dict) else None
                for index, step in enumerate(steps if isinstance(steps, list) else []):
                    if not isinstance(step, dict) or not isinstance(step.get("run"), str):
                        continue
                    if step.get("working-directory"):
                        continue
                    key_line = _line(parsed, "jobs", name, "steps", index, "run")
                    block = "\n" in step["run"].rstrip("\n")
                    for offset, line in enumerate(step["run"].splitlines()):
                        for problem in commands.problems(ctx, line):
                            at = key_line + offset + (1 if block else 0) if key_line else None
                            yield Issue(f"`{line.strip()}`: {problem}", rel, at)
