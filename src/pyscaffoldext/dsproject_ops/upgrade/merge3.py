"""Three-way line merge: git's own ``merge-file``, so the result and its conflict
markers are exactly what ``git merge`` would write and every editor recognises."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass

from . import GIT

MARKERS = ("<<<<<<< ", "||||||| ", "=======", ">>>>>>> ")


@dataclass(frozen=True)
class Labels:
    """How the conflict markers name each side, e.g. ``yours`` / ``template 0.1.0``."""

    ours: str = "yours"
    base: str = "base"
    theirs: str = "template"


@dataclass(frozen=True)
class Merged:
    text: str
    conflicts: int
    notes: tuple[str, ...] = ()
    # User lines the merge replaced on purpose (each said in ``notes``).
    replaced: tuple[str, ...] = ()


def merge(base: str, ours: str, theirs: str, labels: Labels = Labels()) -> Merged:
    """Merge ``ours`` and ``theirs`` from ``base``; conflicts get diff3 markers
    (``zdiff3``: lines common to both sides are moved out of the conflict)."""
    if ours == theirs:
        return Merged(ours, 0)
    if ours == base:
        return Merged(theirs, 0)
    if theirs == base:
        return Merged(ours, 0)
    with tempfile.TemporaryDirectory(prefix="dsops-merge-") as tmp:
        names = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = os.path.join(tmp, name)
            with open(path, "w", encoding="utf-8", errors="surrogateescape", newline="") as fh:
                fh.write(text)
            names.append(path)
        done = subprocess.run(
            [*GIT, "merge-file", "-p", "--zdiff3"]
            + ["-L", labels.ours, "-L", labels.base, "-L", labels.theirs]
            + names,
            capture_output=True,
        )
    if done.returncode < 0 or done.returncode > 127:
        raise RuntimeError(f"git merge-file failed: {done.stderr.decode(errors='replace')}")
    text = done.stdout.decode("utf-8", errors="surrogateescape")
    return Merged(text, count_conflicts(text) if done.returncode else 0)


def count_conflicts(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.startswith(MARKERS[0]))


def conflict_block(
    ours: list[str], base: list[str], theirs: list[str], labels: Labels
) -> list[str]:
    """One conflict region (lines with their newlines), as ``merge-file --diff3`` writes it."""
    block = [f"{MARKERS[0]}{labels.ours}\n", *_terminated(ours)]
    block += [f"{MARKERS[1]}{labels.base}\n", *_terminated(base)]
    block += [f"{MARKERS[2]}\n", *_terminated(theirs), f"{MARKERS[3]}{labels.theirs}\n"]
    return block


def _terminated(lines: list[str]) -> list[str]:
    return [line if line.endswith("\n") else line + "\n" for line in lines]


def whole_file_conflict(
    base: str, ours: str, theirs: str, labels: Labels, notes: tuple[str, ...] = ()
) -> Merged:
    """The whole file as one conflict region: each side is a whole original file, so
    resolving it to either side gives back a file that parses."""
    text = "".join(conflict_block(_lines(ours), _lines(base), _lines(theirs), labels))
    return Merged(text, 1, notes)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)
