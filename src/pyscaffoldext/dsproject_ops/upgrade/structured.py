"""Structured three-way merges for files where a line merge is wrong.

A line merge sees the user's new ``.gitignore`` entry and the template's new entry,
both appended at the end, as a conflict; it cannot apply a pin bump next to a
dependency the user added. Here a file is read as a list of *items* with a key (a
``.gitignore`` pattern, a dependency name, an INI option, a pre-commit hook id) and
merged item by item: the user's additions stay where the user put them, the
template's changes and additions are applied, and only an item both sides changed
differently becomes a (small) conflict. The text of every item is kept verbatim, so
comments and layout survive.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Callable, Hashable, Optional

from .merge3 import Labels, Merged, conflict_block, merge

Key = Optional[Hashable]


@dataclass
class Item:
    key: Key
    lines: list[str]
    # A new item that starts a group (an INI section, a top-level YAML key) is never
    # inserted inside another group: it goes after the whole group it follows.
    group: bool = False


Parser = Callable[[str], list[Item]]
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


_YAML_KEY = re.compile(r"^(\s*)([^\s#:-][^:#]*):(\s|$)")
_YAML_ITEM = re.compile(r"^(\s*)-\s+(.*)$")


def parse_yaml_lines(text: str) -> list[Item]:
    """environment.yml: dependencies keyed by package name, mapping keys by name."""
    items = []
    for line in _lines(text):
        stripped = line.strip()
        if not stripped:
            items.append(Item(None, [line]))
            continue
        item = _YAML_ITEM.match(line.rstrip("\n"))
        key = _YAML_KEY.match(line)
        if stripped.startswith("#"):
            items.append(Item(("text", stripped), [line]))
        elif item:
            items.append(Item(("item", len(item.group(1)), _name(item.group(2))), [line]))
        elif key:
            indent = len(key.group(1))
            items.append(Item(("map", indent, key.group(2).strip()), [line], group=indent == 0))
        else:
            items.append(Item(("text", stripped), [line]))
    return items


_HOOK = re.compile(r"^(\s*)-\s+id:\s*(\S+)")
_REPO = re.compile(r"^(\s*)-\s+repo:\s*(\S+)")


def parse_precommit(text: str) -> list[Item]:
    """.pre-commit-config.yaml: one item per repository header (its ``rev:``) and per
    hook (every line of its block), keyed by repository URL and hook id."""
    items: list[Item] = []
    repo = ""
    current: Item | None = None
    indent = 0
    for line in _lines(text):
        body = line.rstrip("\n")
        stripped = body.strip()
        width = len(body) - len(body.lstrip())
        opens_hooks = stripped == "hooks:"
        if current is not None and stripped and width > indent and not opens_hooks:
            current.lines.append(line)  # the block's own lines, nested lists included
            continue
        current = None
        hook, head, key = _HOOK.match(body), _REPO.match(body), _YAML_KEY.match(line)
        if head:
            repo, indent = head.group(2), len(head.group(1))
            current = Item(("repo", repo), [line])
            items.append(current)
        elif hook:
            indent = len(hook.group(1))
            current = Item(("hook", repo, hook.group(2)), [line])
            items.append(current)
        elif opens_hooks:
            items.append(Item(("hooks", repo), [line]))
        elif key and not key.group(1):
            items.append(Item(("map", key.group(2).strip()), [line], group=True))
        elif stripped:
            items.append(Item(("text", repo, stripped), [line]))
        else:
            items.append(Item(None, [line]))
    return items


_SECTION = re.compile(r"^\[([^\]]+)\]\s*$")
_OPTION = re.compile(r"^([^\s#;\[][^=:]*?)\s*[=:]")


def parse_ini(text: str) -> list[Item]:
    """setup.cfg, .dvc/config: sections, and options with their continuation lines."""
    items: list[Item] = []
    section = ""
    current: Item | None = None
    for line in _lines(text):
        body = line.rstrip("\n")
        if current is not None and body.strip() and body[:1] in " \t":
            current.lines.append(line)
            continue
        current = None
        head, option = _SECTION.match(body), _OPTION.match(body)
        if head:
            section = head.group(1).strip()
            items.append(Item(("section", section), [line], group=True))
        elif option and not body.lstrip().startswith(("#", ";")):
            current = Item(("option", section, option.group(1).strip().lower()), [line])
            items.append(current)
        elif body.strip():
            items.append(Item(("text", section, body.strip()), [line]))
        else:
            items.append(Item(None, [line]))
    return items


# --- sub-merges: one item changed by both sides -------------------------------------


def leaf_conflict(
    base: Item | None, ours: Item, theirs: Item, labels: Labels
) -> tuple[list[str], int]:
    return conflict_block(ours.lines, base.lines if base else [], theirs.lines, labels), 1


def line_submerge(
    base: Item | None, ours: Item, theirs: Item, labels: Labels
) -> tuple[list[str], int]:
    done = merge(
        "".join(base.lines) if base else "", "".join(ours.lines), "".join(theirs.lines), labels
    )
    return _lines(done.text), done.conflicts


def ini_submerge(
    base: Item | None, ours: Item, theirs: Item, labels: Labels
) -> tuple[list[str], int]:
    """A multi-line option (``install_requires``): merge its lines keyed by name."""

    def split(item: Item | None) -> list[Item]:
        if item is None:
            return []
        head = Item("head", item.lines[:1])
        return [head] + [Item(("value", _name(line)), [line]) for line in item.lines[1:]]

    return merge_items(split(base), split(ours), split(theirs), labels, leaf_conflict)


# --- the engine ---------------------------------------------------------------------


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


@dataclass(frozen=True)
class Kind:
    name: str
    parse: Parser
    sub: SubMerge


KINDS: tuple[tuple[tuple[str, ...], Kind], ...] = (
    (
        (".gitignore", "*/.gitignore", ".dvcignore", ".dockerignore"),
        Kind("ignore entries", parse_lines, leaf_conflict),
    ),
    (
        ("environment.yml", "environment.yaml"),
        Kind("environment dependencies", parse_yaml_lines, leaf_conflict),
    ),
    ((".pre-commit-config.yaml",), Kind("pre-commit hooks", parse_precommit, line_submerge)),
    (
        ("setup.cfg", ".dvc/config", "tox.ini", ".flake8"),
        Kind("INI sections", parse_ini, ini_submerge),
    ),
)


def kind_of(path: str) -> Kind | None:
    for patterns, kind in KINDS:
        if any(fnmatch.fnmatchcase(path, p) for p in patterns):
            return kind
    return None


def merge_structured(path: str, base: str, ours: str, theirs: str, labels: Labels) -> Merged | None:
    """The structured merge for ``path``, or None when only a line merge applies."""
    kind = kind_of(path)
    if kind is None:
        return None
    if ours == theirs:
        return Merged(ours, 0)
    if ours == base:
        return Merged(theirs, 0)
    if theirs == base:
        return Merged(ours, 0)
    lines, conflicts = merge_items(
        kind.parse(base), kind.parse(ours), kind.parse(theirs), labels, kind.sub
    )
    return Merged("".join(lines), conflicts)
