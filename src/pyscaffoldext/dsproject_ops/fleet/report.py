"""What a fleet run says: the progress line, the final table, Markdown and JSON (pure)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Sequence

from .outcome import CONFLICTS, LABELS, ORDER, WOULD_CONFLICT, Result


def detail(r: Result) -> str:
    """One line: the conflicted files, or why it was refused or failed, and the branch."""
    parts = []
    if r.status in (CONFLICTS, WOULD_CONFLICT) and r.conflicts:
        parts.append(", ".join(r.conflicts))
    if r.reason:
        parts.append(r.reason)
    if r.branch:
        where = f"{r.branch} ({r.branch_state}{', pushed' if r.pushed else ''})"
        parts.append(where)
    return "; ".join(parts)


def progress(done: int, total: int, r: Result) -> str:
    text = detail(r)
    return f"[{done}/{total}] {r.name}: {LABELS[r.status]}" + (f": {text}" if text else "")


def ordered(results: Sequence[Result]) -> list[Result]:
    return sorted(results, key=lambda r: (ORDER.index(r.status), r.name, r.path))


def counts(results: Sequence[Result]) -> dict[str, int]:
    found = Counter(r.status for r in results)
    return {LABELS[s]: found[s] for s in ORDER if found[s]}


def summary(results: Sequence[Result]) -> str:
    return f"{len(results)} repositories: " + ", ".join(
        f"{n} {label}" for label, n in counts(results).items()
    )


def table(results: Sequence[Result]) -> str:
    rows = [(r.name, LABELS[r.status], detail(r)) for r in ordered(results)]
    head = ("repository", "outcome", "detail")
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(2)]
    lines = [
        f"{a.ljust(widths[0])}  {b.ljust(widths[1])}  {c}".rstrip() for a, b, c in [head, *rows]
    ]
    lines.insert(1, f"{'-' * widths[0]}  {'-' * widths[1]}  {'-' * 6}")
    return "\n".join(lines) + "\n" + summary(results) + "\n"


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown(results: Sequence[Result], to_version: str, check: bool) -> str:
    title = "pre-screen" if check else "upgrade"
    out = [
        f"# dsops fleet {title}: template {to_version}",
        "",
        summary(results),
        "",
        "| repository | outcome | from | detail |",
        "|---|---|---|---|",
    ]
    for r in ordered(results):
        out.append(
            f"| {_cell(r.name)} | {LABELS[r.status]} | {_cell(r.from_version or '-')} "
            f"| {_cell(detail(r))} |"
        )
    return "\n".join(out) + "\n"


def as_json(results: Sequence[Result], to_version: str, check: bool, branch: str) -> str:
    data = {
        "template_version": to_version,
        "check": check,
        "branch": branch,
        "counts": {s: sum(r.status == s for r in results) for s in ORDER},
        "repositories": [r.as_json() for r in ordered(results)],
    }
    return json.dumps(data, indent=2) + "\n"
