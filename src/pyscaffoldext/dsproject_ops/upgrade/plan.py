"""The upgrade plan: pure. Base, theirs and ours in; one classified change per file out.

* base   = the template version the repository was made (or last upgraded) with,
           rendered with its recorded answers (empty when adopting a foreign repo);
* theirs = the target template version, rendered with the same answers;
* ours   = the user's file (``None``: not in the repository).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Mapping

from .merge3 import Labels, merge
from .structured import merge_structured

ADDED = "added"
UPDATED = "updated"
MERGED = "merged cleanly"
CONFLICT = "conflict"
KEPT = "kept yours"
DELETED = "deleted by you"
REMOVED = "removed"
# Adoption: a template file left out because it would break the team's layout.
SKIPPED = "skipped"
UNCHANGED = "unchanged"
# The order the report lists them in.
CLASSES = (CONFLICT, MERGED, UPDATED, ADDED, REMOVED, SKIPPED, KEPT, DELETED, UNCHANGED)
WRITES = frozenset({ADDED, UPDATED, MERGED, CONFLICT, REMOVED})

# Files the user owns after generation: once changed, they are never merged (a
# notebook's JSON or replaced example code merged line by line would be nonsense);
# a template change to them is reported, never skipped silently.
USER = "yours once changed"
MERGE = "merged"
POLICIES: tuple[tuple[str, str], ...] = (
    ("notebooks/*.ipynb", USER),
    ("params.yaml", USER),
    ("src/*/data.py", USER),
    ("src/*/features.py", USER),
    ("tests/test_features.py", USER),
)
# Adopting a repository we did not make: its own documents stay as they are.
ADOPT_KEEP = ("README.md", "LICENSE.txt", "AUTHORS.md", "CHANGELOG.md", "docs/index.md")


def policy(path: str) -> str:
    for pattern, rule in POLICIES:
        if fnmatch.fnmatchcase(path, pattern):
            return rule
    return MERGE


@dataclass(frozen=True)
class Change:
    path: str
    kind: str
    # What the file becomes (None: nothing is written, or the file is removed).
    text: str | None = None
    base: str | None = None
    ours: str | None = None
    theirs: str | None = None
    conflicts: int = 0
    note: str = ""

    @property
    def writes(self) -> bool:
        return self.kind in WRITES


def plan(
    base: Mapping[str, str],
    theirs: Mapping[str, str],
    ours: Mapping[str, str | None],
    labels: Labels,
    adopting: bool = False,
) -> list[Change]:
    return [
        classify(path, base.get(path), ours.get(path), theirs.get(path), labels, adopting)
        for path in sorted(set(base) | set(theirs))
    ]


def classify(
    path: str,
    b: str | None,
    o: str | None,
    t: str | None,
    labels: Labels,
    adopting: bool = False,
) -> Change:
    def change(kind: str, text: str | None = None, conflicts: int = 0, note: str = "") -> Change:
        return Change(path, kind, text, b, o, t, conflicts, note)

    owned = policy(path) == USER
    if o is None:
        if b is None:
            return change(ADDED, t)
        if t is None:
            return change(UNCHANGED)
        return change(DELETED, note="the template changed it" if t != b else "")
    if t is None:
        if o == b:
            return change(REMOVED)
        return change(KEPT, note="the template dropped it; yours is kept because you changed it")
    if o == t:
        return change(UNCHANGED)
    if b is None and (owned or (adopting and path in ADOPT_KEEP)):
        return change(KEPT, note="the template has its own version (--diff shows it)")
    if o == b:
        return change(UPDATED, t)
    if t == b:
        return change(KEPT)
    if owned:
        return change(
            KEPT,
            note="yours once changed: the template changed it, not merged "
            "(--diff shows the template's change)",
        )
    result = merge_structured(path, b or "", o, t, labels)
    if result is None:
        result = merge(b or "", o, t, labels)
    if result.conflicts:
        return change(CONFLICT, result.text, result.conflicts)
    if result.text == o:
        return change(KEPT, note="the template's change is already in yours")
    return change(MERGED, result.text)


def summary(changes: list[Change]) -> dict[str, int]:
    counts = {kind: 0 for kind in CLASSES}
    for c in changes:
        counts[c.kind] += 1
    return counts
