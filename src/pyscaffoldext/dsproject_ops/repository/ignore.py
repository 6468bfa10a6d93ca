"""git's ignore rules. In a git repository git itself answers (``git check-ignore
--stdin``: every ``.gitignore``, ``.git/info/exclude`` and the user's excludes file,
exactly as ``git add`` applies them); elsewhere every ``.gitignore`` of the folder is
read with ``pathspec`` (a deeper file's rules win for the paths under it)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterable


def git_check_ignore(root: Path, paths: Iterable[str]) -> set[str] | None:
    """The ones among ``paths`` git would ignore (tracked or not, existing or not), or
    None when git cannot answer."""
    listed = [p for p in paths if p]
    if not listed:
        return set()
    try:
        done = subprocess.run(
            ["git", "check-ignore", "--no-index", "-z", "--stdin"],
            cwd=root,
            input="\0".join(listed).encode("utf-8", "surrogateescape") + b"\0",
            capture_output=True,
            timeout=60,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode not in (0, 1):  # 1: none of them is ignored
        return None
    return {p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p}


class IgnoreRules:
    def __init__(self, files: dict[str, str]) -> None:
        """``files``: ``{path of a .gitignore: its text}``."""
        import pathspec

        self._specs: list[tuple[str, Any]] = sorted(
            (
                (rel.rsplit("/", 1)[0] + "/" if "/" in rel else "", _spec(pathspec, text))
                for rel, text in files.items()
            ),
            key=lambda item: item[0].count("/"),
        )

    def ignored(self, rel: str) -> bool:
        """Whether git would ignore ``rel`` (POSIX, relative to the root; a trailing
        ``/`` asks about a folder). Paths need not exist."""
        result = False
        for folder, spec in self._specs:
            if folder and not rel.startswith(folder):
                continue
            check = spec.check_file(rel[len(folder) :])
            if check.include is not None:
                result = bool(check.include)
        return result

    @classmethod
    def read(cls, files: list[str], text: Callable[[str], str | None]) -> "IgnoreRules":
        found = {}
        for rel in files:
            if rel == ".gitignore" or rel.endswith("/.gitignore"):
                found[rel] = text(rel) or ""
        return cls(found)


def _spec(pathspec: Any, text: str) -> Any:
    return pathspec.GitIgnoreSpec.from_lines(text.splitlines())
