"""Merged ignore files keep what the template re-includes trackable.

git cannot re-include a file whose parent directory is excluded: with a team's
``/data/`` anywhere in ``.gitignore``, the template's ``!/data/*/*.dvc`` does nothing
and ``dvc add`` pointer files become git-ignored. After a merge, every path the
template's own file keeps trackable (probes made from each of its ``!`` patterns,
with the folder names the team's patterns use in its wildcards: ``data/processed/``
is probed as ``data/processed/x.dvc``) is checked by git itself (the repository
model's ``git check-ignore`` reader, in a scratch repository holding the probes as
real files and folders). A user pattern that hides one is rewritten from a directory
exclusion (``/data/``) to an exclusion of its contents (``/data/**``), or, when it
already excludes contents only (``data/**``), moved; either way it goes before the
template's negations, the team's original line stays above it as a comment (no line
of theirs leaves the file), and the merge says so.
"""

from __future__ import annotations

import fnmatch
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


GLOB = re.compile(r"[*?\[]")
# Bounds: probes are real files in a scratch repository.
MAX_NAMES, MAX_PROBES = 50, 200
WHY = "by dsops upgrade so DVC pointer files stay trackable"


def _sample(segment: str) -> str:
    segment = re.sub(r"\*\*", "x", segment)
    return re.sub(r"\[[^\]]*\]", "x", segment).replace("*", "x").replace("?", "x")


def _folders(text: str) -> list[list[str]]:
    """The folder paths ``text``'s exclusion patterns name outright, as segments
    (``data/processed/`` -> [data, processed]): where a wildcard of the template's
    may stand for a folder of this repository's."""
    found: dict[str, list[str]] = {}
    for pattern in _patterns(text):
        body = pattern[:-3] if pattern.endswith("/**") else pattern
        if pattern.startswith("!") or GLOB.search(body) or "/" not in body.strip("/"):
            continue  # negations, globs, and names that match at any depth
        found.setdefault(body.strip("/"), body.strip("/").split("/"))
    return list(found.values())[:MAX_NAMES]


def probes(template: str, merged: str = "") -> list[str]:
    """Sample paths the template re-includes: ``!/data/*/*.dvc`` -> ``data/x/x.dvc``,
    and ``data/processed/x.dvc`` when ``merged`` excludes ``data/processed/``."""
    folders = _folders(merged)
    found: dict[str, None] = {}
    for pattern in _patterns(template):
        if not pattern.startswith("!"):
            continue
        body = pattern[1:]
        anchored = body.startswith("/") or "/" in body.rstrip("/")
        if not anchored:
            continue
        segments = body.lstrip("/").split("/")
        sample = [_sample(s) for s in segments]
        found.setdefault("/".join(sample), None)
        # a folder the team names where the template has a wildcard, at the same depth
        for folder in folders:
            if len(folder) >= len(segments) or "**" in segments[: len(folder)]:
                continue
            if all(fnmatch.fnmatchcase(f, s) for f, s in zip(folder, segments)):
                if any(GLOB.search(s) for s in segments[: len(folder)]):
                    found.setdefault("/".join(folder + sample[len(folder) :]), None)
    return list(found)[:MAX_PROBES]


def _contents_pattern(pattern: str) -> str:
    """The same folders, their contents ignored and the folders themselves not:
    ``/data/`` or ``/data`` -> ``/data/**``, ``data/`` (any folder named data) ->
    ``**/data/**``, and ``data/**`` stays as it is."""
    if pattern.endswith("/**"):
        return pattern
    body = pattern.rstrip("/")
    if "/" not in body:  # matched at any depth, as before
        body = "**/" + body
    return body + "/**"


def _rewritable(pattern: str) -> bool:
    """A folder named outright (``/data/``), or the contents of one (``data/**``)."""
    body = pattern[:-3] if pattern.endswith("/**") else pattern
    return bool(body.strip("/")) and not GLOB.search(body)


def repair(merged: str, template: str) -> tuple[str, list[str], list[str]]:
    """``merged`` with user patterns that hide the template's re-included paths
    rewritten; what to tell the user; the patterns rewritten."""
    samples = probes(template, merged)
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
                or not _rewritable(pattern)
            ):
                continue
            n = lines.index(line)
            hidden = broken - check("".join(lines[:n] + lines[n + 1 :]))
            if not hidden:
                continue
            rewritten = _contents_pattern(pattern)
            moved = rewritten == pattern
            # The team's line stays, as a comment above the one that replaces it.
            kept = f"# {pattern}  ({'moved here' if moved else 'rewritten'} {WHY})"
            candidate = _place(lines, n, [kept, rewritten], template_lines, hidden, check)
            if candidate is None:
                continue
            lines = candidate
            replaced.append(pattern)
            done = "moved" if moved else f"rewritten to {rewritten}"
            notes.append(
                f"{pattern} {done} (before the template's re-includes, yours kept as a "
                "comment) so the files the template keeps trackable stay trackable"
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
    replacement: list[str],
    template_lines: set[str],
    hidden: set[str],
    check: Check,
) -> list[str] | None:
    """Move line ``n``, rewritten to the ``replacement`` lines, to the first place (its
    own, then before each of the template's re-includes) where it hides none of
    ``hidden``."""
    rest = lines[:n] + lines[n + 1 :]
    if rest and not rest[-1].endswith("\n"):
        rest[-1] += "\n"
    positions = [n] + [
        m
        for m, line in enumerate(rest)
        if line.strip().startswith("!") and line.strip() in template_lines
    ]
    for m in positions:
        candidate = rest[:m] + [line + "\n" for line in replacement] + rest[m:]
        if not hidden & check("".join(candidate)):
            return candidate
    return None
