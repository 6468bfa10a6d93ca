"""Parse what the upgrade writes: every result is read back with the repository
model's reader for its kind (YAML, TOML, INI, JSON: :mod:`..repository`, the same
readers ``dsops validate`` uses, with the same bounds) before it is staged. A result
that does not parse is a conflict, never "merged cleanly"; and a conflict's file
must parse again when every region is resolved to one side (what a user does with
an editor). Pure.
"""

from __future__ import annotations

from .merge3 import MARKERS


def kind(path: str) -> str | None:
    """``yaml``, ``toml``, ``ini``, ``json`` or None (not checked: text, code)."""
    from ..repository.formats import kind_of

    found = kind_of(path)
    return "json" if found == "notebook" else found


def parse_error(path: str, text: str) -> str | None:
    """Why ``text`` does not parse as ``path``'s kind; None when it parses (or is not
    a kind that is checked)."""
    label = kind(path)
    if label is None:
        return None
    from ..repository import formats, yamlread
    from ..repository.limits import MAX_BYTES, too_large

    if len(text) > MAX_BYTES:
        return too_large(len(text))

    parse = {
        "yaml": yamlread.parse_yaml,
        "toml": formats.parse_toml,
        "ini": formats.parse_ini,
        "json": formats.parse_json,
    }[label]
    parsed = parse(text)
    if parsed.error is not None:
        where = f" (line {parsed.error.line})" if parsed.error.line else ""
        return f"{parsed.error.message}{where}"
    if label == "ini":
        return _same_meaning_twice(parsed.data)
    return None


def same_meaning(key: str) -> str:
    """setuptools and flake8 read ``max-line-length`` and ``max_line_length`` alike."""
    return key.strip().lower().replace("-", "_")


def _same_meaning_twice(sections: dict[str, dict[str, str]]) -> str | None:
    for name, options in sections.items():
        seen: dict[str, str] = {}
        for key in options:
            other = seen.setdefault(same_meaning(key), key)
            if other != key:
                return f"[{name}] sets {other} and {key}, which mean the same option"
    return None


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
