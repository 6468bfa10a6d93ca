"""``dsops validate --fix`` / ``--diff``: the mechanical fixes, written safely.

Each fix is a small method beside its check (:meth:`.registry.Check.fix`) that
returns the new text of the files its findings name. Here they are collected, shown
as a unified diff and written: never a file no finding named, never a file with
uncommitted changes (unless ``--force``), each file replaced atomically. After writing,
the repository is validated again; a fixed file that now has a finding it did not have
before (a fix that broke the file) is put back as it was.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import NamedTuple

from .registry import Finding
from .runner import Result


class Change(NamedTuple):
    rel: str
    old: str | None  # None: the fix creates the file
    new: str
    codes: tuple[str, ...]


def plan(result: Result) -> list[Change]:
    """The changes the fixable checks propose for ``result``'s findings."""
    ctx = result.context
    by_code: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_code.setdefault(finding.code, []).append(finding)
    changes: dict[str, Change] = {}
    for check in result.checks:
        findings = by_code.get(check.code)
        if not findings or not check.fixable():
            continue
        reported = {f.file for f in findings if f.file}
        for rel, text in check().fix(ctx, findings).items():
            if rel not in reported:
                continue  # a fix may only touch a file its findings name
            if rel in changes:
                continue  # one fix per file and run: the next --fix does the rest
            old = ctx.text(rel) if ctx.exists(rel) else None
            if text != old:
                changes[rel] = Change(rel, old, text, (check.code,))
    return sorted(changes.values())


def uncommitted(root: Path, rels: list[str]) -> set[str]:
    """Those of ``rels`` that git reports as changed, staged or untracked."""
    if not rels or not (root / ".git").exists():
        return set()
    done = subprocess.run(
        ["git", "-c", "core.fsmonitor=false", "status", "--porcelain", "-z", "--", *rels],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return set(rels)  # cannot tell: treat every file as precious
    entries = [e for e in done.stdout.split("\0") if e]
    return {e[3:] for e in entries if len(e) > 3} & set(rels)


def diff(changes: list[Change]) -> str:
    import difflib

    out: list[str] = []
    for change in changes:
        out.extend(
            difflib.unified_diff(
                (change.old or "").splitlines(keepends=True),
                change.new.splitlines(keepends=True),
                fromfile=f"a/{change.rel}" if change.old is not None else "/dev/null",
                tofile=f"b/{change.rel}",
            )
        )
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n\\ No newline at end of file\n"
    return "".join(out)


def write(root: Path, changes: list[Change]) -> None:
    for change in changes:
        target = root / change.rel
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.dsops-fix.{os.getpid()}")
        temporary.write_text(change.new, encoding="utf-8", newline="")
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o7777)
        os.replace(temporary, target)


def undo(root: Path, changes: list[Change]) -> None:
    for change in changes:
        if change.old is None:
            (root / change.rel).unlink(missing_ok=True)
        else:
            write(root, [change._replace(new=change.old)])


def regressions(before: Result, after: Result, changes: list[Change]) -> list[Change]:
    """The changes whose file has a finding now that it did not have before."""
    old = {(f.code, f.file, f.message) for f in before.findings}
    worse = {f.file for f in after.findings if (f.code, f.file, f.message) not in old}
    return [c for c in changes if c.rel in worse]
