"""The report people read: grouped by family, one line per finding, a summary line."""

from __future__ import annotations

from ..registry import FAMILIES, Finding
from ..runner import Result

_COLOURS = {"error": "31", "warning": "33", "info": "36", "ok": "32", "dim": "2"}


def render(result: Result, colour: bool = False) -> str:
    def paint(text: str, what: str) -> str:
        return f"\033[{_COLOURS[what]}m{text}\033[0m" if colour else text

    lines = [f"dsops validate {result.root}"]
    if result.answers is not None:
        shown = ", ".join(
            f"{k}={v}"
            for k, v in sorted(result.answers.items())
            if k in ("template", "ci", "python_version", "example")
        )
        lines.append(f"  checked against the recorded answers ({shown})")
    else:
        lines.append("  no recorded answers: checks chosen from what the repository contains")
    if result.config.source:
        lines.append(f"  configuration: {result.config.source}")
    by_family: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_family.setdefault(finding.family, []).append(finding)
    for family, (_, _, title) in FAMILIES.items():
        found = by_family.get(family)
        if not found:
            continue
        lines.append("")
        lines.append(paint(f"{family}: {title}", "dim") if colour else f"{family}: {title}")
        for f in sorted(found, key=lambda f: (f.file or "", f.line or 0, f.code)):
            lines.append(
                f"  {f.location()}: {paint(f.code, f.severity)} " f"[{f.severity}] {f.message}"
            )
    if result.ignored:
        lines.append("")
        lines.append("ignored by configuration:")
        for f in result.ignored:
            reason = f" ({f.ignored})" if f.ignored else ""
            lines.append(f"  {f.location()}: {f.code}{reason} {f.message}")
    if result.skipped:
        lines.append("")
        lines.append("skipped:")
        for code, why in result.skipped.items():
            lines.append(f"  {code}: {why}")
    if result.external:
        lines.append("")
        states = sorted(result.external.items())
        if all(state.startswith("not requested") for _, state in states):
            names = ", ".join(tool for tool, _ in states)
            lines.append(f"external tools: none requested (--external runs {names})")
        else:
            shown = ", ".join(f"{tool} {state}" for tool, state in states)
            lines.append(f"external tools: {shown}")
    lines.append("")
    lines.append(summary(result, paint))
    return "\n".join(lines) + "\n"


def summary(result: Result, paint: object = None) -> str:
    passed = sum(1 for s in result.status.values() if s == "passed")
    parts = [f"{passed} checks passed"]
    for severity in ("error", "warning", "info"):
        count = result.count(severity)
        if count:
            parts.append(f"{count} {severity}{'s' if count > 1 else ''}")
    if result.ignored:
        parts.append(f"{len(result.ignored)} ignored")
    if result.skipped:
        parts.append(f"{len(result.skipped)} skipped")
    na = sum(1 for s in result.status.values() if s == "not applicable")
    parts.append(f"{na} not applicable")
    return ", ".join(parts)
