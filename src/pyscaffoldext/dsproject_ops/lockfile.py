"""The hashed lock files of the generated repository, resolved at release time.

Generating a repository needs no network, so the resolution ships with the template:
``python -m pyscaffoldext.dsproject_ops.lockfile`` (release time, needs the index)
resolves the spec's pins (runtime and development tools) with ``uv pip compile
--universal --generate-hashes`` into ``locks/universal.txt``: valid on every platform
and Python the template offers (uv writes environment markers where they differ). Each
DVC remote plugin is resolved the same way with those pins, and only what changes is
kept (``locks/extra-<name>.txt``: added or moved packages, ``# drop:`` the removed
ones), so a plugin that holds a package back (dvc-gdrive's pyOpenSSL pin holds back
cryptography) does so only in the repositories that use it. A repository's
``requirements/lock.txt`` and ``requirements/serve.lock.txt`` are the parts of its
variant its answers need (the closure of their top-level pins, read from uv's
``# via`` annotations): the two files agree on every version they share. The generated
repository refreshes its own locks with ``python scripts/lock.py``.
"""

from __future__ import annotations

import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

import jinja2
import jinja2.ext

# The text format lives in locktext (standard library only); its names stay importable here.
from .locktext import (  # noqa: F401
    Entry,
    LockError,
    canonicalize_name,
    parse,
    subset,
    text_of,
    versions,
)
from .paths import template_root
from .spec import is_template, load

UNIVERSAL = "locks/universal.txt"
EXTRA = "locks/extra-{}.txt"
_HEADER = """\
# The resolution the generated repositories' locks are cut from (see
# pyscaffoldext.dsproject_ops.lockfile). Regenerate it after changing a pin in
# cookiecutter.json:  python -m pyscaffoldext.dsproject_ops.lockfile
"""
_DROP = "# drop:"


@lru_cache(maxsize=16)
def _read(path: str, mtime: float) -> tuple[tuple[Entry, ...], tuple[str, ...]]:
    text = Path(path).read_text(encoding="utf-8")
    drop = [
        canonicalize_name(n.strip())
        for line in text.splitlines()
        if line.startswith(_DROP)
        for n in line[len(_DROP) :].split(",")
        if n.strip()
    ]
    return tuple(parse(text)), tuple(drop)


def universal(root: Path | None = None, extra: str = "") -> tuple[Entry, ...]:
    """The resolution for the spec's pins, plus the DVC plugin ``dvc-<extra>``."""
    base = root or template_root()
    path = base / UNIVERSAL
    entries, _ = _read(str(path), path.stat().st_mtime)
    if not extra:
        return entries
    path = base / EXTRA.format(extra)
    changed, drop = _read(str(path), path.stat().st_mtime)
    gone = set(drop) | {e.name for e in changed}
    merged = [e for e in entries if e.name not in gone] + list(changed)
    return tuple(sorted(merged, key=lambda e: (e.name, e.marker)))


@jinja2.pass_environment
def hashed_lock(env: jinja2.Environment, roots: Iterable[str], extra: str = "") -> str:
    """Jinja filter: the locked closure of ``roots`` as ``requirements.txt`` text (from
    the variant with the DVC plugin of ``extra``, when given)."""
    root = None
    for loader in getattr(env.loader, "loaders", [env.loader]):
        for folder in getattr(loader, "searchpath", []):
            if (Path(folder) / UNIVERSAL).is_file():
                root = Path(folder)
                break
        if root:
            break
    return text_of(subset(universal(root, extra), roots)).rstrip("\n")


class Locks(jinja2.ext.Extension):
    """Registers ``hashed_lock`` (``putup`` and cookiecutter)."""

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.filters["hashed_lock"] = hashed_lock


def _pins(table: object) -> list[str]:
    return [f"{n}=={v}" for n, v in table.items()] if isinstance(table, dict) else []


def spec_requirements(data: dict[str, Any], extra: str = "") -> list[str]:
    """The spec's runtime and development pins, plus a DVC plugin's (``extra``)."""
    found = _pins(data.get("_pins")) + _pins(data.get("_dev_pins"))
    if extra:
        plugin = f"dvc-{extra}"
        found.append(f"{plugin}=={data['_extra_pins'][plugin]}")
        found += _pins(data.get("_extra_requires", {}).get(plugin))
    return found


def extras(data: dict[str, Any]) -> list[str]:
    """The DVC remote extras of the spec (``dvc-s3`` -> ``s3``)."""
    return [name[len("dvc-") :] for name in data.get("_extra_pins", {})]


def compile_pins(requirements: Sequence[str], python: str) -> str:
    """uv's universal hashed resolution of ``requirements`` (needs the package index)."""
    command = [sys.executable, "-m", "uv", "pip", "compile", "-", "--universal"]
    command += ["--python-version", python, "--generate-hashes"]
    command += ["--annotation-style", "line", "--no-header", "--quiet"]
    done = subprocess.run(
        command, input="\n".join(requirements) + "\n", capture_output=True, text=True
    )
    if done.returncode:
        lines = done.stderr.strip().splitlines() or ["uv failed"]
        raise LockError(lines[-1])
    parse(done.stdout)  # parse what we write
    return done.stdout.replace("-r -", "-r spec")


def delta(default: str, variant: str) -> str:
    """The lines of ``variant`` that are not in ``default``, and a ``# drop:`` line."""
    base = {(e.name, e.version, e.marker, e.hashes): e for e in parse(default)}
    mine = parse(variant)
    kept = {e.name for e in mine}
    changed = [e for e in mine if (e.name, e.version, e.marker, e.hashes) not in base]
    names = {e.name for e in changed}
    # a package with a changed fork is replaced whole: every entry of that name
    entries = [e for e in mine if e.name in names]
    dropped = sorted({e.name for e in base.values()} - kept)
    lines = [f"{_DROP} {', '.join(dropped)}"] if dropped else []
    via_lines = [
        e.text() + ("\n    # via " + ", ".join(p or "-r spec" for p in e.via)) for e in entries
    ]
    return "\n".join(lines + via_lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Refresh ``locks/`` of the template tree (release time)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print("usage: python -m pyscaffoldext.dsproject_ops.lockfile [TEMPLATE_DIR]\n")
        print(__doc__)
        return 0
    root = Path(args[0]) if args else template_root()
    if not is_template(root):
        print(f"lock: {root} is not a template folder (no cookiecutter.json)", file=sys.stderr)
        return 2
    data = load(root).data
    python = str(data["python_version"][0])  # the oldest: a universal lock covers the rest
    try:
        default = compile_pins(spec_requirements(data), python)
        variants = {x: compile_pins(spec_requirements(data, x), python) for x in extras(data)}
    except LockError as exc:
        print(f"lock: {exc}", file=sys.stderr)
        return 1
    (root / UNIVERSAL).parent.mkdir(exist_ok=True)
    (root / UNIVERSAL).write_text(_HEADER + default, encoding="utf-8")
    print(f"wrote {root / UNIVERSAL} ({len(parse(default))} packages)")
    for extra, text in variants.items():
        target = root / EXTRA.format(extra)
        head = f"# What the DVC plugin dvc-{extra} changes in {UNIVERSAL}.\n"
        target.write_text(head + delta(default, text), encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
