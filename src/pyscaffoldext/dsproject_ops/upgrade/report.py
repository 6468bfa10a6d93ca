"""What the upgrade says: the per-file classes and the unified diffs (pure)."""

from __future__ import annotations

import difflib

from .plan import CLASSES, CONFLICT, KEPT, UNCHANGED, Change, summary


def header(name: str, from_version: str | None, to_version: str) -> str:
    if from_version is None:
        return (
            f"adopting {name}: setup.cfg records no dsproject-ops template; "
            f"merging in template {to_version} (nothing of yours is replaced)"
        )
    return f"upgrading {name} from template {from_version} to {to_version}"


def lines(changes: list[Change], every: bool = False) -> list[str]:
    """One line per file (``every``: unchanged ones too, as a dry run lists them)."""
    width = max(len(k) for k in CLASSES)
    out = []
    for kind in CLASSES:
        if kind == UNCHANGED and not every:
            continue
        for c in changes:
            if c.kind != kind:
                continue
            extra = (
                f" ({c.conflicts} conflict{'s' * (c.conflicts > 1)})" if kind == CONFLICT else ""
            )
            note = f": {c.note}" if c.note else ""
            out.append(f"  {kind.ljust(width)}  {c.path}{extra}{note}")
    counts = summary(changes)
    done = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    out.append(f"{len(changes)} template files: {done}")
    return out


def diff(changes: list[Change]) -> str:
    """What would be written, as a unified diff; for a file kept as yours that the
    template changed, the template's own change, so nothing changes unseen."""
    parts: list[str] = []
    for c in changes:
        if c.writes:
            before = c.ours or ""
            after = c.text or ""
            parts += _udiff(before, after, f"a/{c.path}", f"b/{c.path}" if c.text else "/dev/null")
        elif c.kind == KEPT and c.theirs is not None and c.theirs != c.base:
            parts.append(f"# {c.path}: kept yours; the template's change, not applied:\n")
            parts += _udiff(c.base or "", c.theirs, f"template/{c.path}", f"template/{c.path}")
    return "".join(parts)


def _udiff(before: str, after: str, a: str, b: str) -> list[str]:
    out = []
    for line in difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), a, b
    ):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return out
