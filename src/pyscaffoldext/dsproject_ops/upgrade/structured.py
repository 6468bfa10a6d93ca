"""Structured three-way merges: files merged as data, not as lines.

* YAML (``environment.yml``, ``.pre-commit-config.yaml``): ruamel.yaml round-trip
  trees (:mod:`.yamlmerge`), dumped in the user's own indentation, comments kept;
* INI (``setup.cfg``, ``.flake8``, ``tox.ini``, ``.dvc/config``): configupdater
  (:mod:`.inimerge`), same-meaning keys (``max-line-length``/``max_line_length``) one;
* ignore files and requirements: one item per line, keyed by the pattern or the
  package name (packaging), merged item by item here; merged ignore files keep what
  the template re-includes trackable (:mod:`.ignore`).

The user's additions stay where the user put them, the template's changes and
additions are applied, and only an item both sides changed differently becomes a
(small) conflict. Which files take which merge is the template's ``_upgrade``
section (:mod:`.policy`); the caller parses every result again (:mod:`.parsecheck`).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Callable, Hashable, Mapping, Optional

from .merge3 import Labels, Merged, conflict_block, merge, whole_file_conflict

Key = Optional[Hashable]


@dataclass
class Item:
    key: Key
    lines: list[str]
    # A new item that starts a group (an INI section, a top-level YAML key) is never
    # inserted inside another group: it goes after the whole group it follows.
    group: bool = False


SubMerge = Callable[[Optional[Item], Item, Item, Labels], tuple[list[str], int]]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _name(spec: str) -> str:
    """``numpy==2.1`` -> ``numpy``; ``pip:`` stays ``pip:`` (it opens a sub-list)."""
    spec = spec.strip()
    return re.split(r"[=<>!~;\[\s]", spec, maxsplit=1)[0].lower() or spec


# --- parsers: text -> items ---------------------------------------------------------


def parse_lines(text: str) -> list[Item]:
    """Ignore files: each pattern (and each comment) is its own item."""
    return [Item(line.strip() or None, [line]) for line in _lines(text)]


def parse_requirements(text: str) -> list[Item]:
    """requirements*.txt: one item per requirement, keyed by its package name
    (packaging's canonical name); comments and options keyed by their text."""
    items = []
    for line in _lines(text):
        stripped = line.strip()
        if not stripped:
            items.append(Item(None, [line]))
        elif stripped.startswith(("#", "-")):
            items.append(Item(("text", stripped), [line]))
        else:
            items.append(Item(("requirement", _requirement_name(stripped)), [line]))
    return items


def _requirement_name(spec: str) -> str:
    from ..repository.requirements import parse

    req = parse(spec.split(" #", 1)[0].strip())
    return req.name if not req.error else _name(spec)


# --- sub-merges: one item changed by both sides -------------------------------------


def leaf_conflict(
    base: Item | None, ours: Item, theirs: Item, labels: Labels
) -> tuple[list[str], int]:
    return conflict_block(ours.lines, base.lines if base else [], theirs.lines, labels), 1


def _unique(items: list[Item]) -> list[Item]:
    """Repeated keys (two identical comment lines) get an occurrence number."""
    seen: dict[Hashable, int] = {}
    out = []
    for item in items:
        if item.key is None:
            out.append(item)
            continue
        count = seen.get(item.key, 0)
        seen[item.key] = count + 1
        out.append(Item((item.key, count), item.lines, item.group))
    return out


def merge_items(
    base_items: list[Item],
    ours_items: list[Item],
    theirs_items: list[Item],
    labels: Labels,
    sub: SubMerge,
) -> tuple[list[str], int]:
    base = {i.key: i for i in _unique(base_items) if i.key is not None}
    theirs_list = _unique(theirs_items)
    theirs = {i.key: i for i in theirs_list if i.key is not None}
    ours_list = _unique(ours_items)
    ours_keys = {i.key for i in ours_list if i.key is not None}
    conflicts = 0
    # out: [key or None, lines, group]
    out: list[tuple[Key, list[str], bool]] = []
    for item in ours_list:
        k = item.key
        if k is None:
            out.append((None, item.lines, False))
            continue
        b, t = base.get(k), theirs.get(k)
        lines = item.lines
        if b is not None and t is None:
            if item.lines == b.lines:
                continue  # dropped by the template, never changed by the user
        elif t is not None and t.lines != item.lines:
            if b is not None and b.lines == item.lines:
                lines = t.lines
            elif b is None or b.lines != t.lines:
                lines, found = sub(b, item, t, labels)
                conflicts += found
        out.append((k, lines, item.group))
    # The template's additions (and its changes to items the user deleted, as
    # conflicts), placed after the item they follow in the template.
    index = {k: n for n, (k, _, _) in enumerate(out) if k is not None}
    anchor: Key = None
    pending: list[str] = []
    keyless: list[str] = []
    pending_group = False
    inserts: list[tuple[Key, list[str], bool]] = []
    for item in theirs_list:
        k = item.key
        if k is None:
            keyless.extend(item.lines)
            continue
        if k in ours_keys:
            if pending:
                inserts.append((anchor, pending, pending_group))
                pending, pending_group = [], False
            anchor = k if k in index else anchor
            keyless = []
            continue
        b = base.get(k)
        if b is None:
            new = item.lines
        elif b.lines != item.lines:
            new, found = leaf_conflict(b, Item(k, []), item, labels)
            conflicts += found
        else:
            keyless = []
            continue  # deleted by the user, unchanged by the template: stays deleted
        if not pending:
            pending_group = item.group
        pending.extend(keyless + new)
        keyless = []
    if pending:
        inserts.append((anchor, pending, pending_group))
    for anchor_key, lines, group in reversed(inserts):
        position = _insert_at(out, anchor_key, group)
        if group and position < len(out) and lines[-1].strip():
            lines = lines + ["\n"]  # keep a blank line before the next section
        out[position:position] = [(None, lines, False)]
    return _ensure_newlines([line for _, lines, _ in out for line in lines]), conflicts


def _insert_at(out: list[tuple[Key, list[str], bool]], anchor: Key, group: bool) -> int:
    position = 0
    if anchor is not None:
        position = next(n for n, (k, _, _) in enumerate(out) if k == anchor) + 1
    if group:  # a new section goes after the whole section it follows
        while position < len(out) and not out[position][2]:
            position += 1
    return position


def _ensure_newlines(lines: list[str]) -> list[str]:
    # An item that ended the file without a newline may now be followed by another.
    return [line if line.endswith("\n") else line + "\n" for line in lines[:-1]] + lines[-1:]


# --- which merge for which file -------------------------------------------------------

IGNORE, REQUIREMENTS, YAML, INI = "ignore entries", "requirements", "YAML tree", "INI options"
# Used only for a template version whose cookiecutter.json has no "_upgrade" section
# (0.1.0): the kinds as they were when it was released.
DEFAULT_KINDS: dict[str, str] = {
    ".gitignore": IGNORE,
    "*/.gitignore": IGNORE,
    ".dvcignore": IGNORE,
    ".dockerignore": IGNORE,
    "requirements*.txt": REQUIREMENTS,
    "environment.yml": YAML,
    "environment.yaml": YAML,
    ".pre-commit-config.yaml": YAML,
    "setup.cfg": INI,
    ".dvc/config": INI,
    "tox.ini": INI,
    ".flake8": INI,
}
# Bounds: a bigger file is line-merged (and its result still parsed).
MAX_STRUCTURED_BYTES = 1_000_000


def kind_of(path: str, kinds: Mapping[str, str] | None = None) -> str | None:
    for pattern, kind in (DEFAULT_KINDS if kinds is None else kinds).items():
        if fnmatch.fnmatchcase(path, pattern):
            return kind
    return None


def merge_structured(
    path: str,
    base: str,
    ours: str,
    theirs: str,
    labels: Labels,
    kinds: Mapping[str, str] | None = None,
) -> Merged | None:
    """The structured merge for ``path``, or None when only a line merge applies
    (not a structured kind, too big, or a side its parser cannot read)."""
    kind = kind_of(path, kinds)
    if kind is None or max(len(base), len(ours), len(theirs)) > MAX_STRUCTURED_BYTES:
        return None
    if ours == theirs:
        return Merged(ours, 0)
    if ours == base:
        return Merged(theirs, 0)
    if theirs == base:
        return Merged(ours, 0)
    if kind in (YAML, INI):
        return _tree_merge(kind, path, base, ours, theirs, labels)
    parse = parse_requirements if kind == REQUIREMENTS else parse_lines
    lines, conflicts = merge_items(parse(base), parse(ours), parse(theirs), labels, leaf_conflict)
    text = "".join(lines)
    notes: list[str] = []
    replaced: list[str] = []
    if kind == IGNORE and not conflicts:
        from .ignore import repair

        text, notes, replaced = repair(text, theirs)
    return Merged(text, conflicts, tuple(notes), tuple(replaced))


def _tree_merge(
    kind: str, path: str, base: str, ours: str, theirs: str, labels: Labels
) -> Merged | None:
    from .inimerge import IniUnmergeable, merge_ini
    from .yamlmerge import YamlUnmergeable, merge_yaml

    def run(side: str) -> tuple[str, int, list[str]]:
        if kind == YAML:
            text, state = merge_yaml(path, base, ours, theirs, side)
        else:
            text, state = merge_ini(base, ours, theirs, side)
        return text, state.conflicts, state.notes

    try:
        text, conflicts, notes = run("ours")
        if not conflicts:
            return Merged(text, 0, tuple(notes))
        # Each side of every conflict region is what that side's merge wrote, so
        # resolving the file to either side leaves a file that parses.
        base_side, _, _ = run("base")
        theirs_side, _, _ = run("theirs")
    except (YamlUnmergeable, IniUnmergeable):
        return None
    except Exception:  # noqa: BLE001 - an input the tree engines do not handle
        # (exotic YAML: merge keys, complex keys; INI the editor cannot place): the
        # line merge takes over, and its result is parsed like any other.
        return None
    done = merge(base_side, text, theirs_side, labels)
    if not done.conflicts:
        return whole_file_conflict(base, ours, theirs, labels, tuple(notes))
    return Merged(done.text, done.conflicts, tuple(notes))
