"""Parsers that keep the parser's own line numbers: YAML (libyaml when present, with
positions of every key), TOML, INI and JSON."""

from __future__ import annotations

import re
from typing import Any

from .context import Parsed, ParseError

INI_NAMES = ("setup.cfg", "tox.ini", ".flake8", ".dvc/config", "pytest.ini", "mypy.ini")


def kind_of(rel: str) -> str | None:
    name = rel.rsplit("/", 1)[-1]
    if rel.endswith((".yml", ".yaml", ".dvc")) or name == "dvc.lock":
        return "yaml"
    if rel.endswith(".toml"):
        return "toml"
    if rel.endswith((".cfg", ".ini")) or rel in INI_NAMES or name == ".flake8":
        return "ini"
    if rel.endswith(".ipynb"):
        return "notebook"
    if rel.endswith(".json"):
        return "json"
    return None


def _loader() -> Any:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        pass

    def any_tag(loader: Any, suffix: str, node: Any) -> Any:
        # GitLab's !reference and other application tags: keep the plain value.
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_mapping(node, deep=True)

    Loader.add_multi_constructor("!", any_tag)
    return Loader


_LOADER: Any = None


def parse_yaml(text: str) -> Parsed:
    """The first document (the others must parse too), with every key's position."""
    import yaml

    global _LOADER
    if _LOADER is None:
        _LOADER = _loader()
    loader = _LOADER(text)
    try:
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
        docs = [loader.construct_document(node) for node in nodes]
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
    finally:
        loader.dispose()
    return Parsed(data=docs[0] if docs else None, node=nodes[0] if nodes else None)


def positions(node: Any) -> dict[tuple[Any, ...], tuple[int, int]]:
    found: dict[tuple[Any, ...], tuple[int, int]] = {}
    _walk(node, (), found)
    return found


def _walk(node: Any, path: tuple[Any, ...], out: dict[tuple[Any, ...], tuple[int, int]]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (key.value if isinstance(key, yaml.ScalarNode) else str(key),)
            out.setdefault(sub, (key.start_mark.line + 1, key.start_mark.column + 1))
            _walk(value, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            sub = path + (index,)
            out.setdefault(sub, (item.start_mark.line + 1, item.start_mark.column + 1))
            _walk(item, sub, out)


def parse_toml(text: str) -> Parsed:
    import tomllib

    try:
        return Parsed(data=tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        if found:
            return Parsed(error=ParseError(message, int(found.group(1)), int(found.group(2))))
        return Parsed(error=ParseError(message))


def parse_ini(text: str) -> Parsed:
    import configparser

    parser = configparser.RawConfigParser(strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.MissingSectionHeaderError as exc:
        return Parsed(error=ParseError("no [section] header before the first key", exc.lineno))
    except configparser.ParsingError as exc:
        line = exc.errors[0][0] if getattr(exc, "errors", None) else None
        return Parsed(error=ParseError(f"cannot parse line {line}", line))
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        message = str(exc).splitlines()[0]
        return Parsed(error=ParseError(message, line))
    data = {name: dict(parser.items(name)) for name in parser.sections()}
    return Parsed(data=data)


def parse_json(text: str) -> Parsed:
    import json

    try:
        return Parsed(data=json.loads(text))
    except json.JSONDecodeError as exc:
        return Parsed(error=ParseError(exc.msg, exc.lineno, exc.colno))
