"""external: linters that run as their own processes, folded in as findings.

They run only with ``--external`` and only when installed; the report says which
ran. Each tool has its own code, and the tool's rule id (``DL3008``, ``SC2086``) is
kept on the finding.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from .context import Context
from .registry import Check, Issue, ToolMissing

if TYPE_CHECKING:
    import subprocess

_LEVELS = {"error": "error", "warning": "warning", "info": "info", "style": "info"}


def _which(tool: str) -> str:
    import shutil

    found = shutil.which(tool) or shutil.which(tool, path=str(Path(sys.executable).parent))
    if not found:
        raise ToolMissing(tool)
    return found


def _run(cmd: list[str], cwd: Path) -> "subprocess.CompletedProcess[str]":
    import subprocess

    env = dict(os.environ, DVC_NO_ANALYTICS="1", NO_COLOR="1")
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


class Hadolint(Check):
    """hadolint's findings on the Dockerfiles (rules ``DLxxxx`` and ShellCheck's
    ``SCxxxx`` in the RUN instructions), at its own severities."""

    code = "EXT001"
    family = "external"
    summary = "hadolint"
    tool = "hadolint"
    severity = "warning"

    def applies(self, ctx: Context) -> bool:
        return bool(ctx.dockerfiles)

    def run(self, ctx: Context) -> Iterable[Issue]:
        exe = _which("hadolint")
        for rel in ctx.dockerfiles:
            done = _run([exe, "--no-fail", "--format", "json", rel], ctx.root)
            for item in json.loads(done.stdout or "[]"):
                yield Issue(
                    f"{item['code']}: {item['message']}",
                    rel,
                    item.get("line"),
                    item.get("column"),
                    _LEVELS.get(item.get("level", ""), "warning"),
                    rule=item.get("code"),
                )


class Actionlint(Check):
    """actionlint's findings on the GitHub workflows (unknown ``needs``, expression
    errors, ShellCheck in ``run:``, script injection)."""

    code = "EXT002"
    family = "external"
    summary = "actionlint"
    tool = "actionlint"

    def applies(self, ctx: Context) -> bool:
        return bool(ctx.workflows())

    def run(self, ctx: Context) -> Iterable[Issue]:
        exe = _which("actionlint")
        done = _run([exe, "-no-color", "-format", "{{json .}}", *ctx.workflows()], ctx.root)
        text = done.stdout.strip() or "[]"
        for item in json.loads(text):
            yield Issue(
                item["message"],
                item.get("filepath"),
                item.get("line"),
                item.get("column"),
                rule=item.get("kind"),
            )


class GitlabCiLocal(Check):
    """gitlab-ci-local's reading of ``.gitlab-ci.yml`` (``--list-json``): what GitLab
    itself would refuse, such as unknown stages or needs, without running a job."""

    code = "EXT003"
    family = "external"
    summary = "gitlab-ci-local"
    tool = "gitlab-ci-local"

    def applies(self, ctx: Context) -> bool:
        # never hand a tool a file behind a symlink out of the repository
        return ctx.is_file(".gitlab-ci.yml") and ctx.inside(".gitlab-ci.yml")

    def run(self, ctx: Context) -> Iterable[Issue]:
        import shutil

        exe = _which("gitlab-ci-local")
        state = ctx.root / ".gitlab-ci-local"
        existed = state.exists()
        try:
            done = _run([exe, "--list-json"], ctx.root)
        finally:
            if not existed:
                shutil.rmtree(state, ignore_errors=True)
        if done.returncode != 0:
            message = " ".join((done.stderr or done.stdout).split())[:500]
            yield Issue(f"gitlab-ci-local refuses the pipeline: {message}", ".gitlab-ci.yml")


class DvcDag(Check):
    """DVC's own reading of ``dvc.yaml`` (``dvc dag``), which validates the file
    against DVC's schema (types of every key) with line and column, and the graph."""

    code = "EXT004"
    family = "external"
    summary = "dvc dag"
    tool = "dvc"

    def applies(self, ctx: Context) -> bool:
        return ctx.is_file("dvc.yaml") and ctx.inside("dvc.yaml")

    def run(self, ctx: Context) -> Iterable[Issue]:
        import shutil

        exe = _which("dvc")
        scratch = ctx.root / ".dvc" / "tmp"
        existed = scratch.exists()
        try:
            done = _run([exe, "dag"], ctx.root)
        finally:
            if not existed:
                shutil.rmtree(scratch, ignore_errors=True)
        if done.returncode != 0:
            text = done.stderr or done.stdout
            where = re.search(r"line (\d+), column (\d+)", text)
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            message = " ".join(lines[:2])[:500]
            yield Issue(
                f"dvc refuses dvc.yaml: {message}",
                "dvc.yaml",
                int(where.group(1)) if where else None,
                int(where.group(2)) if where else None,
            )


class CiSchemas(Check):
    """GitLab CI and GitHub workflow files validate against the JSON schemas
    check-jsonschema vendors (``vendor.gitlab-ci``, ``vendor.github-workflows``).

    The static run checks the same schemas without a subprocess (``SCH001``-``SCH005``);
    this runs check-jsonschema's own validation, with its own format checks, beside them.
    """

    code = "EXT005"
    family = "external"
    summary = "CI JSON schemas (check-jsonschema)"
    tool = "check-jsonschema"

    def applies(self, ctx: Context) -> bool:
        return ctx.is_file(".gitlab-ci.yml") or bool(ctx.workflows())

    def run(self, ctx: Context) -> Iterable[Issue]:
        try:
            import importlib

            jsonschema: Any = importlib.import_module("jsonschema")
            builtin_schemas: Any = importlib.import_module("check_jsonschema.builtin_schemas")
        except ImportError:
            raise ToolMissing("check-jsonschema")
        folder = Path(builtin_schemas.__file__).parent / "vendor"
        targets = [(".gitlab-ci.yml", "gitlab-ci.json")]
        targets += [(wf, "github-workflows.json") for wf in ctx.workflows()]
        for rel, schema_name in targets:
            parsed = ctx.yaml(rel)
            if parsed is None or parsed.error is not None:
                continue
            schema = json.loads((folder / schema_name).read_text(encoding="utf-8"))
            validator_cls: Any = jsonschema.validators.validator_for(schema)
            data = _stringify_keys(parsed.data)
            for error in validator_cls(schema).iter_errors(data):
                path = tuple(error.absolute_path)
                yield Issue(f"schema: {error.message[:300]}", rel, parsed.line(*path) or 1)


def _stringify_keys(value: Any) -> Any:
    # YAML 1.1 reads GitHub's `on:` as True; JSON schemas expect the text "on".
    if isinstance(value, dict):
        return {("on" if k is True else str(k)): _stringify_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_keys(v) for v in value]
    return value
