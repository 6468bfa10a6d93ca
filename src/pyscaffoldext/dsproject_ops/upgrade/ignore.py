"""Merged ignore files keep what the template re-includes trackable.

git cannot re-include a file whose parent directory is excluded: with a team's
``/data/`` anywhere in ``.gitignore``, the template's ``!/data/*/*.dvc`` does nothing
and ``dvc add`` pointer files become git-ignored. After a merge, every path the
template's own file keeps trackable (a probe made from each of its ``!`` patterns)
is checked the way git checks it (parent directories first, the last matching
pattern wins); a user pattern that hides one is rewritten from a directory exclusion
(``/data/``) to an exclusion of its contents (``/data/**``) placed before the
template's negations, and the merge says so.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def _spec(lines: tuple[str, ...]) -> object:
    import pathspec

    return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def _patterns(text: str) -> list[str]:
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def ignored(patterns: list[str], path: str) -> bool:
    """Whether git would ignore ``path`` (a folder ends with ``/``)."""
    spec = _spec(tuple(patterns))
    parts = path.rstrip("/").split("/")
    for n in range(1, len(parts)):
        if spec.match_file("/".join(parts[:n]) + "/"):  # type: ignore[attr-defined]
            return True  # an excluded folder: nothing under it can be re-included
    return bool(spec.match_file(path))  # type: ignore[attr-defined]


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


def repair(merged: str, template: str) -> tuple[str, list[str]]:
    """``merged`` with user patterns that hide the template's re-included paths
    rewritten; and what was rewritten."""
    wanted = [p for p in probes(template) if not ignored(_patterns(template), p)]
    lines = merged.splitlines(keepends=True)
    broken = [p for p in wanted if ignored(_patterns(merged), p)]
    if not broken:
        return merged, []
    template_lines = {line.strip() for line in template.splitlines()}
    notes = []
    for n, line in enumerate(list(lines)):
        pattern = line.strip()
        if (
            not pattern
            or pattern.startswith(("#", "!"))
            or pattern in template_lines
            or pattern.endswith("**")
        ):
            continue
        without = _patterns("".join(lines[:n] + lines[n + 1 :]))
        hidden = [p for p in broken if not ignored(without, p)]
        if hidden:
            candidate = _place(lines, n, _contents_pattern(pattern), template_lines, hidden)
            if candidate is None:
                continue
            lines = candidate
            notes.append(
                f"{pattern} rewritten to {_contents_pattern(pattern)} (before the template's "
                "re-includes) so the files the template keeps trackable stay trackable"
            )
            broken = [p for p in broken if ignored(_patterns("".join(lines)), p)]
            if not broken:
                break
    return "".join(lines), notes


def _place(
    lines: list[str], n: int, pattern: str, template_lines: set[str], wanted: list[str]
) -> list[str] | None:
    """Move line ``n``, rewritten to ``pattern``, to the first place (its own, then
    before each of the template's re-includes) where it hides no more than the
    template's file does."""
    newline = "\n" if lines[n].endswith("\n") else ""
    rest = lines[:n] + lines[n + 1 :]
    if rest and not rest[-1].endswith("\n"):
        rest[-1] += "\n"
    positions = [n] + [
        m for m, line in enumerate(rest) if line.strip().startswith("!") and line.strip() in template_lines
    ]
    for m in positions:
        candidate = rest[:m] + [pattern + (newline or "\n")] + rest[m:]
        if not any(ignored(_patterns("".join(candidate)), p) for p in wanted):
            return candidate
    return None
