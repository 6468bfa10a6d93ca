"""The hashed lock files of the generated repository, cut from one resolution.

At release time ``python -m pyscaffoldext.dsproject_ops.lockfile`` resolves every pin
of the template spec at once (runtime, development tools and every DVC remote plugin)
with ``uv pip compile --universal --generate-hashes``: one file, ``locks/universal.txt``
beside the template, valid on every platform and Python the template offers (uv writes
environment markers where they differ). Generating a repository needs no network: its
``requirements/lock.txt`` and ``requirements/serve.lock.txt`` are the parts of that one
resolution its answers need (the closure of their top-level pins, read from uv's
``# via`` annotations), so the two files always agree on every version they share.
The generated repository refreshes its own lock with ``python scripts/lock.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import jinja2
import jinja2.ext
from .paths import template_root
from .spec import load

UNIVERSAL = "locks/universal.txt"
# The oldest Python the template offers: a universal resolution from it covers the rest.
_HEADER = """\
# The one resolution the generated repositories' locks are cut from (see
# pyscaffoldext.dsproject_ops.lockfile). Regenerate it after changing a pin in
# cookiecutter.json:  python -m pyscaffoldext.dsproject_ops.lockfile
"""


# uv's output, exactly: `name==version` and an optional `; marker` (the render path runs
# in cookiecutter's Python too, where only the standard library and Jinja2 exist).
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


@lru_cache(maxsize=4)
def _universal(path: str, mtime: float) -> tuple[Entry, ...]:
    return tuple(parse(Path(path).read_text(encoding="utf-8")))


def universal(root: Path | None = None) -> tuple[Entry, ...]:
    path = (root or template_root()) / UNIVERSAL
    return _universal(str(path), path.stat().st_mtime)


@jinja2.pass_environment
def hashed_lock(env: jinja2.Environment, roots: Iterable[str]) -> str:
    """Jinja filter: the locked closure of ``roots`` as ``requirements.txt`` text."""
    root = None
    for loader in getattr(env.loader, "loaders", [env.loader]):
        for folder in getattr(loader, "searchpath", []):
            if (Path(folder) / UNIVERSAL).is_file():
                root = Path(folder)
                break
        if root:
            break
    return text_of(subset(universal(root), roots)).rstrip("\n")


class Locks(jinja2.ext.Extension):
    """Registers ``hashed_lock`` (``putup`` and cookiecutter)."""

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.filters["hashed_lock"] = hashed_lock


def spec_requirements(data: dict[str, object]) -> list[str]:
    """Every pin of the template spec: runtime, development and DVC plugins."""
    found: list[str] = []
    for key in ("_pins", "_dev_pins", "_extra_pins"):
        pins = data.get(key)
        if isinstance(pins, dict):
            found += [f"{name}=={version}" for name, version in pins.items()]
    extra = data.get("_extra_requires")
    if isinstance(extra, dict):
        for pins in extra.values():
            found += [f"{name}=={version}" for name, version in pins.items()]
    return found


def compile_universal(root: Path, python: str) -> str:
    """Resolve the spec's pins with uv (needs the package index)."""
    data = load(root).data
    command = [
        sys.executable,
        "-m",
        "uv",
        "pip",
        "compile",
        "-",
        "--universal",
        "--python-version",
        python,
        "--generate-hashes",
        "--annotation-style",
        "line",
        "--no-header",
    ]
    done = subprocess.run(
        command,
        input="\n".join(spec_requirements(data)) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise LockError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "uv")
    text = done.stdout.replace("-r -", "-r spec")
    parse(text)  # parse what we write
    return _HEADER + text


def main(argv: Sequence[str] | None = None) -> int:
    """Refresh ``locks/universal.txt`` of the template tree (release time)."""
    args = list(sys.argv[1:] if argv is None else argv)
    root = Path(args[0]) if args else template_root()
    data = load(root).data
    python = str(data["python_version"][0])
    try:
        text = compile_universal(root, python)
    except LockError as exc:
        print(f"lock: {exc}", file=sys.stderr)
        return 1
    target = root / UNIVERSAL
    target.parent.mkdir(exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({len(parse(text))} packages)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
