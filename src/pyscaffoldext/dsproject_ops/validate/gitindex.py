"""Read the paths and sizes git tracks straight from ``.git/index``.

Running ``git ls-files`` costs a process; the index format (versions 2 to 4) is a
short header and a list of fixed-size entries, documented in git's
``Documentation/gitformat-index.txt``.
"""

from __future__ import annotations

import struct
from pathlib import Path

_HEADER = struct.Struct(">4sLL")
_ENTRY = struct.Struct(">10L20sH")  # ctime..size (10 x 32 bits), object id, flags


class IndexError_(ValueError):
    pass


def git_dir(root: Path) -> Path | None:
    """The repository's git folder (``.git`` itself, or a worktree's ``gitdir:`` file)."""
    dot = root / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():
        text = dot.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            target = Path(text[7:].strip())
            return target if target.is_absolute() else (root / target).resolve()
    return None


def read_index(path: Path) -> dict[str, int]:
    """``{path: size in bytes}`` for every tracked file (all merge stages folded)."""
    data = path.read_bytes()
    if len(data) < _HEADER.size:
        raise IndexError_("truncated index")
    signature, version, count = _HEADER.unpack_from(data, 0)
    if signature != b"DIRC" or version not in (2, 3, 4):
        raise IndexError_(f"unsupported index (signature {signature!r}, version {version})")
    entries: dict[str, int] = {}
    offset = _HEADER.size
    previous = b""
    for _ in range(count):
        fields = _ENTRY.unpack_from(data, offset)
        size, flags = fields[9], fields[11]
        pos = offset + _ENTRY.size
        if flags & 0x4000 and version >= 3:  # extended flags
            pos += 2
        if version == 4:
            # prefix compression: drop N bytes of the previous name, then a suffix
            strip, pos = _varint(data, pos)
            end = data.index(b"\0", pos)
            name = previous[: len(previous) - strip] + data[pos:end]
            offset = end + 1
        else:
            end = data.index(b"\0", pos)
            name = data[pos:end]
            length = end - offset + 1
            offset += (length + 7) // 8 * 8
        previous = name
        entries[name.decode("utf-8", "surrogateescape")] = size
    return entries


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    byte = data[pos]
    pos += 1
    value = byte & 0x7F
    while byte & 0x80:
        byte = data[pos]
        pos += 1
        value = ((value + 1) << 7) | (byte & 0x7F)
    return value, pos
