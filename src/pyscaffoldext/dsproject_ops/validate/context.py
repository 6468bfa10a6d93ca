"""The repository being checked: files read and parsed once, on first use.

Every parse records its error (message, line, column from the parser), so the syntax
checks report it once and the checks that need the file are skipped instead.
"""

from __future__ import annotations

import os
import re
import struct
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, NamedTuple

from . import patterns
from .gitindex import git_dir, read_index

YAML_SUFFIXES = (".yml", ".yaml", ".dvc")
PREFIX = "dsproject_ops_"  # answers.PREFIX, without importing answers' validators
TEXT_LIMIT = 2_000_000  # bytes: larger files are data, not text to lint
# Folders never walked when the repository has no git index.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".tox",
        ".nox",
        ".gitlab-ci-local",
        "mlruns",
        "mlartifacts",
        ".ipynb_checkpoints",
        "build",
        "dist",
        ".eggs",
    }
)


class ParseError(NamedTuple):
    message: str
    line: int | None = None
    column: int | None = None


class Parsed:
    """A parsed file: ``data`` (None when it failed), positions of YAML keys."""

    def __init__(self, data: Any = None, error: ParseError | None = None, node: Any = None):
        self.data = data
        self.error = error
        # YAML: the node tree, turned into key positions only when a check asks for a line
        self.node = node
        self._positions: dict[tuple[Any, ...], tuple[int, int]] | None = None

    @property
    def positions(self) -> dict[tuple[Any, ...], tuple[int, int]]:
        if self._positions is None:
            from .parsers import positions

            self._positions = positions(self.node) if self.node is not None else {}
        return self._positions

    def line(self, *path: Any) -> int | None:
        """The line of the deepest known key along ``path`` (YAML only)."""
        for n in range(len(path), 0, -1):
            found = self.positions.get(tuple(path[:n]))
            if found:
                return found[0]
        return None

    def column(self, *path: Any) -> int | None:
        found = self.positions.get(tuple(path))
        return found[1] if found else None


class Context:
    """Lazy, cached access to one repository."""

    def __init__(self, root: Path, options: dict[str, Any] | None = None) -> None:
        self.root = root
        self.options = options or {}
        self._text: dict[str, str | None] = {}
        self._parsed: dict[tuple[str, str], Parsed] = {}

    # -- files ---------------------------------------------------------------
    def path(self, rel: str) -> Path:
        return self.root / rel

    def exists(self, rel: str) -> bool:
        return os.path.lexists(self.root / rel)

    def is_file(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def is_dir(self, rel: str) -> bool:
        return (self.root / rel).is_dir()

    def text(self, rel: str) -> str | None:
        """The file as text, or None when it is missing, binary or too large."""
        if rel not in self._text:
            self._text[rel] = self._read(rel)
        return self._text[rel]

    def _read(self, rel: str) -> str | None:
        path = self.root / rel
        try:
            if not path.is_file() or path.stat().st_size > TEXT_LIMIT:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        if b"\0" in data[:8192]:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    @cached_property
    def git_index(self) -> dict[str, int] | None:
        """Tracked paths and sizes, or None when this is not a git repository."""
        folder = git_dir(self.root)
        if folder is None:
            return None
        index = folder / "index"
        if not index.is_file():
            return {}
        try:
            return read_index(index)
        except (OSError, ValueError, struct.error):
            return None  # an index we cannot read: check the files on disk instead

    @property
    def tracked(self) -> list[str] | None:
        return None if self.git_index is None else sorted(self.git_index)

    @cached_property
    def files(self) -> list[str]:
        """The repository's files: what git tracks, else a walk that skips tool folders."""
        if self.git_index is not None:
            return [p for p in sorted(self.git_index) if os.path.lexists(self.root / p)]
        return self.worktree

    @cached_property
    def worktree(self) -> list[str]:
        """Every file on disk, tracked or not, outside tool folders and data/."""
        found: list[str] = []
        for folder, dirs, names in os.walk(self.root):
            rel_folder = os.path.relpath(folder, self.root).replace(os.sep, "/")
            dirs[:] = sorted(
                d
                for d in dirs
                if d not in SKIP_DIRS
                and not d.endswith(".egg-info")
                and not (rel_folder == "." and d == "data")
                and not (rel_folder == ".dvc" and d in ("cache", "tmp"))
            )
            for name in names:
                rel = name if rel_folder == "." else f"{rel_folder}/{name}"
                found.append(rel)
        return sorted(found)

    def files_matching(self, predicate: Callable[[str], bool]) -> list[str]:
        return [p for p in self.files if predicate(p)]

    @cached_property
    def gitignore_rules(self) -> list[str]:
        return patterns.parse_lines(self.text(".gitignore") or "")

    def git_ignored(self, rel: str) -> bool:
        return patterns.ignored(rel, self.gitignore_rules)

    # -- parsing --------------------------------------------------------------
    def _parse(self, kind: str, rel: str, parser: Callable[[str], Parsed]) -> Parsed | None:
        key = (kind, rel)
        if key not in self._parsed:
            text = self.text(rel)
            if text is None:
                return None
            self._parsed[key] = parser(text)
        return self._parsed[key]

    def yaml(self, rel: str) -> Parsed | None:
        from .parsers import parse_yaml

        return self._parse("yaml", rel, parse_yaml)

    def toml(self, rel: str) -> Parsed | None:
        from .parsers import parse_toml

        return self._parse("toml", rel, parse_toml)

    def ini(self, rel: str) -> Parsed | None:
        from .parsers import parse_ini

        return self._parse("ini", rel, parse_ini)

    def json(self, rel: str) -> Parsed | None:
        from .parsers import parse_json

        return self._parse("json", rel, parse_json)

    def parse_any(self, rel: str) -> Parsed | None:
        from .parsers import kind_of

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
        """Parsed content, or None when missing or unparsable."""
        parsed = self.parse_any(rel)
        return None if parsed is None else parsed.data

    # -- lines -----------------------------------------------------------------
    def find_line(self, rel: str, regex: str, flags: int = 0) -> tuple[int, int] | None:
        """(line, column) of the first match of ``regex`` in the file, 1-based."""
        text = self.text(rel)
        if text is None:
            return None
        found = re.search(regex, text, flags | re.MULTILINE)
        if not found:
            return None
        before = text[: found.start()]
        return before.count("\n") + 1, found.start() - (before.rfind("\n") + 1) + 1

    def ini_line(self, rel: str, section: str, key: str | None = None) -> int | None:
        """The line of ``[section]`` or of ``key`` in it."""
        text = self.text(rel)
        if text is None:
            return None
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

    # -- the project -------------------------------------------------------------
    @cached_property
    def setup_cfg(self) -> dict[str, dict[str, str]]:
        data = self.data("setup.cfg") if self.is_file("setup.cfg") else None
        return data if isinstance(data, dict) else {}

    @cached_property
    def pyproject(self) -> dict[str, Any]:
        data = self.data("pyproject.toml") if self.is_file("pyproject.toml") else None
        return data if isinstance(data, dict) else {}

    @cached_property
    def answers(self) -> dict[str, str] | None:
        """The recorded dsproject-ops answers (setup.cfg ``[pyscaffold]``), if any."""
        section = self.setup_cfg.get("pyscaffold", {})
        found = {k[len(PREFIX) :]: v.strip() for k, v in section.items() if k.startswith(PREFIX)}
        if not found:
            return None
        found.setdefault("package", section.get("package", "").strip())
        found["project_name"] = self.setup_cfg.get("metadata", {}).get("name", "").strip()
        return found

    def feature(self, name: str) -> bool | None:
        """A recorded answer as a switch (``ci`` is split into ``gitlab``/``github``)."""
        answers = self.answers
        if answers is None:
            return None
        if name in ("gitlab", "github"):
            ci = answers.get("ci", "")
            return ci in (name, "both")
        value = answers.get(name)
        if value is None:
            return None
        return value.lower() in ("1", "true", "yes", "on")

    @cached_property
    def package(self) -> str | None:
        if self.answers and self.answers.get("package"):
            return self.answers["package"]
        section = self.setup_cfg.get("pyscaffold", {})
        if section.get("package"):
            return section["package"].strip()
        for base in ("src", "."):
            folder = self.root / base
            if folder.is_dir():
                for child in sorted(folder.iterdir()):
                    if (child / "__init__.py").is_file() and child.name not in ("tests", "docs"):
                        return child.name
        return None

    @cached_property
    def project_name(self) -> str | None:
        name = self.setup_cfg.get("metadata", {}).get("name") or self.pyproject.get(
            "project", {}
        ).get("name")
        return str(name).strip() if name else None

    @cached_property
    def console_scripts(self) -> set[str]:
        names: set[str] = set()
        entry = self.setup_cfg.get("options.entry_points", {}).get("console_scripts", "")
        for line in entry.splitlines():
            if "=" in line:
                names.add(line.split("=", 1)[0].strip())
        scripts = self.pyproject.get("project", {}).get("scripts", {})
        if isinstance(scripts, dict):
            names.update(str(k) for k in scripts)
        return names

    @cached_property
    def extras(self) -> set[str]:
        found = set(self.setup_cfg.get("options.extras_require", {}))
        extras = self.pyproject.get("project", {}).get("optional-dependencies", {})
        if isinstance(extras, dict):
            found.update(str(k) for k in extras)
        return found

    @cached_property
    def make_targets(self) -> set[str] | None:
        text = self.text("Makefile")
        if text is None:
            return None
        return set(re.findall(r"^([A-Za-z0-9_.\-/]+)\s*:(?!=)", text, re.MULTILINE))

    @cached_property
    def dvc_stages(self) -> set[str] | None:
        data = self.data("dvc.yaml") if self.is_file("dvc.yaml") else None
        if not isinstance(data, dict) or not isinstance(data.get("stages"), dict):
            return None
        return {str(k) for k in data["stages"]}

    def workflows(self) -> list[str]:
        return [
            p
            for p in self.files
            if p.startswith(".github/workflows/") and p.endswith((".yml", ".yaml"))
        ]

    @cached_property
    def dockerfiles(self) -> list[str]:
        return [
            p
            for p in self.files
            if p.rsplit("/", 1)[-1] == "Dockerfile"
            or p.endswith(".Dockerfile")
            or p.rsplit("/", 1)[-1].startswith("Dockerfile.")
        ]
