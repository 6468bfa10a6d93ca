"""YAML, read within bounds: libyaml when present, every key's position on demand,
application tags (GitLab's ``!reference``) kept as plain values.

The document is composed into nodes first (an alias is one shared node, so a
"billion laughs" file stays small there); the node graph is then measured once,
memoised per node, for its nesting depth and its size with every alias expanded.
Only a document within :data:`~.limits.MAX_DEPTH` and :data:`~.limits.MAX_ALIAS_NODES`
is constructed or walked.
"""

from __future__ import annotations

from typing import Any

from .limits import MAX_ALIAS_NODES, MAX_DEPTH
from .parsed import Parsed, ParseError


class BoundError(ValueError):
    """The document exceeds a bound; the message is the finding's text."""


def _loader() -> Any:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        pass

    def any_tag(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_mapping(node, deep=True)

    Loader.add_multi_constructor("!", any_tag)
    return Loader


_LOADER: Any = None


def measure(node: Any) -> tuple[int, int]:
    """(nesting depth, node count with aliases expanded) of a composed node graph.

    Iterative and memoised per node, so it costs the number of distinct nodes;
    raises :class:`BoundError` past either limit or on a recursive alias."""
    import yaml

    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(node, False)]
    open_: set[int] = set()
    while stack:
        current, done = stack.pop()
        key = id(current)
        if done:
            open_.discard(key)
            children = _children(current)
            total = 1 + sum(size[id(c)] for c in children)
            deep = 1 + max((depth[id(c)] for c in children), default=0)
            if deep > MAX_DEPTH:
                raise BoundError(f"nesting deeper than {MAX_DEPTH} levels")
            if total > MAX_ALIAS_NODES:
                raise BoundError(f"alias expansion exceeds {MAX_ALIAS_NODES} nodes")
            size[key], depth[key] = total, deep
            continue
        if key in size:
            continue
        if key in open_:
            raise BoundError("a recursive alias (a node that contains itself)")
        if not isinstance(current, (yaml.SequenceNode, yaml.MappingNode)):
            size[key], depth[key] = 1, 0
            continue
        open_.add(key)
        stack.append((current, True))
        stack.extend((child, False) for child in _children(current) if id(child) not in size)
    return depth[id(node)], size[id(node)]


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def compose(text: str) -> list[Any]:
    """Every document's node graph, each within the bounds (raises YAMLError or BoundError)."""
    global _LOADER
    if _LOADER is None:
        _LOADER = _loader()
    loader = _LOADER(text)
    try:
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
    finally:
        loader.dispose()
    for node in nodes:
        measure(node)
    return nodes


def parse_yaml(text: str) -> Parsed:
    """The first document (the others must parse too), with every key's position."""
    import yaml

    try:
        nodes = compose(text)
        loader = _LOADER("")
        try:
            docs = [loader.construct_document(node) for node in nodes]
        finally:
            loader.dispose()
    except BoundError as exc:
        return Parsed(error=ParseError(str(exc), unreadable=True))
    except RecursionError:
        return Parsed(error=ParseError(f"nesting deeper than {MAX_DEPTH} levels", unreadable=True))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        return Parsed(
            error=ParseError(
                message or str(exc),
                mark.line + 1 if mark else None,
                mark.column + 1 if mark else None,
            )
        )
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        return Parsed(error=ParseError(str(exc).splitlines()[0]))
    return Parsed(data=docs[0] if docs else None, node=nodes[0] if nodes else None)


def parse_yaml_roundtrip(text: str) -> Parsed:
    """The first document as ruamel.yaml's round-trip tree (comments, key order and
    style kept, for writers that must change a file without rewriting it).

    The same bounds apply: the text is measured with the safe composer first."""
    import yaml

    checked = parse_yaml(text)
    if checked.error is not None:
        return checked
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError as RuamelError

    reader = YAML(typ="rt")
    try:
        docs = list(reader.load_all(text))
    except (RuamelError, yaml.YAMLError, ValueError, TypeError) as exc:
        return Parsed(error=ParseError(str(exc).splitlines()[0]))
    return Parsed(data=docs[0] if docs else None, node=checked.node)


def load_yaml(text: str) -> Any:
    """The first document's data; raises ValueError with the reason when it does not
    parse or exceeds a bound (for readers that turn exceptions into problems)."""
    parsed = parse_yaml(text)
    if parsed.error is not None:
        err = parsed.error
        where = f" (line {err.line})" if err.line else ""
        raise ValueError(f"{err.message}{where}")
    return parsed.data


def positions(node: Any) -> dict[tuple[Any, ...], tuple[int, int]]:
    """``{key path: (line, column)}`` of a node graph already measured by :func:`compose`."""
    import yaml

    found: dict[tuple[Any, ...], tuple[int, int]] = {}
    stack: list[tuple[Any, tuple[Any, ...]]] = [(node, ())]
    while stack:
        current, path = stack.pop()
        if isinstance(current, yaml.MappingNode):
            items = [
                (key.value if isinstance(key, yaml.ScalarNode) else str(key), key, value)
                for key, value in current.value
            ]
        elif isinstance(current, yaml.SequenceNode):
            items = [(index, item, item) for index, item in enumerate(current.value)]
        else:
            continue
        for name, at, value in items:
            sub = path + (name,)
            found.setdefault(sub, (at.start_mark.line + 1, at.start_mark.column + 1))
            stack.append((value, sub))
    return found
