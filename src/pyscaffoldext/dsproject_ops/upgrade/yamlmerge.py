"""Three-way merge of YAML files as data: ruamel.yaml round-trip trees.

The user's file is loaded with its comments and layout and changed in place: the
template's changes are applied key by key (mappings) and item by item (sequences,
keyed: a pre-commit repository by ``repo``, a hook by ``id``, a dependency by its
package name, ``- pip:`` by its key), then dumped with the indentation the user's
file uses. A value both sides changed differently is a conflict: the merge is then
run once per side (yours, the base, the template's) and the three results are
line-merged, so the conflict regions hold exactly the disputed values and each side
of every region parses.

Same hook id in two repositories (the user's ``psf/black`` at their rev, the
template's ``local`` black): one hook, the user's; the template's is not added and
the merge says so.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

MISSING: Any = object()

# Sequences whose string items are package specs, keyed by package name.
_DEPENDENCY_KEYS = frozenset({"dependencies", "pip", "additional_dependencies"})
_IDENTITY_KEYS = ("id", "repo", "name")


class YamlUnmergeable(Exception):
    """Not a single YAML document the tree merge can take: a line merge applies."""


@dataclass
class TreeMerge:
    side: str  # the value a conflict takes: "ours", "base" or "theirs"
    conflicts: int = 0
    changed: bool = False
    notes: list[str] = field(default_factory=list)


# --- loading and dumping --------------------------------------------------------------


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a user's long line
    return yaml


def load(text: str) -> Any:
    """One document as a round-trip tree, read by the repository model's reader
    (bounded: size, depth, alias expansion)."""
    from ..repository.yamlread import compose, parse_yaml_roundtrip

    if not text.strip():
        return MISSING
    parsed = parse_yaml_roundtrip(text)
    if parsed.error is not None:
        raise YamlUnmergeable(parsed.error.message)
    if len(compose(text)) != 1:  # the reader returns the first document only
        raise YamlUnmergeable("not a single YAML document")
    keep_comment_gaps(parsed.data, text.splitlines())
    return parsed.data


def keep_comment_gaps(tree: Any, lines: list[str]) -> None:
    """Tie each end-of-line comment to its item by the gap the file had before it.

    ruamel writes such a comment back at its old column: an item dumped under another
    indentation (a ``pip:`` list indented unlike the rest of the file) had its
    ``- -e .  # why`` written as ``- -e . # why``, a line of the user's changed.
    Holding the gap instead keeps the line as the user wrote it, wherever it goes."""
    from ruamel.yaml.error import CommentMark

    stack, seen = [tree], set()
    while stack:
        node = stack.pop()
        if id(node) in seen or not isinstance(node, (dict, list)):
            continue
        seen.add(id(node))
        stack.extend(node.values() if isinstance(node, dict) else node)
        ca = getattr(node, "ca", None)
        for slots in ca.items.values() if ca is not None else ():
            for token in slots if isinstance(slots, list) else ():
                mark = getattr(token, "start_mark", None)
                if not hasattr(token, "value") or not str(token.value).startswith("#"):
                    continue  # not a comment, or one that begins on its own line
                line, column = getattr(mark, "line", None), getattr(mark, "column", None)
                if not isinstance(line, int) or not isinstance(column, int):
                    continue
                source = lines[line] if 0 <= line < len(lines) else ""
                before = source[:column]
                if not source[column:].startswith("#") or not before.strip():
                    continue
                gap = len(before) - len(before.rstrip())
                # Column 0: the emitter writes one space after the content, then the rest.
                token.value = " " * (gap - 1) + token.value
                token.start_mark = CommentMark(0)


def indentation(text: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) the file itself uses.

    The first block sequence under a mapping key tells the style: ``key:\\n  - x``
    is (2, 4, 2), ``key:\\n- x`` is (2, 2, 0); the first nested mapping the
    mapping indent. Unknown parts take ruamel's defaults.
    """
    mapping = sequence = offset = 0
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    for before, after in zip(lines, lines[1:]):
        width_before = len(before) - len(before.lstrip())
        width_after = len(after) - len(after.lstrip())
        opens_block = re.search(r":\s*(#.*)?$", before) is not None
        if not opens_block:
            continue
        stripped = after.lstrip()
        if stripped.startswith("- ") or stripped == "-":
            if not sequence:
                offset = width_after - width_before
                body = len(stripped) - len(stripped[1:].lstrip()) if stripped != "-" else 2
                sequence = offset + body
        elif not mapping and width_after > width_before and not before.lstrip().startswith("- "):
            mapping = width_after - width_before
        if mapping and sequence:
            break
    mapping = mapping or 2
    sequence = sequence or max(mapping, offset + 2)
    return mapping, max(sequence, offset + 2), offset


def dump(data: Any, style: tuple[int, int, int]) -> str:
    yaml = _yaml()
    yaml.indent(mapping=style[0], sequence=style[1], offset=style[2])
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


# --- comparing ------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """The data without comments or order of keys: what a value *means*."""
    if value is MISSING:
        return MISSING
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    tag = getattr(value, "tag", None)
    inner = getattr(value, "value", None)
    if inner is not None and not isinstance(value, (str, int, float)):  # TaggedScalar
        return (str(getattr(tag, "value", tag)), str(inner))
    return value


def same(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    return bool(plain(a) == plain(b))


# --- keys of sequence items -----------------------------------------------------------


def package_name(spec: str) -> str:
    """``numpy==2.1`` -> ``numpy``; ``conda-forge::numpy`` -> ``numpy``; ``-e .`` stays.

    A pip requirement is named by packaging (the repository model's reader); a conda
    spec (``python=3.11``, which pip would refuse) by the part before its version."""
    from ..repository.requirements import canonical, parse

    spec = spec.strip()
    if spec.startswith("-"):
        return " ".join(spec.split())
    req = parse(spec)
    if not req.error:
        return req.name
    spec = spec.split("::")[-1]
    name = re.split(r"[=<>!~;\[\s@]", spec, maxsplit=1)[0]
    return canonical(name) or spec


def item_key(item: Any, dependencies: bool) -> Any:
    if isinstance(item, dict):
        for key in _IDENTITY_KEYS:
            value = item.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                return (key, str(value))
        if len(item) == 1:
            return ("map", str(next(iter(item))))
        return ("value", json.dumps(plain(item), sort_keys=True, default=str))
    if isinstance(item, str) and dependencies:
        return ("package", package_name(item))
    if isinstance(item, (str, int, float, bool)) or item is None:
        return ("value", repr(item))
    return ("value", json.dumps(plain(item), sort_keys=True, default=str))


KeyOf = Callable[[Any], Any]


def _keyed(items: Any, key_of: KeyOf) -> list[tuple[Any, Any]]:
    """(key, item) pairs; a key seen again gets its occurrence number."""
    if not isinstance(items, list):
        return []
    seen: dict[Any, int] = {}
    out = []
    for item in items:
        key = key_of(item)
        count = seen.get(key, 0)
        seen[key] = count + 1
        out.append(((key, count), item))
    return out


# --- the merge ------------------------------------------------------------------------


def merge_value(base: Any, ours: Any, theirs: Any, state: TreeMerge, parent_key: str = "") -> Any:
    """The merged value for ``ours``' place (MISSING: the key or item goes)."""
    if same(ours, theirs):
        return ours
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return _merge_map(base if isinstance(base, dict) else {}, ours, theirs, state)
    if isinstance(ours, list) and isinstance(theirs, list):
        deps = parent_key in _DEPENDENCY_KEYS
        return merge_seq(
            base if isinstance(base, list) else [],
            ours,
            theirs,
            state,
            lambda item: item_key(item, deps),
        )
    if same(ours, base):
        state.changed = True
        return theirs
    if same(theirs, base):
        return ours
    return _conflict(base, ours, theirs, state)


def _conflict(base: Any, ours: Any, theirs: Any, state: TreeMerge) -> Any:
    state.conflicts += 1
    if state.side == "ours":
        return ours
    state.changed = True
    return theirs if state.side == "theirs" else base


def _merge_map(base: dict[Any, Any], ours: Any, theirs: dict[Any, Any], state: TreeMerge) -> Any:
    original = list(ours)
    for key in original:
        if key in theirs:
            value = merge_value(base.get(key, MISSING), ours[key], theirs[key], state, str(key))
        elif key in base and same(ours[key], base[key]):
            value = MISSING  # the template dropped it; the user never changed it
        else:
            continue  # the user's own key, or one the template dropped after the user changed it
        if value is MISSING:
            _drop_key(ours, key)
            state.changed = True
        elif value is not ours[key]:
            ours[key] = value
    present = set(ours)
    for position, key in enumerate(theirs):
        if key in original:
            continue
        if key not in base:
            value = theirs[key]
        elif same(base[key], theirs[key]):
            continue  # the user deleted it; the template did not change it
        else:
            value = _conflict(MISSING, MISSING, theirs[key], state)
            if state.side == "base":
                value = base[key]
            if value is MISSING:
                continue
        anchor = _anchor_position(list(theirs)[:position], list(ours), present)
        ours.insert(anchor, key, value)
        _copy_comment(theirs, ours, key, key)
        present.add(key)
        state.changed = True
    return ours


def _anchor_position(before: list[Any], keys: list[Any], present: set[Any]) -> int:
    """Insert after the last key that precedes it in the template and is present."""
    for key in reversed(before):
        if key in present:
            return keys.index(key) + 1
    return 0


def merge_seq(
    base: list[Any], ours: Any, theirs: list[Any], state: TreeMerge, key_of: KeyOf
) -> Any:
    """Merge a sequence item by item (``key_of`` says which items are the same)."""
    b = dict(_keyed(base, key_of))
    t = dict(_keyed(theirs, key_of))
    o = _keyed(ours, key_of)
    ours_keys = {key for key, _ in o}
    # (index in ours or None, value, comment source)
    entries: list[tuple[int | None, Any, Any]] = []
    dropped_comments: list[tuple[int, Any]] = []
    for index, (key, item) in enumerate(o):
        if key in t:
            value = merge_value(b.get(key, MISSING), item, t[key], state)
        elif key in b and same(item, b[key]):
            value = MISSING
        else:
            value = item
        if value is MISSING:
            state.changed = True
            dropped_comments.append((len(entries), _seq_comment(ours, index)))
            continue
        if value is not item:
            state.changed = True
        entries.append((index, value, None))
    # The template's new items, after the item that precedes them in the template.
    theirs_keyed = _keyed(theirs, key_of)
    theirs_index = {key: n for n, (key, _) in enumerate(theirs_keyed)}
    inserts: list[tuple[int, Any, Any]] = []
    anchor = -1
    for key, item in theirs_keyed:
        if key in ours_keys:
            anchor = next(
                (n for n, e in enumerate(entries) if e[0] is not None and o[e[0]][0] == key), anchor
            )
            continue
        if key not in b:
            value = item
        elif same(b[key], item):
            continue
        else:
            value = _conflict(MISSING, MISSING, item, state)
            if state.side == "base":
                value = b[key]
            if value is MISSING:
                continue
        state.changed = True
        inserts.append((anchor, value, (theirs, theirs_index[key])))
    # Highest anchor first, so lower positions stay valid; equal anchors keep order.
    ordered = sorted(enumerate(inserts), key=lambda e: (e[1][0], e[0]), reverse=True)
    for _, (position, value, source) in ordered:
        entries.insert(position + 1, (None, value, source))
    _rebuild_seq(ours, entries, dropped_comments)
    return ours


def _seq_comment(seq: Any, index: int) -> Any:
    ca = getattr(seq, "ca", None)
    return ca.items.get(index) if ca is not None else None


def _rebuild_seq(
    ours: Any, entries: list[tuple[int | None, Any, Any]], dropped: list[tuple[int, Any]]
) -> None:
    ca = getattr(ours, "ca", None)
    old = dict(ca.items) if ca is not None else {}
    list.clear(ours)
    list.extend(ours, [value for _, value, _ in entries])
    if ca is None:
        return
    ca.items.clear()
    for n, (index, _, source) in enumerate(entries):
        if index is not None and index in old:
            ca.items[n] = old[index]
        elif source is not None:
            comment = _seq_comment(source[0], source[1])
            if comment is not None:
                ca.items[n] = comment
    # A dropped item's trailing comment lines (the user's, maybe) move to the item
    # before it, so no comment line disappears with a template item.
    for position, comment in dropped:
        if comment is None or position == 0:
            continue
        _append_comment(ca.items, position - 1, comment, slot=0)


def _append_comment(items: dict[Any, Any], key: Any, comment: Any, slot: int) -> None:
    token = comment[slot] if isinstance(comment, list) and len(comment) > slot else None
    if token is None or not hasattr(token, "value"):
        return
    tail = token.value.split("\n", 1)
    if len(tail) < 2 or not tail[1].strip():
        return  # only the dropped line's own end-of-line comment
    current = items.get(key)
    if current is None:
        current = [None] * (slot + 1 if slot else 2)
        items[key] = current
    while len(current) <= slot:
        current.append(None)
    existing = current[slot]
    if existing is None:
        token.value = "\n" + tail[1]
        current[slot] = token
    else:
        existing.value = existing.value.rstrip(" ") + tail[1]


def _drop_key(mapping: Any, key: Any) -> None:
    keys = list(mapping)
    position = keys.index(key)
    ca = getattr(mapping, "ca", None)
    comment = ca.items.pop(key, None) if ca is not None else None
    del mapping[key]
    if ca is not None and comment is not None and position > 0:
        _append_comment(ca.items, keys[position - 1], comment, slot=2)


def _copy_comment(source: Any, target: Any, source_key: Any, target_key: Any) -> None:
    src = getattr(source, "ca", None)
    dst = getattr(target, "ca", None)
    if src is not None and dst is not None and source_key in src.items:
        dst.items[target_key] = src.items[source_key]


# --- pre-commit: one hook per id ------------------------------------------------------


def _hooks(config: Any) -> dict[str, tuple[str, Any]]:
    """``{hook id: (repo, rev)}`` of a pre-commit config tree."""
    found: dict[str, tuple[str, Any]] = {}
    repos = config.get("repos") if isinstance(config, dict) else None
    for repo in repos if isinstance(repos, list) else []:
        if not isinstance(repo, dict) or not isinstance(repo.get("hooks"), list):
            continue
        for hook in repo["hooks"]:
            if isinstance(hook, dict) and isinstance(hook.get("id"), str):
                found.setdefault(hook["id"], (str(repo.get("repo")), repo.get("rev")))
    return found


def drop_duplicate_hooks(ours: Any, trees: list[Any]) -> list[str]:
    """Remove from the template's trees every hook whose id the user already has in
    another repository (and a repository left without hooks); say which."""
    mine = _hooks(ours)
    notes: list[str] = []
    for n, tree in enumerate(trees):
        repos = tree.get("repos") if isinstance(tree, dict) else None
        if not isinstance(repos, list):
            continue
        for repo in list(repos):
            if not isinstance(repo, dict) or not isinstance(repo.get("hooks"), list):
                continue
            url = str(repo.get("repo"))
            for hook in list(repo["hooks"]):
                hook_id = hook.get("id") if isinstance(hook, dict) else None
                if isinstance(hook_id, str) and hook_id in mine and mine[hook_id][0] != url:
                    repo["hooks"].remove(hook)
                    if n == len(trees) - 1:
                        where, rev = mine[hook_id]
                        at = f" at rev {rev}" if rev is not None else ""
                        notes.append(
                            f"hook {hook_id}: yours ({where}{at}) kept, the template's not added"
                        )
            if not repo["hooks"]:
                repos.remove(repo)
    return notes


# --- entry point ----------------------------------------------------------------------


def merge_yaml(path: str, base: str, ours: str, theirs: str, side: str) -> tuple[str, TreeMerge]:
    """One run of the tree merge, conflicts resolved to ``side``; raises
    :class:`YamlUnmergeable` when a side is not one YAML document."""
    trees = [load(base), load(ours), load(theirs)]
    b, o, t = trees
    if o is MISSING or t is MISSING:
        raise YamlUnmergeable("an empty side")
    state = TreeMerge(side)
    if path.rsplit("/", 1)[-1] == ".pre-commit-config.yaml":
        state.notes += drop_duplicate_hooks(o, [b, t])
    result = merge_value(b, o, t, state)
    if not state.changed and result is o:
        return ours, state
    return dump(result, indentation(ours)), state
