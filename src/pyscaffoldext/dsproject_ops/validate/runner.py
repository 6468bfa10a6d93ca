"""Run every check over one repository: crashes become findings, prerequisites skip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import config as config_mod
from .context import Context
from .registry import (  # noqa: F401 - ToolMissing: this module's name before the move
    Check,
    Finding,
    Issue,
    ToolMissing,
    all_checks,
    run_order,
    severity_rank,
)

PASSED, FAILED, SKIPPED, NOT_APPLICABLE, NOT_REQUESTED = (
    "passed",
    "failed",
    "skipped",
    "not applicable",
    "not requested",
)


class Result:
    def __init__(
        self,
        root: Path,
        answers: dict[str, str] | None,
        checks: list[type[Check]],
        config: config_mod.Config | None = None,
    ) -> None:
        self.root = root
        self.answers = answers
        self.checks = checks
        self.status: dict[str, str] = {}
        self.skipped: dict[str, str] = {}  # code -> why
        self.findings: list[Finding] = []
        self.ignored: list[Finding] = []
        self.external: dict[str, str] = {}  # tool -> ran / not installed / ...
        self.config = config or config_mod.Config()
        self.context: Context = Context(root)  # the repository as the checks saw it

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def failing(self, fail_on: str) -> list[Finding]:
        threshold = severity_rank(fail_on)
        return [f for f in self.findings if severity_rank(f.severity) >= threshold]

    def exit_code(self, fail_on: str) -> int:
        return 1 if self.failing(fail_on) else 0


def validate(
    root: Path,
    external: bool = False,
    options: dict[str, Any] | None = None,
    only: set[str] | None = None,
) -> Result:
    """Check ``root`` (only the checks coded in ``only``, when given); raises
    :class:`config.ConfigError` for a bad configuration."""
    checks = all_checks()
    ctx = Context(root, options)
    cfg = config_mod.load(ctx, {c.code for c in checks})
    ctx.options.setdefault("max_file_kb", cfg.max_file_kb)
    result = Result(root=root, answers=ctx.answers, checks=checks, config=cfg)
    result.context = ctx
    chosen = checks if only is None else _with_prerequisites(checks, only)
    for cls in run_order(chosen):
        _run_one(cls(), ctx, result, external)
    return result


def _with_prerequisites(checks: list[type[Check]], only: set[str]) -> list[type[Check]]:
    """The checks in ``only`` and, transitively, the checks they require."""
    by_code = {c.code: c for c in checks}
    wanted, todo = set(), [code for code in only if code in by_code]
    while todo:
        code = todo.pop()
        if code not in wanted:
            wanted.add(code)
            todo.extend(by_code[code].requires)
    return [c for c in checks if c.code in wanted]


def _run_one(check: Check, ctx: Context, result: Result, external: bool) -> None:
    code = check.code
    if check.tool is not None and not external:
        result.status[code] = NOT_REQUESTED
        result.external.setdefault(check.tool, "not requested (use --external)")
        return
    try:
        applies = check.applies(ctx)
    except Exception as exc:  # a crash is a finding, never the end of the run
        _crash(check, exc, result)
        return
    if not applies:
        result.status[code] = NOT_APPLICABLE
        if check.tool is not None:
            result.external.setdefault(check.tool, "had nothing to check")
        return
    broken = [rel for rel in check.needs if ctx.is_file(rel) and ctx.broken(rel)]
    if broken:
        _skip(result, code, f"{', '.join(broken)} does not parse (see the syntax checks)")
        return
    # Only a prerequisite that ran and passed lets a check run: one that failed, was
    # skipped, did not apply or was not requested vouches for nothing.
    blocked = [req for req in check.requires if result.status.get(req) != PASSED]
    if blocked:
        why = ", ".join(result.status.get(req, "not run") for req in blocked)
        _skip(result, code, f"prerequisite {', '.join(blocked)} did not pass ({why})")
        return
    try:
        issues = list(check.run(ctx))
    except ToolMissing as missing:
        result.status[code] = NOT_APPLICABLE
        result.external[str(missing)] = "not installed"
        return
    except Exception as exc:
        _crash(check, exc, result)
        return
    if check.tool is not None:
        result.external[check.tool] = "ran"
    failed = False
    for issue in issues:
        finding = _finding(check, issue)
        reason = result.config.reason(finding)
        if reason is None:
            result.findings.append(finding)
            failed = True
        else:
            result.ignored.append(_with_reason(finding, reason))
    result.status[code] = FAILED if failed else PASSED


def _finding(check: Check, issue: Issue) -> Finding:
    return Finding(
        code=check.code,
        family=check.family,
        severity=issue.severity or check.severity,
        message=issue.message,
        file=issue.file,
        line=issue.line,
        column=issue.column,
        rule=issue.rule,
    )


def _with_reason(finding: Finding, reason: str) -> Finding:
    return finding._replace(ignored=reason)


def _skip(result: Result, code: str, why: str) -> None:
    result.status[code] = SKIPPED
    result.skipped[code] = why


def _crash(check: Check, exc: Exception, result: Result) -> None:
    import traceback

    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    finding = Finding(
        code=check.code,
        family=check.family,
        severity="error",
        message=f"the check crashed ({type(exc).__name__}: {exc}{where}); "
        "please report this bug to dsproject-ops",
    )
    result.findings.append(finding)
    result.status[check.code] = FAILED
