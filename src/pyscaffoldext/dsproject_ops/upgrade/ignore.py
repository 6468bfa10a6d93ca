"""Merged ignore files keep what the template re-includes trackable.

git cannot re-include a file whose parent directory is excluded: with a team's
``/data/`` anywhere in ``.gitignore``, the template's ``!/data/*/*.dvc`` does nothing
and ``dvc add`` pointer files become git-ignored. After a merge, every path the
template's own file keeps trackable (a probe made from each of its ``!`` patterns)
is checked by git itself (the repository model's ``git check-ignore`` reader, in a
scratch repository holding the probes as real files and folders); a user pattern
that hides one is rewritten from a directory exclusion (``/data/``) to an exclusion
of its contents (``/data/**``) placed before the template's negations, and the merge
says so.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ..repository.ignore import git_check_ignore

Check = Callable[[str], set[str]]


@contextmanager
def checker(paths: list[str]) -> Iterator[Check]:
    """``check(ignore_text) -> the paths git ignores``, asked of git itself: a scratch
    repository holds the paths as real files and folders (git treats a folder
    differently), so the answer is exactly what ``git status`` would do."""
    with tempfile.TemporaryDirectory(prefix="dsops-ignore-") as tmp:
        subprocess.run(["git", "init", "-q", tmp], check=True, capture_output=True)
        for path in paths:
            target = os.path.join(tmp, *path.rstrip("/").split("/"))
            if path.endswith("/"):
                os.makedirs(target, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "a").close()

        def check(text: str) -> set[str]:
            with open(os.path.join(tmp, ".gitignore"), "w", encoding="utf-8") as fh:
                fh.write(text)
            found = git_check_ignore(Path(tmp), [p.rstrip("/") for p in paths])
            if found is None:
                raise RuntimeError("git check-ignore cannot answer")
            return {p for p in paths if p.rstrip("/") in found}

        yield check


def _patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def probes(template: str) -> list[str]:
    """Sample paths the template re-includes: ``!/data/*/*.dvc`` -> ``data/x/x.dvc``."""
    found = []
    for pattern in _patterns(template):
        if not pattern.startswith("!"):
            continue
        body = pattern[1:]
        anchored = body.startswith("/") or "/" in body.rstrip("/")
        if not anchored:
            continue
        sample = re.sub(r"\*\*", "x", body.lstrip("/"))
        sample = re.sub(r"\[[^\]]*\]", "x", sample).replace("*", "x").replace("?", "x")
        found.append(sample)
    return found


def _contents_pattern(pattern: str) -> str:
    """``/data/`` or ``/data`` -> ``/data/**``: the folder stays, its contents are ignored."""
    return pattern.rstrip("/") + "/**"


def repair(merged: str, template: str) -> tuple[str, list[str], list[str]]:
    """``merged`` with user patterns that hide the template's re-included paths
    rewritten; what to tell the user; the patterns rewritten."""
    samples = probes(template)
    replaced: list[str] = []
    if not samples:
        return merged, [], replaced
    with checker(samples) as check:
        wanted = [p for p in samples if p not in check(template)]
        broken = set(wanted) & check(merged)
        if not broken:
            return merged, [], replaced
        template_lines = {line.strip() for line in template.splitlines()}
        lines = merged.splitlines(keepends=True)
        notes = []
        for line in list(lines):
            pattern = line.strip()
            if (
                not pattern
                or pattern.startswith(("#", "!"))
                or pattern in template_lines
                or any(c in pattern for c in "*?[")  # only a folder named outright
            ):
                continue
            n = lines.index(line)
            hidden = broken - check("".join(lines[:n] + lines[n + 1 :]))
            if not hidden:
                continue
            rewritten = _contents_pattern(pattern)
            candidate = _place(lines, n, rewritten, template_lines, hidden, check)
            if candidate is None:
                continue
            lines = candidate
            replaced.append(pattern)
            notes.append(
                f"{pattern} rewritten to {rewritten} (before the template's re-includes) "
                "so the files the template keeps trackable stay trackable"
            )
            broken = set(wanted) & check("".join(lines))
            if not broken:
                break
        if broken:
            notes.append(
                "your ignore patterns hide paths the template keeps trackable: "
                + ", ".join(sorted(broken))
            )
    return "".join(lines), notes, replaced


def _place(
    lines: list[str],
    n: int,
    pattern: str,
    template_lines: set[str],
    hidden: set[str],
    check: Check,
) -> list[str] | None:
    """Move line ``n``, rewritten to ``pattern``, to the first place (its own, then
    before each of the template's re-includes) where it hides none of ``hidden``."""
    rest = lines[:n] + lines[n + 1 :]
    if rest and not rest[-1].endswith("\n"):
        rest[-1] += "\n"
    positions = [n] + [
        m
        for m, line in enumerate(rest)
        if line.strip().startswith("!") and line.strip() in template_lines
    ]
    for m in positions:
        candidate = rest[:m] + [pattern + "\n"] + rest[m:]
        if not hidden & check("".join(candidate)):
            return candidate
    return None
