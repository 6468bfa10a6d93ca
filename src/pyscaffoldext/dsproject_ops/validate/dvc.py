"""dvc: the pipeline (``dvc.yaml``, ``params.yaml``) and the DVC configuration."""

from __future__ import annotations

import posixpath
import re
from typing import Any, ClassVar, Iterable, Iterator

from .context import Context, Parsed
from .registry import Check, Issue

PIPELINE = "dvc.yaml"
CONFIG = ".dvc/config"
_TOP = {"stages", "vars", "params", "metrics", "plots", "artifacts", "datasets"}
_STAGE = {
    "cmd",
    "wdir",
    "deps",
    "params",
    "outs",
    "metrics",
    "plots",
    "frozen",
    "always_changed",
    "meta",
    "desc",
    "vars",
    "foreach",
    "do",
    "matrix",
}
_OUT_KEYS = ("outs", "metrics", "plots")
_CREDENTIAL_KEYS = {
    "password",
    "secret_access_key",
    "access_key_id",
    "session_token",
    "token",
    "key",
    "sas_token",
    "account_key",
    "connection_string",
    "client_secret",
    "gdrive_client_secret",
    "ask_password",
}


def _stages(ctx: Context) -> Iterator[tuple[str, dict[str, Any]]]:
    data = ctx.data(PIPELINE)
    stages = data.get("stages") if isinstance(data, dict) else None
    if isinstance(stages, dict):
        for name, stage in stages.items():
            if isinstance(stage, dict):
                yield str(name), stage


def outputs(ctx: Context) -> set[str]:
    """Every path a stage of dvc.yaml produces (relative to the repository)."""
    found: set[str] = set()
    if not ctx.is_file(PIPELINE) or ctx.broken(PIPELINE):
        return found
    for _, stage in _stages(ctx):
        for key in _OUT_KEYS:
            for _, path, _ in _entries(stage, key):
                found.add(_in_stage(stage, path))
    return found


def _entries(stage: dict[str, Any], key: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(index, path, options) of a stage's deps/outs/metrics/plots list."""
    items = stage.get(key)
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if isinstance(item, str):
            yield index, item, {}
        elif isinstance(item, dict) and len(item) == 1:
            path, options = next(iter(item.items()))
            yield index, str(path), options if isinstance(options, dict) else {}


def _in_stage(stage: dict[str, Any], path: str) -> str:
    wdir = stage.get("wdir") or "."
    return posixpath.normpath(posixpath.join(str(wdir), path))


def _templated(stage: dict[str, Any], text: str) -> bool:
    return "${" in text or "foreach" in stage or "matrix" in stage


def _line(parsed: Parsed | None, *path: Any) -> int | None:
    return parsed.line(*path) if parsed else None


class _Pipeline(Check):
    family = "dvc"
    needs: ClassVar[tuple[str, ...]] = (PIPELINE,)

    def applies(self, ctx: Context) -> bool:
        return ctx.is_file(PIPELINE)


class PipelineStructure(_Pipeline):
    """``dvc.yaml`` has DVC's structure: top-level ``stages`` (and ``vars``, ``params``,
    ``metrics``, ``plots``, ``artifacts``, ``datasets``); every stage a mapping with a
    ``cmd`` and only the keys DVC knows (``deps``, ``params``, ``outs``, ``metrics``,
    ``plots``, ``wdir``, ``frozen``, ``always_changed``, ``desc``, ``meta``, ...).

    ``dvc repro`` refuses the whole file for one unknown key.
    """

    code = "DVC001"
    summary = "dvc.yaml has DVC's structure"

    def run(self, ctx: Context) -> Iterable[Issue]:
        parsed = ctx.yaml(PIPELINE)
        data = parsed.data if parsed else None
        if not isinstance(data, dict):
            yield Issue("dvc.yaml must be a mapping with `stages:`", PIPELINE, 1)
            return
        for key in data:
            if key not in _TOP:
                yield Issue(
                    f"unknown top-level key {key!r} (DVC knows " f"{', '.join(sorted(_TOP))})",
                    PIPELINE,
                    _line(parsed, key),
                )
        stages = data.get("stages")
        if stages is None:
            return
        if not isinstance(stages, dict):
            yield Issue(
                "`stages` must map stage names to stages", PIPELINE, _line(parsed, "stages")
            )
            return
        for name, stage in stages.items():
            if not isinstance(stage, dict):
                yield Issue(
                    f"stage {name!r} must be a mapping with a cmd",
                    PIPELINE,
                    _line(parsed, "stages", name),
                )
                continue
            body: dict[str, Any] = stage["do"] if isinstance(stage.get("do"), dict) else stage
            for key in body:
                if key not in _STAGE:
                    yield Issue(
                        f"stage {name!r}: unknown key {key!r}",
                        PIPELINE,
                        _line(parsed, "stages", name, key),
                    )
            if "cmd" not in body:
                yield Issue(
                    f"stage {name!r} has no cmd: add the command it runs",
                    PIPELINE,
                    _line(parsed, "stages", name),
                )
            for key in ("deps", "outs", "metrics", "plots", "params"):
                if key in body and not isinstance(body[key], list):
                    yield Issue(
                        f"stage {name!r}: {key} must be a list",
                        PIPELINE,
                        _line(parsed, "stages", name, key),
                    )


class DepsExist(_Pipeline):
    """Every stage dependency exists, is the output of another stage, or is tracked
    by a ``.dvc`` file.

    Otherwise ``dvc repro`` fails with "missing dependency" on a fresh clone. Add the
    file, the stage that produces it, or ``dvc add`` it.
    """

    code = "DVC002"
    summary = "every stage dependency exists or is produced by a stage"
    requires = ("DVC001",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        parsed = ctx.yaml(PIPELINE)
        produced = outputs(ctx)
        tracked_by_dvc = {p[: -len(".dvc")] for p in ctx.files if p.endswith(".dvc")}
        for name, stage in _stages(ctx):
            for index, path, _ in _entries(stage, "deps"):
                if _templated(stage, path) or "://" in path:
                    continue
                full = _in_stage(stage, path)
                if ctx.exists(full) or full in tracked_by_dvc:
                    continue
                if any(full == p or full.startswith(p + "/") for p in produced | tracked_by_dvc):
                    continue
                yield Issue(
                    f"stage {name!r}: dependency {path} does not exist and no stage " "produces it",
                    PIPELINE,
                    _line(parsed, "stages", name, "deps", index),
                )


class ParamsExist(_Pipeline):
    """Every param a stage lists exists in its params file (``params.yaml`` by default).

    DVC does not report a missing param (``dvc status`` stays silent), so a typo
    silently disconnects the stage from the value it should depend on.
    """

    code = "DVC003"
    summary = "every stage param exists in params.yaml"
    requires = ("DVC001",)
    needs = (PIPELINE, "params.yaml")

    def run(self, ctx: Context) -> Iterable[Issue]:
        parsed = ctx.yaml(PIPELINE)
        for name, stage in _stages(ctx):
            params = stage.get("params")
            if not isinstance(params, list):
                continue
            for index, item in enumerate(params):
                groups: list[tuple[str, list[Any], tuple[Any, ...]]]
                if isinstance(item, str):
                    groups = [("params.yaml", [item], (index,))]
                elif isinstance(item, dict):
                    groups = [
                        (str(f), keys if isinstance(keys, list) else [], (index, f))
                        for f, keys in item.items()
                    ]
                else:
                    continue
                for file, keys, where in groups:
                    if _templated(stage, file):
                        continue
                    rel = _in_stage(stage, file)
                    values = ctx.data(rel) if ctx.is_file(rel) else None
                    at = _line(parsed, "stages", name, "params", *where)
                    if values is None:
                        yield Issue(
                            f"stage {name!r}: params file {rel} is missing or empty", PIPELINE, at
                        )
                        continue
                    for key in keys:
                        if not _templated(stage, str(key)) and not _has(values, str(key)):
                            yield Issue(
                                f"stage {name!r}: param {key!r} is not in {rel}: add it "
                                "or fix the name",
                                PIPELINE,
                                at,
                            )


def _has(values: Any, dotted: str) -> bool:
    node = values
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


class OutputsNotInGit(_Pipeline):
    """No cached stage output (``outs``, and ``metrics``/``plots`` unless
    ``cache: false``) is tracked by git.

    DVC versions them; git tracking them as well makes ``dvc repro`` and ``git``
    fight over the file. ``git rm --cached`` it and let DVC's ``.gitignore`` cover it.
    """

    code = "DVC004"
    summary = "no stage output is tracked by git"
    requires = ("DVC001",)

    def applies(self, ctx: Context) -> bool:
        return ctx.is_file(PIPELINE) and ctx.git_index is not None

    def run(self, ctx: Context) -> Iterable[Issue]:
        tracked = ctx.tracked or []
        for name, stage in _stages(ctx):
            for key in _OUT_KEYS:
                for _, path, options in _entries(stage, key):
                    if options.get("cache", True) is False or _templated(stage, path):
                        continue
                    full = _in_stage(stage, path)
                    for rel in tracked:
                        if rel == full or rel.startswith(full + "/"):
                            yield Issue(
                                f"{rel} is stage {name!r}'s output and tracked by git: "
                                f"`git rm --cached {rel}`",
                                rel,
                            )


def _remote_sections(config: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    found = {}
    for section, values in config.items():
        match = re.match(r"""^'?remote\s+"(.+)"'?$""", section.strip())
        if match:
            found[match.group(1)] = values
    return found


class _DvcConfig(Check):
    family = "dvc"
    needs = (CONFIG,)

    def applies(self, ctx: Context) -> bool:
        return ctx.is_dir(".dvc")


class DefaultRemote(_DvcConfig):
    """``.dvc/config`` names a default remote (``[core] remote = NAME``) that is
    defined (``['remote "NAME"']`` with a ``url``).

    Without it ``dvc push`` and ``dvc pull`` need ``-r`` every time, and CI cannot
    fetch the data. Add one with ``dvc remote add -d NAME URL``.
    """

    code = "DVC005"
    summary = "a default DVC remote is configured"

    def run(self, ctx: Context) -> Iterable[Issue]:
        config = ctx.data(CONFIG) if ctx.is_file(CONFIG) else None
        if not isinstance(config, dict):
            yield Issue(
                "no .dvc/config: add a default remote with `dvc remote add -d NAME URL`", CONFIG
            )
            return
        name = config.get("core", {}).get("remote", "").strip()
        if not name:
            yield Issue(
                "no default remote ([core] remote = NAME): " "`dvc remote add -d NAME URL`",
                CONFIG,
                ctx.ini_line(CONFIG, "core") or 1,
            )
            return
        remotes = _remote_sections(config)
        if name not in remotes or not remotes[name].get("url", "").strip():
            yield Issue(
                f"the default remote {name!r} is not defined with a url: "
                f"`dvc remote add {name} URL`",
                CONFIG,
                ctx.ini_line(CONFIG, "core", "remote"),
            )


class NoCredentialsInConfig(_DvcConfig):
    """``.dvc/config`` (tracked by git) holds no credentials: no ``password``,
    ``secret_access_key``, ``token``... and no URL with a password.

    Put them in ``.dvc/config.local`` (git-ignored):
    ``dvc remote modify --local NAME password ...``.
    """

    code = "DVC006"
    summary = "no credentials in .dvc/config"

    def run(self, ctx: Context) -> Iterable[Issue]:
        config = ctx.data(CONFIG) if ctx.is_file(CONFIG) else None
        if not isinstance(config, dict):
            return
        for section, values in config.items():
            for key, value in values.items():
                line = ctx.ini_line(CONFIG, section, key)
                if key.lower() in _CREDENTIAL_KEYS and key.lower() != "ask_password":
                    yield Issue(
                        f"[{section}] {key} is a credential in a tracked file: move it "
                        f"with `dvc remote modify --local ... {key} ...`",
                        CONFIG,
                        line,
                    )
                elif re.search(r"://[^/\s:@]+:[^/\s@]+@", value):
                    yield Issue(
                        f"[{section}] {key} has a password in its URL: remove it and "
                        "use `dvc remote modify --local ... password ...`",
                        CONFIG,
                        line,
                    )


class StageCommandsExist(_Pipeline):
    """The files and modules every stage's ``cmd`` runs exist: scripts run by
    ``python``/``bash`` or as ``./x``, ``python -m`` modules of the package, the
    package's console scripts (see ``CI007`` for the full list).

    ``dvc repro`` would otherwise fail at that stage, after the ones before it ran.
    """

    code = "DVC007"
    summary = "the commands the stages run exist"
    requires = ("DVC001",)
    needs = (PIPELINE, "setup.cfg", "pyproject.toml")

    def run(self, ctx: Context) -> Iterable[Issue]:
        from . import commands

        parsed = ctx.yaml(PIPELINE)
        for name, stage in _stages(ctx):
            if stage.get("wdir") not in (None, ".", "./") or "foreach" in stage:
                continue  # commands run elsewhere than the repository root
            cmd = stage.get("cmd")
            lines = [cmd] if isinstance(cmd, str) else [c for c in cmd or [] if isinstance(c, str)]
            for index, line in enumerate(lines):
                for problem in commands.problems(ctx, line):
                    at = (
                        _line(parsed, "stages", name, "cmd", index)
                        if isinstance(cmd, list)
                        else _line(parsed, "stages", name, "cmd")
                    )
                    yield Issue(f"stage {name!r}: `{line.strip()}`: {problem}", PIPELINE, at)


class OutputsDoNotOverlap(_Pipeline):
    """No two stage outputs (``outs``, ``metrics``, ``plots``) are the same path, and
    none lies inside another (``data/processed`` and ``data/processed/train.csv``).

    DVC refuses such a pipeline at ``dvc repro`` ("output ... is specified in: ...",
    "Paths for outs ... overlap"): one of the two must go, or the folder must become
    the single output.
    """

    code = "DVC008"
    summary = "stage outputs do not overlap"
    requires = ("DVC001",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        parsed = ctx.yaml(PIPELINE)
        seen: list[tuple[str, str, int | None]] = []  # (path, stage, line)
        for name, stage in _stages(ctx):
            for key in _OUT_KEYS:
                for index, path, _ in _entries(stage, key):
                    if _templated(stage, path):
                        continue
                    full = _in_stage(stage, path)
                    line = _line(parsed, "stages", name, key, index)
                    for other, owner, _ in seen:
                        if (
                            other == full
                            or full.startswith(other + "/")
                            or other.startswith(full + "/")
                        ):
                            what = (
                                f"is listed twice (also in stage {owner!r})"
                                if other == full
                                else f"overlaps {other} (stage {owner!r})"
                            )
                            yield Issue(
                                f"stage {name!r}: output {full} {what}: DVC refuses "
                                "overlapping outputs; keep one",
                                PIPELINE,
                                line,
                            )
                            break
                    seen.append((full, name, line))
