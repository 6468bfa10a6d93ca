"""The repository being checked: the :class:`~..repository.Repository` model (files
listed once, read and parsed once, within bounds) plus what the checks derive from it.

Every parse records its error (message, line, column from the parser, or the reason a
file was not read: too large, not UTF-8, a symlink out of the repository), so the
syntax checks report it once and the checks that need the file are skipped instead.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any

from ..repository import Parsed, ParseError, Repository
from ..repository.formats import ini_line

__all__ = ["Context", "Parsed", "ParseError", "PREFIX"]

PREFIX = "dsproject_ops_"  # answers.PREFIX, without importing answers' validators


class Context(Repository):
    """Lazy, cached access to one repository, with the options of this run."""

    def __init__(self, root: Path, options: dict[str, Any] | None = None) -> None:
        super().__init__(root)
        self.options = options or {}

    @cached_property
    def git_index(self) -> dict[str, int] | None:
        """Tracked paths and their sizes on disk, or None when this is not a git repository."""
        modes = self.tracked_modes
        if modes is None:
            return None
        sizes = {}
        for rel in modes:
            size = self.size(rel)
            if size is not None:
                sizes[rel] = size
        return sizes

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
        return None if text is None else ini_line(text, section, key)

    # -- the project -------------------------------------------------------------
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
        for style in ("src", "flat"):
            for found in self.packages:
                if found.style == style:
                    return found.name
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
