"""The repository's file list: from git when it is a git repository (tracked with
their modes, untracked, ignored), else a walk that skips tool folders.

``git ls-files -z`` is the one source for what git sees: it knows the index format,
sparse checkouts, split indexes and worktrees, which a hand-written reader does not.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SYMLINK_MODE = "120000"
GITLINK_MODE = "160000"  # a submodule

# Folders never walked when the repository has no git index.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".tox",
        ".nox",
        ".gitlab-ci-local",
        "mlruns",
        "mlartifacts",
        ".ipynb_checkpoints",
        "build",
        "dist",
        ".eggs",
    }
)


def git_dir(root: Path) -> Path | None:
    """The repository's git folder (``.git`` itself, or a worktree's ``gitdir:`` file)."""
    dot = root / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():
        try:
            text = dot.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None
        if text.startswith("gitdir:"):
            target = Path(text[7:].strip())
            return target if target.is_absolute() else (root / target).resolve()
    return None


def _git(root: Path, *args: str) -> list[str] | None:
    """NUL-separated output of ``git ARGS`` in ``root``, or None when git fails."""
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=root,
            capture_output=True,
            timeout=60,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return [p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def tracked(root: Path) -> dict[str, str] | None:
    """``{path: mode}`` of every tracked path (``100644``, ``100755``, ``120000`` for a
    symlink, ``160000`` for a submodule), merge stages folded; None when git cannot
    list them."""
    entries = _git(root, "ls-files", "-z", "--stage")
    if entries is None:
        return None
    found: dict[str, str] = {}
    for entry in entries:
        meta, _, path = entry.partition("\t")
        found.setdefault(path, meta.split(" ", 1)[0])
    return found


def untracked(root: Path) -> list[str]:
    """Files git does not track and does not ignore: what ``git add -A`` would add."""
    return sorted(_git(root, "ls-files", "-z", "--others", "--exclude-standard") or [])


def ignored(root: Path) -> list[str]:
    """Ignored paths, an ignored folder as one ``folder/`` entry."""
    listed = _git(
        root, "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"
    )
    return sorted(listed or [])


def walk(root: Path) -> list[str]:
    """Every file on disk outside tool folders and ``data/`` (symlinks listed, never
    followed)."""
    found: list[str] = []
    for folder, dirs, names in os.walk(root):
        rel_folder = os.path.relpath(folder, root).replace(os.sep, "/")
        kept = []
        for d in sorted(dirs):
            if (
                d in SKIP_DIRS
                or d.endswith(".egg-info")
                or (rel_folder == "." and d == "data")
                or (rel_folder == ".dvc" and d in ("cache", "tmp"))
            ):
                continue
            if os.path.islink(os.path.join(folder, d)):
                names.append(d)  # a symlinked folder is one entry, never walked
            else:
                kept.append(d)
        dirs[:] = kept
        for name in names:
            found.append(name if rel_folder == "." else f"{rel_folder}/{name}")
    return sorted(found)
