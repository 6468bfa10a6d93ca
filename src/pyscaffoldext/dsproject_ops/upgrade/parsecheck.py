"""Parse what the upgrade writes: every result is read back with the real parser of
its kind (YAML, TOML, INI, JSON) before it is staged. A result that does not parse
is a conflict, never "merged cleanly"; and a conflict's file must parse again when
every region is resolved to one side (what a user does with an editor).

Pure; bounded: a file over :data:`MAX_BYTES` is not parsed (it is reported as such).
"""

from __future__ import annotations

import configparser
import fnmatch
import json
from typing import Callable

from .merge3 import MARKERS

MAX_BYTES = 2_000_000

YAML = ("*.yml", "*.yaml", ".yamllint")
TOML = ("*.toml",)
INI = ("*.cfg", "*.ini", ".flake8", ".coveragerc", ".dvc/config", "*/.dvc/config")
JSON = ("*.json", "*.ipynb")


def kind(path: str) -> str | None:
    """``yaml``, ``toml``, ``ini``, ``json`` or None (not checked: text, code)."""
    name = path.rsplit("/", 1)[-1]
    for label, patterns in (("yaml", YAML), ("toml", TOML), ("ini", INI), ("json", JSON)):
        if any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(name, p) for p in patterns):
            return label
    return None


def parse_error(path: str, text: str) -> str | None:
    """Why ``text`` does not parse as ``path``'s kind; None when it parses (or is not
    a kind that is checked)."""
    label = kind(path)
    if label is None:
        return None
    if len(text) > MAX_BYTES:
        return f"larger than {MAX_BYTES} bytes: not parsed"
    try:
        _PARSERS[label](text)
    except RecursionError:
        return "nested too deeply"
    except Exception as exc:  # every parser has its own error types
        first = str(exc).strip().splitlines()
        return f"{type(exc).__name__}: {first[0] if first else ''}".strip(": ")
    return None


def _yaml(text: str) -> None:
    from ruamel.yaml import YAML

    # Round-trip loading: unknown tags (GitLab's !reference, mkdocs' !!python/name)
    # are kept as tagged nodes, not refused; aliases are never expanded into copies.
    for _ in YAML(typ="rt").load_all(text):
        pass


def _toml(text: str) -> None:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return
    tomllib.loads(text)


def same_meaning(key: str) -> str:
    """setuptools and flake8 read ``max-line-length`` and ``max_line_length`` alike."""
    return key.strip().lower().replace("-", "_")


def _ini(text: str) -> None:
    # strict: an option twice in a section (in either spelling) is an error, as
    # setuptools' own reader says; the same-meaning spellings count as one option.
    parser = configparser.RawConfigParser(strict=True, interpolation=None)
    parser.optionxform = same_meaning  # type: ignore[assignment, method-assign]
    parser.read_string(text)


def _json(text: str) -> None:
    json.loads(text)


_PARSERS: dict[str, Callable[[str], None]] = {
    "yaml": _yaml,
    "toml": _toml,
    "ini": _ini,
    "json": _json,
}


def resolve(text: str, side: str) -> str:
    """``text`` with every conflict region resolved to ``side`` (``ours``, ``base`` or
    ``theirs``), as a user picking one side in an editor would."""
    out: list[str] = []
    region: str | None = None
    for line in text.splitlines(keepends=True):
        if line.startswith(MARKERS[0]):
            region = "ours"
        elif region is not None and line.startswith(MARKERS[1]):
            region = "base"
        elif region is not None and line.rstrip("\r\n") == MARKERS[2]:
            region = "theirs"
        elif region is not None and line.startswith(MARKERS[3]):
            region = None
        elif region is None or region == side:
            out.append(line)
    return "".join(out)


def sides_error(path: str, text: str) -> str | None:
    """Why ``text`` (with conflict markers) does not parse once resolved to a side."""
    for side in ("ours", "theirs"):
        problem = parse_error(path, resolve(text, side))
        if problem:
            return f"resolved to {'yours' if side == 'ours' else 'the template'}: {problem}"
    return None
