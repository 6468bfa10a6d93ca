"""Where the learner stands: ``<git folder>/dsops/learn.json``.

Inside the git folder, progress is never tracked, needs no ``.gitignore`` line (an
adopted repository's ignore rules are not ours to change), and belongs to this clone
and worktree only. Found without running git, so ``dsops learn`` starts fast. A
folder that is not a git repository has no saved progress (the CLI says so).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1
MAX_BYTES = 1_000_000  # a progress file is a few hundred bytes: refuse anything huge


def git_dir(root: Path) -> Path | None:
    """The git folder of the work tree holding ``root`` (a worktree's own, via ``.git`` files)."""
    for folder in (root, *root.parents):
        dot = folder / ".git"
        if dot.is_dir():
            return dot
        if dot.is_file():
            try:
                line = dot.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                return None
            if line.startswith("gitdir:"):
                target = Path(line[len("gitdir:") :].strip())
                return target if target.is_absolute() else (folder / target).resolve()
            return None
    return None


def location(root: Path) -> Path | None:
    folder = git_dir(root)
    return folder / "dsops" / "learn.json" if folder is not None else None


@dataclass
class Progress:
    path: Path | None
    # lesson -> {"status": "passed" | "skipped", "at": ISO time, "reason": str}
    lessons: dict[str, dict[str, str]] = field(default_factory=dict)

    def status(self, lesson: str) -> str:
        return self.lessons.get(lesson, {}).get("status", "")

    def record(self, lesson: str, status: str, reason: str = "") -> None:
        from datetime import datetime, timezone

        entry = {"status": status, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if reason:
            entry["reason"] = reason
        self.lessons[lesson] = entry

    def forget(self, lesson: str) -> None:
        self.lessons.pop(lesson, None)


def load(root: Path) -> Progress:
    path = location(root)
    if path is None or not path.is_file():
        return Progress(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            return Progress(path)
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return Progress(path)  # unreadable progress is started afresh, never an error
    lessons = data.get("lessons") if isinstance(data, dict) else None
    clean = {
        str(k): {str(a): str(b) for a, b in v.items()}
        for k, v in (lessons or {}).items()
        if isinstance(v, dict)
    }
    return Progress(path, clean)


def save(progress: Progress) -> bool:
    """Write atomically; False when there is nowhere to write (no git folder)."""
    if progress.path is None:
        return False
    progress.path.parent.mkdir(parents=True, exist_ok=True)
    import tempfile

    text = json.dumps({"format": FORMAT, "lessons": progress.lessons}, indent=1, sort_keys=True)
    fd, tmp = tempfile.mkstemp(prefix=".learn-", dir=progress.path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, progress.path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def reset(root: Path) -> Path | None:
    path = location(root)
    if path is not None:
        path.unlink(missing_ok=True)
    return path
