"""Three-way merge of INI files (``setup.cfg``, ``.flake8``, ``tox.ini``, ``.dvc/config``)
as data, with configupdater (PyScaffold's own INI editor): comments, blank lines and
the user's spelling of every key are kept.

Options are matched by meaning: setuptools and flake8 read ``max-line-length`` and
``max_line_length`` alike, so they are one option (the user's spelling stays), never
two. Multi-line options (``install_requires``, ``exclude``) are merged line by line,
a requirement keyed by its package name. A value both sides changed differently is
a conflict, resolved to ``side`` (the caller runs each side and line-merges them).
"""

from __future__ import annotations

import re
from typing import Any

from .parsecheck import same_meaning
from .yamlmerge import TreeMerge, merge_seq, package_name


class IniUnmergeable(Exception):
    """configupdater cannot read a side: a line merge applies."""


def _read(text: str) -> Any:
    from configupdater import ConfigUpdater

    updater = ConfigUpdater(strict=False)
    try:
        updater.read_string(text)
    except Exception as exc:  # configparser's and configupdater's own errors
        raise IniUnmergeable(str(exc).splitlines()[0] if str(exc) else "INI error") from None
    return updater


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def _options(section: Any) -> dict[str, Any]:
    """``{same-meaning key: option}``, the first spelling winning."""
    found: dict[str, Any] = {}
    for block in section.iter_blocks():
        key = getattr(block, "raw_key", None)
        if key is not None and getattr(block, "_block_type", "") != "section":
            found.setdefault(same_meaning(key), block)
    return found


def _data(updater: Any) -> dict[str, dict[str, list[str]]]:
    return {
        section.name: {k: _lines(o.value) for k, o in _options(section).items()}
        for section in updater.section_blocks()
    }


def _line_key(line: str) -> Any:
    if "::" in line or line.startswith(("#", ";")):
        return ("line", line)
    name, sep, _ = line.partition("=")
    if sep and name.strip() and not name.strip().startswith(("<", ">", "!", "~")):
        return ("entry", name.strip().lower())  # console_scripts, package_data
    return ("package", package_name(line))


def _multiline(value: str | None) -> bool:
    return "\n" in (value or "")


def _indent(option: Any) -> str:
    for line in str(option).splitlines()[1:]:
        if line.strip():
            return line[: len(line) - len(line.lstrip())]
    return "    "


def _set(option: Any, lines: list[str], multi: bool) -> None:
    if multi or len(lines) > 1:
        first_inline = "\n" not in str(option).rstrip("\n") and bool(option.value)
        option.set_values(lines, indent=_indent(option), prepend_newline=not first_inline)
    else:
        option.value = lines[0] if lines else ""


def _merge_option(b: list[str] | None, option: Any, t: list[str], state: TreeMerge) -> bool | None:
    """Merge one option in place; None: it goes."""
    o = _lines(option.value)
    if o == t:
        return True
    if b is not None and o == b:
        _set(option, t, multi="\n" in (option.value or ""))
        state.changed = True
        return True
    if b is not None and t == b:
        return True
    if _multiline(option.value) and (len(t) > 1 or (b is not None and len(b) > 1)):
        # A list on its own lines on both sides (install_requires): merged line by line.
        merged = merge_seq(list(b or []), list(o), t, state, _line_key)
        if merged != o:
            _set(option, merged, multi=True)
            state.changed = True
        return True
    state.conflicts += 1
    if state.side == "ours":
        return True
    state.changed = True
    value = t if state.side == "theirs" else b
    if value is None:
        return None
    _set(option, value, multi=False)
    return True


def merge_ini(base: str, ours: str, theirs: str, side: str) -> tuple[str, TreeMerge]:
    """One run of the INI merge, conflicts resolved to ``side``."""
    b_cfg, o_cfg, t_cfg = _read(base), _read(ours), _read(theirs)
    b, t = _data(b_cfg), _data(t_cfg)
    state = TreeMerge(side)
    # Sections and options of the user's file: merged, or dropped with the template.
    for section in list(o_cfg.section_blocks()):
        name = section.name
        if name not in t:
            if name in b and _data_of(section) == b[name]:
                section.detach()
                state.changed = True
            continue
        for key, option in list(_options(section).items()):
            if key in t[name]:
                keep = _merge_option(b.get(name, {}).get(key), option, t[name][key], state)
                if keep is None:
                    option.detach()
            elif key in b.get(name, {}) and _lines(option.value) == b[name][key]:
                option.detach()
                state.changed = True
        _add_options(section, b.get(name, {}), t_cfg[name], state)
    # The template's new sections, after the section they follow in the template.
    present = {s.name for s in o_cfg.section_blocks()}
    previous: str | None = None
    for section in list(t_cfg.section_blocks()):
        name = section.name
        if name in present:
            previous = name
            continue
        source = section
        if name in b:
            if b[name] == t[name]:
                continue  # the user deleted it; the template did not change it
            state.conflicts += 1
            if state.side == "ours":
                continue
            if state.side == "base":
                source = b_cfg[name]
        state.changed = True
        block = source.detach()
        if previous is not None:
            following = o_cfg[previous]
            _ensure_blank_after(following)
            following.add_after.section(block)
            if block is not list(o_cfg.section_blocks())[-1]:
                _ensure_blank_after(block)
        else:
            first = next(iter(o_cfg.section_blocks()), None)
            if first is None:
                o_cfg.add_section(block)
            else:
                first.add_before.section(block)
                _ensure_blank_after(block)
        present.add(name)
        previous = name
    if not state.changed:
        return ours, state
    return _reindent(str(o_cfg), ours), state


_HEADER = re.compile(r"^\s*\[(.+)\]\s*$")


def _option_indents(text: str) -> dict[str, str]:
    """``{section: indentation}`` of sections whose options are indented (DVC writes
    ``.dvc/config`` so)."""
    found: dict[str, str] = {}
    section: str | None = None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            section = header.group(1).strip()
            continue
        if section is None or section in found or not line.strip():
            continue
        if not line.lstrip().startswith(("#", ";")):
            found[section] = line[: len(line) - len(line.lstrip())]
    return {k: v for k, v in found.items() if v}


def _reindent(text: str, ours: str) -> str:
    """configupdater writes a changed or added option at column 0: indent it as the
    user's section indents its options."""
    indents = _option_indents(ours)
    if not indents:
        return text
    out = []
    indent = ""
    for line in text.splitlines(keepends=True):
        header = _HEADER.match(line)
        if header:
            indent = indents.get(header.group(1).strip(), "")
        elif indent and line.strip() and not line[:1].isspace() and line[:1] not in "#;":
            line = indent + line
        out.append(line)
    return "".join(out)


def _data_of(section: Any) -> dict[str, list[str]]:
    return {k: _lines(o.value) for k, o in _options(section).items()}


def _ensure_blank_after(section: Any) -> None:
    """A blank line ends the section, so a section placed after it stands apart."""
    from configupdater.block import Space

    blocks = list(section.iter_blocks())
    if blocks and not isinstance(blocks[-1], Space):
        blocks[-1].add_after.space()


def _add_options(section: Any, base: dict[str, list[str]], theirs: Any, state: TreeMerge) -> None:
    mine = _options(section)
    previous: Any = None
    for key, option in _options(theirs).items():
        if key in mine:
            previous = mine[key]
            continue
        value = _lines(option.value)
        if key in base:
            if base[key] == value:
                continue  # the user deleted it
            state.conflicts += 1
            if state.side == "ours":
                continue
            if state.side == "base":
                value = base[key]
        state.changed = True
        multi = "\n" in (option.value or "")
        if previous is None:
            first = next(iter(mine.values()), None)
            if first is not None:
                first.add_before.option(option.raw_key, "")
                added = section[option.raw_key]
            else:
                section.set(option.raw_key, "")
                added = section[option.raw_key]
        else:
            previous.add_after.option(option.raw_key, "")
            added = section[option.raw_key]
        if multi:
            added.set_values(value, indent=_indent(option))
        else:
            added.value = value[0] if value else ""
        mine[key] = added
        previous = added
