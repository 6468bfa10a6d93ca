"""The :class:`Repository`: lazy, cached, bounded access to one repository's files."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, NamedTuple

from . import listing
from .formats import kind_of
from .ignore import IgnoreRules
from .layout import Package, packages
from .limits import MAX_BYTES, too_large
from .parsed import Parsed, unreadable
from .requirements import Req


class Text(NamedTuple):
    """A file's text, or None with the reason it cannot be read."""

    text: str | None
    problem: str | None  # None when ``text`` is set or the file is missing


OUTSIDE = "a symlink to outside the repository ({target}): not read"


class Repository:
    """One repository, listed once; every file read at most once, parsed at most once
    per reader, and never read through a symlink that leaves the repository."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._real_root = os.path.realpath(self.root)
        self._texts: dict[str, Text] = {}
        self._parsed: dict[tuple[str, str], Parsed] = {}

    # -- listing ----------------------------------------------------------------
    @cached_property
    def git(self) -> bool:
        """Is the root a git repository's top folder?"""
        return listing.git_dir(self.root) is not None

    @cached_property
    def tracked_modes(self) -> dict[str, str] | None:
        """``{path: git mode}`` of tracked paths, or None outside git (or when git fails)."""
        return listing.tracked(self.root) if self.git else None

    @property
    def tracked(self) -> list[str] | None:
        modes = self.tracked_modes
        return None if modes is None else sorted(modes)

    @cached_property
    def untracked(self) -> list[str]:
        """Untracked, not ignored files: what the next ``git add -A`` would commit."""
        return listing.untracked(self.root) if self.tracked_modes is not None else []

    @cached_property
    def ignored(self) -> list[str]:
        """Ignored paths (an ignored folder as ``folder/``)."""
        return listing.ignored(self.root) if self.tracked_modes is not None else []

    @cached_property
    def files(self) -> list[str]:
        """The repository's files: what git tracks (and is on disk), else a walk."""
        modes = self.tracked_modes
        if modes is not None:
            return [p for p in sorted(modes) if os.path.lexists(self.root / p)]
        return self.worktree

    @cached_property
    def worktree(self) -> list[str]:
        """Every file on disk, tracked or not, outside tool folders and ``data/``."""
        return listing.walk(self.root)

    def files_matching(self, predicate: Callable[[str], bool]) -> list[str]:
        return [p for p in self.files if predicate(p)]

    # -- one path -----------------------------------------------------------------
    def path(self, rel: str) -> Path:
        return self.root / rel

    def exists(self, rel: str) -> bool:
        return os.path.lexists(self.root / rel)

    def is_file(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def is_dir(self, rel: str) -> bool:
        return (self.root / rel).is_dir() and self.inside(rel)

    def is_symlink(self, rel: str) -> bool:
        modes = self.tracked_modes or {}
        return modes.get(rel) == listing.SYMLINK_MODE or os.path.islink(self.root / rel)

    def inside(self, rel: str) -> bool:
        """Does ``rel``, with every symlink on the way resolved, stay in the repository?"""
        real = os.path.realpath(self.root / rel)
        return real == self._real_root or real.startswith(self._real_root + os.sep)

    def outside_target(self, rel: str) -> str | None:
        """Where ``rel`` leads when a symlink takes it out of the repository, else None."""
        if self.inside(rel):
            return None
        return os.path.realpath(self.root / rel)

    def size(self, rel: str) -> int | None:
        """Size in bytes of the entry itself (a symlink's own size), None when missing."""
        try:
            return os.lstat(self.root / rel).st_size
        except OSError:
            return None

    # -- text -----------------------------------------------------------------------
    def read(self, rel: str) -> Text:
        """The file's text, or the reason it cannot be read: a symlink out of the
        repository, too large, binary, or not UTF-8. Missing: ``Text(None, None)``."""
        if rel not in self._texts:
            self._texts[rel] = self._read(rel)
        return self._texts[rel]

    def text(self, rel: str) -> str | None:
        return self.read(rel).text

    def problem(self, rel: str) -> str | None:
        return self.read(rel).problem

    def _read(self, rel: str) -> Text:
        path = self.root / rel
        if not os.path.lexists(path):
            return Text(None, None)
        target = self.outside_target(rel)
        if target is not None:
            return Text(None, OUTSIDE.format(target=target))
        try:
            if not path.is_file():
                return Text(None, None)
            size = path.stat().st_size
            if size > MAX_BYTES:
                return Text(None, too_large(size))
            data = path.read_bytes()
        except OSError as exc:
            return Text(None, f"cannot be read ({exc.strerror or exc})")
        if b"\0" in data[:8192]:
            return Text(None, "binary (NUL bytes), not text")
        try:
            return Text(data.decode("utf-8"), None)
        except UnicodeDecodeError as exc:
            return Text(None, f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})")

    # -- parsing ----------------------------------------------------------------------
    def _parse(self, kind: str, rel: str, parser: Callable[[str], Parsed]) -> Parsed | None:
        key = (kind, rel)
        if key not in self._parsed:
            got = self.read(rel)
            if got.text is None:
                if got.problem is None:
                    return None  # missing: absent, not broken
                self._parsed[key] = unreadable(got.problem)
            else:
                self._parsed[key] = parser(got.text)
        return self._parsed[key]

    def yaml(self, rel: str) -> Parsed | None:
        """The first YAML document, bounded (size, depth, alias expansion), with positions."""
        from .yamlread import parse_yaml

        return self._parse("yaml", rel, parse_yaml)

    def yaml_roundtrip(self, rel: str) -> Parsed | None:
        """The first YAML document as ruamel.yaml's round-trip tree (same bounds)."""
        from .yamlread import parse_yaml_roundtrip

        return self._parse("yaml-rt", rel, parse_yaml_roundtrip)

    def toml(self, rel: str) -> Parsed | None:
        from .formats import parse_toml

        return self._parse("toml", rel, parse_toml)

    def ini(self, rel: str) -> Parsed | None:
        from .formats import parse_ini

        return self._parse("ini", rel, parse_ini)

    def json(self, rel: str) -> Parsed | None:
        from .formats import parse_json

        return self._parse("json", rel, parse_json)

    def parse_any(self, rel: str) -> Parsed | None:
        """The file parsed by the reader its name calls for; None for other files."""
        kind = kind_of(rel)
        if kind is None:
            return None
        name = "json" if kind == "notebook" else kind
        parse: Callable[[str], Parsed | None] = getattr(self, name)
        return parse(rel)

    def broken(self, rel: str) -> bool:
        parsed = self.parse_any(rel)
        return parsed is not None and parsed.error is not None

    def data(self, rel: str) -> Any:
        """Parsed content, or None when missing, unreadable or unparsable."""
        parsed = self.parse_any(rel)
        return None if parsed is None else parsed.data

    def requirements(self, rel: str) -> list[Req] | None:
        """A ``requirements.txt``-style file's requirements (None when unreadable)."""
        from .requirements import lines

        text = self.text(rel)
        return None if text is None else lines(text)

    def line_of(self, rel: str, section: str, key: str | None = None) -> int | None:
        """The line of an INI file's ``[section]`` or of ``key`` in it."""
        from .formats import ini_line

        text = self.text(rel)
        return None if text is None else ini_line(text, section, key)

    # -- the project ----------------------------------------------------------------------
    @cached_property
    def ignore_rules(self) -> IgnoreRules:
        """Every ``.gitignore`` in the repository (the root one even when untracked)."""
        names = set(self.files)
        if self.exists(".gitignore"):
            names.add(".gitignore")
        return IgnoreRules.read(sorted(names), self.text)

    def git_ignored(self, rel: str) -> bool:
        """Would git ignore ``rel`` (which need not exist)?"""
        return self.ignore_rules.ignored(rel)

    @cached_property
    def packages(self) -> tuple[Package, ...]:
        """The project's import packages (``src/``, flat or namespace layout)."""
        names = set(self.files) | set(self.untracked)
        return packages(p for p in names if p.endswith("/__init__.py") and self.inside(p))

    @cached_property
    def setup_cfg(self) -> dict[str, dict[str, str]]:
        data = self.data("setup.cfg") if self.is_file("setup.cfg") else None
        return data if isinstance(data, dict) else {}

    @cached_property
    def pyproject(self) -> dict[str, Any]:
        data = self.data("pyproject.toml") if self.is_file("pyproject.toml") else None
        return data if isinstance(data, dict) else {}
