"""Terminal text that fits 80 columns, Chinese included (a CJK character is two cells)."""

from __future__ import annotations

import re
import unicodedata

WIDTH = 80
# A run of non-space, non-CJK characters (a word or a `command`), or one CJK character.
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_TOKEN = re.compile(rf"\s+|[{_CJK}]|[^\s{_CJK}]+")


def cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def wrap(text: str, indent: str = "", width: int = WIDTH, first: str | None = None) -> list[str]:
    """Greedy wrapping by display cells; a token longer than a line gets a line of its own."""
    lead = indent if first is None else first
    lines: list[str] = []
    line, used = lead, cells(lead)
    pending_space = False
    for token in _TOKEN.findall(" ".join(text.split())):
        if token.isspace():
            pending_space = True
            continue
        size = cells(token)
        space = 1 if pending_space and line.strip() else 0
        cjk = size == 2 and len(token) == 1
        if used + space + size > width and line.strip():
            lines.append(line.rstrip())
            line, used, space = indent, cells(indent), 0
        if space and not (cjk and line and cells(line[-1]) == 2):
            line += " "
            used += 1
        line += token
        used += size
        pending_space = False
    if line.strip():
        lines.append(line.rstrip())
    return lines


def pad(text: str, width: int) -> str:
    return text + " " * max(width - cells(text), 0)
