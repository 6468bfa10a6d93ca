"""TOML, INI and JSON, each read by one parser that keeps the parser's own position."""

from __future__ import annotations

import re
import sys
from typing import Any

from .parsed import Parsed, ParseError

# Guarded at module level, where vermin (tests/test_python_range.py) sees the guard.
if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

INI_NAMES = (
    "setup.cfg",
    "tox.ini",
    ".flake8",
    ".dvc/config",
    ".dvc/config.local",
    "pytest.ini",
    "mypy.ini",
)


def kind_of(rel: str) -> str | None:
    """The reader for a path: yaml, toml, ini, notebook, json, or None."""
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


def toml_loads(text: str) -> dict[str, Any]:
    """``tomllib`` (Python 3.11+) or its backport ``tomli``; raises their TOMLDecodeError."""
    return tomllib.loads(text)


def parse_toml(text: str) -> Parsed:
    try:
        return Parsed(data=toml_loads(text))
    except ValueError as exc:  # TOMLDecodeError is a ValueError in tomllib and tomli
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        if found:
            return Parsed(error=ParseError(message, int(found.group(1)), int(found.group(2))))
        return Parsed(error=ParseError(message))
    except RecursionError:
        return Parsed(error=ParseError("nesting too deep to check", unreadable=True))


def parse_ini(text: str) -> Parsed:
    """Sections as ``{section: {key: value}}``; keys keep their case, duplicate sections
    and keys are errors (as setuptools refuses them). DVC's configobj section names
    (``['remote "x"']``) are read as ``remote "x"``."""
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


def configobj_section(name: str) -> str:
    """``'remote "x"'`` (DVC's quoting) -> ``remote "x"``."""
    name = name.strip()
    if len(name) > 1 and name[0] == name[-1] == "'":
        return name[1:-1].strip()
    return name


def parse_json(text: str) -> Parsed:
    import json

    try:
        return Parsed(data=json.loads(text))
    except json.JSONDecodeError as exc:
        return Parsed(error=ParseError(exc.msg, exc.lineno, exc.colno))
    except RecursionError:
        return Parsed(error=ParseError("nesting too deep to check", unreadable=True))


def ini_line(text: str, section: str, key: str | None = None) -> int | None:
    """The line of ``[section]`` or of ``key`` in it (1-based), or None."""
    current = None
    key_indent = -1  # a line indented deeper than the last key continues its value
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1].strip()
            key_indent = -1
            if key is None and current == section:
                return number
        elif key_indent < 0 or indent <= key_indent:
            key_indent = indent
            name = re.split(r"[=:]", stripped, maxsplit=1)[0].strip()
            if current == section and name == key:
                return number
    return None
