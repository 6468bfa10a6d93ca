"""The upgrade plan: pure. Base, theirs and ours in; one classified change per file out.

* base   = the template version the repository was made (or last upgraded) with,
           rendered with its recorded answers (empty when adopting a foreign repo);
* theirs = the target template version, rendered with the same answers;
* ours   = the user's file (``None``: not in the repository).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .merge3 import Labels, Merged, merge, whole_file_conflict
from .parsecheck import parse_error, sides_error
from .policy import LEGACY, Policies
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
    policies: Policies = LEGACY,
) -> list[Change]:
    return [
        classify(path, base.get(path), ours.get(path), theirs.get(path), labels, adopting, policies)
        for path in sorted(set(base) | set(theirs))
    ]


def classify(
    path: str,
    b: str | None,
    o: str | None,
    t: str | None,
    labels: Labels,
    adopting: bool = False,
    policies: Policies = LEGACY,
) -> Change:
    def change(kind: str, text: str | None = None, conflicts: int = 0, note: str = "") -> Change:
        return Change(path, kind, text, b, o, t, conflicts, note)

    owned = policies.owned(path)
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
    if b is None and (owned or (adopting and policies.kept_when_adopting(path))):
        return change(KEPT, note="the template has its own version (--diff shows it)")
    if o == b:
        problem = parse_error(path, t)
        if problem:  # the template's own file: never expected, never staged unseen
            done = whole_file_conflict(b or "", o, t, labels)
            return change(CONFLICT, done.text, 1, f"the template's file does not parse: {problem}")
        return change(UPDATED, t)
    if t == b:
        return change(KEPT)
    if owned:
        return change(
            KEPT,
            note="yours once changed: the template changed it, not merged "
            "(--diff shows the template's change)",
        )
    result, note = checked_merge(path, b or "", o, t, labels, policies)
    if result.conflicts:
        return change(CONFLICT, result.text, result.conflicts, note)
    if result.text == o:
        return change(KEPT, note=note or "the template's change is already in yours")
    return change(MERGED, result.text, note=note)


def checked_merge(
    path: str, base: str, ours: str, theirs: str, labels: Labels, policies: Policies = LEGACY
) -> tuple[Merged, str]:
    """The merge of one file, parsed again: structured if its kind has one, else by
    lines. A result that loses a line the user added, or does not parse (or whose
    conflicts, resolved to either side, do not), falls back to a line merge and then
    to one whole-file conflict. Returns the merge and what to tell the user."""
    notes: list[str] = []
    structured = merge_structured(path, base, ours, theirs, labels, policies.structured)
    candidates = [structured] if structured is not None else []
    candidates.append(merge(base, ours, theirs, labels))
    for n, result in enumerate(candidates):
        problem = _problem(path, base, ours, result)
        if problem is None:
            if n and structured is not None:  # why the structured merge was not used
                notes = [f"merged by lines: the structured {notes[-1]}"]
            return result, "; ".join(notes + list(result.notes))
        notes.append(problem)
    problem = notes[-1]
    if ours and parse_error(path, ours):
        problem = f"yours does not parse: {parse_error(path, ours)}"
    return whole_file_conflict(base, ours, theirs, labels), f"not merged ({problem})"


def _problem(path: str, base: str, ours: str, result: Merged) -> str | None:
    if result.conflicts:
        problem = sides_error(path, result.text)
        return f"a conflict side does not parse ({problem})" if problem else None
    lost = [line for line in _lost_lines(base, ours, result.text) if line not in result.replaced]
    if lost:
        return f"the merge would lose your line {lost[0]!r}"
    problem = parse_error(path, result.text)
    return f"the merge does not parse ({problem})" if problem else None


def _lost_lines(base: str, ours: str, result: str) -> list[str]:
    """Lines the user added missing from ``result`` (compared by their words: a
    structured merge may re-indent, never drop). A base line the user only put a
    comment on is the template's line with the user's comment: the template may
    change the line (a new pin) as long as the comment stays on a line."""
    before = {_words(line) for line in base.splitlines()}
    after = {_words(line) for line in result.splitlines()}
    comments = {_comment(line)[1] for line in result.splitlines()} - {""}
    return [
        line.strip()
        for line in ours.splitlines()
        if _words(line)
        and _words(line) not in before
        and _words(line) not in after
        and not (_comment(line)[0] in before and _comment(line)[1] in comments)
    ]


def _comment(line: str) -> tuple[str, str]:
    """(the line's words, its end-of-line comment's words): ``x  # why`` -> ("x",
    "# why"); ("", "") for a line without content before a ``#``."""
    for n, char in enumerate(line):
        if char == "#" and n and line[n - 1] in " \t" and line[:n].strip():
            return _words(line[:n]), _words(line[n:])
    return "", ""


def _words(line: str) -> str:
    return " ".join(line.split())


def summary(changes: list[Change]) -> dict[str, int]:
    counts = {kind: 0 for kind in CLASSES}
    for c in changes:
        counts[c.kind] += 1
    return counts
