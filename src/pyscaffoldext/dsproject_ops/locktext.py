"""The text of a hashed lock: uv's ``pip compile --generate-hashes`` output, read and cut.

Standard library only: ``dsops validate`` reads locks with it (no Jinja2 to import), and
the render path runs in cookiecutter's Python too, where only the standard library and
Jinja2 exist. Resolving and rendering locks is lockfile.py's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

# uv's output, exactly: `name==version` and an optional `; marker`.
_PIN = re.compile(
    r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)==([A-Za-z0-9.+!_-]+)(?:\s*;\s*(\S.*))?"
)


def canonicalize_name(name: str) -> str:
    """PEP 503's normalised name (what ``packaging.utils.canonicalize_name`` returns)."""
    return re.sub(r"[-_.]+", "-", name).lower()


class LockError(ValueError):
    """A lock file that is not uv's hashed ``requirements.txt`` output."""


@dataclass(frozen=True)
class Entry:
    """One locked requirement: ``name==version ; marker`` with its hashes."""

    name: str  # canonical
    version: str
    marker: str
    hashes: tuple[str, ...]
    via: tuple[str, ...]  # canonical names of the packages that need it ("" = top level)
    line: int = field(default=0, compare=False)  # where the entry starts (1-based)

    def text(self) -> str:
        head = f"{self.name}=={self.version}" + (f" ; {self.marker}" if self.marker else "")
        lines = [head] + [f"    --hash={h}" for h in self.hashes]
        return " \\\n".join(lines)


def parse(text: str) -> list[Entry]:
    """The entries of a ``uv pip compile --generate-hashes`` output (line annotations)."""
    entries: list[Entry] = []
    block: list[str] = []
    via: list[str] = []
    start = [0]

    def close() -> None:
        if block:
            entries.append(_entry(block, via, start[0]))
        block.clear()
        via.clear()

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if raw[:1] not in (" ", "\t") and not line.startswith("#"):
            close()
            start[0] = number
            block.append(line.rstrip("\\").strip())
        elif line.startswith("--hash="):
            if not block:
                raise LockError(f"line {number}: a hash outside a requirement")
            block.append(line.rstrip("\\").strip())
        elif line.startswith("# via") and block:
            via.extend(v.strip() for v in line[len("# via") :].split(","))
        elif line.startswith("#   ") and block:  # uv's split annotation style
            via.append(line[1:].strip())
    close()
    return entries


def _entry(block: list[str], via: list[str], line: int) -> Entry:
    found = _PIN.fullmatch(block[0])
    if not found:
        raise LockError(f"line {line}: not an exact pin: {block[0]}")
    name, version, marker = found.groups()
    hashes = tuple(h[len("--hash=") :] for h in block[1:])
    if not hashes:
        raise LockError(f"line {line}: no --hash for {block[0]}")
    parents = tuple("" if v.startswith("-r") else canonicalize_name(v) for v in via if v)
    return Entry(
        canonicalize_name(name),
        version,
        (marker or "").strip(),
        hashes,
        parents or ("",),
        line,
    )


def subset(entries: Sequence[Entry], roots: Iterable[str]) -> list[Entry]:
    """The entries ``roots`` need: the roots and, transitively, what they pull in."""
    wanted = {canonicalize_name(r) for r in roots}
    missing = wanted - {e.name for e in entries}
    if missing:
        raise LockError(f"not in the lock: {', '.join(sorted(missing))}")
    keep = set(wanted)
    changed = True
    while changed:
        changed = False
        for entry in entries:
            if entry.name not in keep and any(p in keep for p in entry.via if p):
                keep.add(entry.name)
                changed = True
    return [e for e in entries if e.name in keep]


def versions(entries: Iterable[Entry]) -> dict[str, set[str]]:
    """``{canonical name: versions}`` (a package forked by markers has more than one)."""
    found: dict[str, set[str]] = {}
    for entry in entries:
        found.setdefault(entry.name, set()).add(entry.version)
    return found


def text_of(entries: Iterable[Entry]) -> str:
    return "\n".join(e.text() for e in entries) + "\n"


@lru_cache(maxsize=8)
def parsed(text: str) -> tuple[Entry, ...]:
    """``parse``, remembered: several checks read the same lock in one run."""
    return tuple(parse(text))
