"""precommit: ``.pre-commit-config.yaml`` is valid and protects the repository."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any, Iterable

from ..repository import requirements
from .context import Context
from .registry import Check, Finding, Issue

CONFIG = ".pre-commit-config.yaml"
_VERSION = re.compile(r"^v?\d+(?:\.\d+)*(?:[.\-+]?[A-Za-z0-9.]+)*$")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")


def _config(ctx: Context) -> dict[str, Any]:
    data = ctx.data(CONFIG)
    return data if isinstance(data, dict) else {}


def _repos(ctx: Context) -> list[tuple[int, dict[str, Any]]]:
    repos = _config(ctx).get("repos")
    if not isinstance(repos, list):
        return []
    return [(i, r) for i, r in enumerate(repos) if isinstance(r, dict)]


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dsops" / "pre-commit-valid"


class _HasConfig(Check):
    family = "precommit"
    needs = (CONFIG,)

    def applies(self, ctx: Context) -> bool:
        return ctx.is_file(CONFIG)


class Schema(_HasConfig):
    """``.pre-commit-config.yaml`` is valid per pre-commit's own schema
    (``pre_commit.clientlib``), the one ``pre-commit run`` enforces.

    Skipped when pre-commit is not installed. A configuration that passed once is
    remembered by its size and checksums (in ``~/.cache/dsops``), so the check costs
    nothing until the file changes.
    """

    code = "PC001"
    summary = "the pre-commit config is valid per pre-commit's schema"

    def run(self, ctx: Context) -> Iterable[Issue]:
        import zlib  # hashlib would load OpenSSL: too slow for a per-commit hook

        raw = (ctx.text(CONFIG) or "").encode("utf-8")
        marker = _cache_dir() / f"{len(raw)}-{zlib.crc32(raw):08x}-{zlib.adler32(raw):08x}"
        if marker.exists():
            return
        try:
            # untyped, and optional: imported by name, so type checkers need neither
            cfgv: Any = importlib.import_module("cfgv")
            clientlib: Any = importlib.import_module("pre_commit.clientlib")
        except ImportError:
            return
        data = ctx.data(CONFIG)
        try:
            cfgv.validate(data, clientlib.CONFIG_SCHEMA)
        except cfgv.ValidationError as exc:
            trail, error = _trail(exc)
            path = _path(trail, data)
            parsed = ctx.yaml(CONFIG)
            line = parsed.line(*path) if parsed else None
            where = " ".join(trail)
            yield Issue(f"invalid pre-commit config ({where}): {error}", CONFIG, line or 1)
            return
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass  # a read-only home only costs speed


def _trail(exc: Any) -> tuple[list[str], str]:
    trail = []
    while hasattr(exc, "error_msg") and hasattr(exc.error_msg, "error_msg"):
        trail.append(str(exc.ctx))
        exc = exc.error_msg
    trail.append(str(getattr(exc, "ctx", "")))
    return [t for t in trail if t and t != "None"], str(getattr(exc, "error_msg", exc))


def _path(trail: list[str], data: Any) -> tuple[Any, ...]:
    path: list[Any] = []
    node = data
    for step in trail:
        key = re.match(r"At key: (.+)$", step)
        item = re.match(r"At (?:Repository|Hook)\((?:repo|id)=(.+)\)$", step)
        index = re.match(r"At index (\d+)$", step)
        if key and isinstance(node, dict):
            path.append(key.group(1))
            node = node.get(key.group(1))
        elif item and isinstance(node, list):
            wanted = item.group(1).strip("'\"")
            for n, entry in enumerate(node):
                if isinstance(entry, dict) and wanted in (
                    str(entry.get("repo")),
                    str(entry.get("id")),
                ):
                    path.append(n)
                    node = entry
                    break
        elif index and isinstance(node, list):
            path.append(int(index.group(1)))
            node = node[int(index.group(1))] if int(index.group(1)) < len(node) else None
    return tuple(path)


class RevIsVersion(_HasConfig):
    """Every remote hook repository's ``rev`` is a version tag or a commit, not a
    branch.

    A branch (``main``, ``master``, ``stable``) changes under the team's feet: the same
    commit passes today and fails tomorrow. ``pre-commit autoupdate`` writes tags.
    """

    code = "PC002"
    summary = "every rev is a version, not a branch"
    requires = ("PC001",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        parsed = ctx.yaml(CONFIG)
        for index, repo in _repos(ctx):
            if repo.get("repo") in ("local", "meta"):
                continue
            rev = str(repo.get("rev", ""))
            if not (_SHA.match(rev) or (_VERSION.match(rev) and any(c.isdigit() for c in rev))):
                yield Issue(
                    f"rev {rev!r} of {repo.get('repo')} is not a version: pin a tag "
                    "(`pre-commit autoupdate`) or a commit",
                    CONFIG,
                    parsed.line("repos", index, "rev") if parsed else None,
                )


class MergeConflictHook(_HasConfig):
    """A ``check-merge-conflict`` hook is configured (pre-commit-hooks).

    It refuses commits that still hold conflict markers, which upgrades and merges
    can leave behind.
    """

    code = "PC003"
    summary = "the merge-conflict hook is present"
    requires = ("PC001",)
    severity = "warning"

    def run(self, ctx: Context) -> Iterable[Issue]:
        for _, repo in _repos(ctx):
            for hook in repo.get("hooks") or []:
                if isinstance(hook, dict) and hook.get("id") == "check-merge-conflict":
                    return
        parsed = ctx.yaml(CONFIG)
        yield Issue(
            "no check-merge-conflict hook: add it (pre-commit-hooks) so commits "
            "with conflict markers are refused",
            CONFIG,
            (parsed.line("repos") if parsed else None) or 1,
        )

    def fix(self, ctx: Context, findings: list[Finding]) -> dict[str, str]:
        # Beside a hook of pre-commit-hooks, in that hook's style: the hook
        # repository's at its rev, or a local hook pinning the same package version.
        parsed = ctx.yaml(CONFIG)
        text = ctx.text(CONFIG)
        if parsed is None or text is None:
            return {}
        for index, repo in _repos(ctx):
            hooks = repo.get("hooks")
            if not isinstance(hooks, list) or not hooks or not isinstance(hooks[0], dict):
                continue
            if str(repo.get("repo", "")).rstrip("/").endswith("pre-commit/pre-commit-hooks"):
                block = ["- id: check-merge-conflict"]
            else:
                pins = [
                    str(dep)
                    for hook in hooks
                    if isinstance(hook, dict)
                    for dep in hook.get("additional_dependencies") or []
                    if str(dep).startswith("pre-commit-hooks==")
                ]
                if repo.get("repo") != "local" or not pins:
                    continue
                block = [
                    "- id: check-merge-conflict",
                    "  name: check for merge conflicts",
                    "  entry: check-merge-conflict",
                    "  language: python",
                    "  types: [text]",
                    f"  additional_dependencies: [{pins[0]}]",
                ]
            line = parsed.line("repos", index, "hooks", 0)
            lines = text.split("\n")
            if not line or not lines[line - 1].lstrip().startswith("- "):
                continue
            indent = lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())]
            lines[line - 1 : line - 1] = [indent + part for part in block]
            return {CONFIG: "\n".join(lines)}
        return {}


class PinnedHookDependencies(_HasConfig):
    """Local Python hooks pin their ``additional_dependencies`` exactly (``name==1.2``).

    Unpinned hook environments change whenever PyPI does, so two developers (or CI)
    lint with different versions.
    """

    code = "PC004"
    summary = "local hooks pin their additional_dependencies"
    requires = ("PC001",)
    severity = "warning"

    def run(self, ctx: Context) -> Iterable[Issue]:
        parsed = ctx.yaml(CONFIG)
        for r_index, repo in _repos(ctx):
            if repo.get("repo") != "local":
                continue
            for h_index, hook in enumerate(repo.get("hooks") or []):
                if not isinstance(hook, dict) or hook.get("language") != "python":
                    continue
                for d_index, dep in enumerate(hook.get("additional_dependencies") or []):
                    req = requirements.parse(str(dep).strip())
                    if req.error or req.marker or req.pinned is None:
                        path = (
                            "repos",
                            r_index,
                            "hooks",
                            h_index,
                            "additional_dependencies",
                            d_index,
                        )
                        yield Issue(
                            f"hook {hook.get('id')}: pin {dep!r} exactly (name==version)",
                            CONFIG,
                            parsed.line(*path) if parsed else None,
                        )
