"""Findings and the registry of checks.

A check is a small class: a stable ``code`` (family prefix + number), a one-line
``summary``, a docstring that is its documentation (``--explain``), ``applies`` (does
the repository have the feature this check is about?), ``requires`` (codes of checks
that must pass first, so one broken file gives one finding, not a cascade) and
``needs`` (files that must parse; otherwise the check is skipped).

Families are found through the ``dsproject_ops.checks`` entry-point group: the name is
the family, the value the module that defines its checks (ours are registered there
too, in pyproject.toml). A company adds its own family in its own package::

    [project.entry-points."dsproject_ops.checks"]
    acme = "acme_checks.dsops"        # TITLE = "..." in the module (else its docstring)

and its checks subclass :class:`Check` (``from pyscaffoldext.dsproject_ops.validate.registry
import Check, Issue``); they receive the repository model (:class:`.context.Context`, a
:class:`~..repository.Repository`) and never need the engine. Loading refuses, with one
line, a duplicate code, a code that is not upper-case letters and digits, an unknown
``requires`` code, a cycle of prerequisites, a family claimed twice and a module that
does not import. Reading entry points costs ``importlib.metadata`` (a third of a static
run), so the list is cached in ``~/.cache/dsproject-ops``, keyed by the modification
times of the folders on ``sys.path`` (installing or removing a package changes them).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import TYPE_CHECKING, ClassVar, Iterable, Iterator, NamedTuple

from ..errors import DsopsError

if TYPE_CHECKING:
    from .context import Context

SEVERITIES = ("info", "warning", "error")
GROUP = "dsproject_ops.checks"

# Our families: family -> (module, code prefix, title); the order is the report's
# order (other packages' families follow, by name). The entry points in pyproject.toml
# name the same modules; this table also serves a source checkout without metadata.
BUILTIN: dict[str, tuple[str, str, str]] = {
    "layout": (".layout", "LAY", "folders and files the template calls for"),
    "templates": (".templates", "TPL", "unrendered templates and merge leftovers"),
    "syntax": (".syntax", "SYN", "YAML, TOML, INI, JSON and notebooks parse"),
    "precommit": (".precommit", "PC", "pre-commit configuration"),
    "environment": (".environment", "ENV", "conda environment and package metadata"),
    "lock": (".lock", "LCK", "hashed lock files"),
    "dvc": (".dvc", "DVC", "DVC pipeline and remotes"),
    "ci": (".ci", "CI", "GitLab CI and GitHub Actions"),
    "schemas": (".schemas", "SCH", "CI, Dependabot and Compose files against their JSON schemas"),
    "docker": (".docker", "DKR", "Dockerfile and .dockerignore"),
    "k8s": (".k8s", "K8S", "Kubernetes manifests against the image and the service"),
    "git": (".git", "GIT", "what git tracks"),
    "secrets": (".secrets", "SEC", "credentials in tracked files"),
    "docs": (".docs", "DOC", "the README's commands and links"),
    "external": (".external", "EXT", "external linters (with --external)"),
}
# Every loaded family (ours, then other packages'): filled by all_checks().
FAMILIES: dict[str, tuple[str, str, str]] = dict(BUILTIN)


class RegistryError(DsopsError):
    """The installed checks cannot be loaded (one line: which package, what is wrong)."""


class ToolMissing(Exception):
    """Raised by an external check whose tool is not installed (the tool's name)."""


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


# NamedTuples, not dataclasses: importing dataclasses (and inspect) costs more than
# a whole validation of some repositories.
class Issue(NamedTuple):
    """What a check reports; the runner adds the check's code and severity."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    severity: str | None = None
    rule: str | None = None  # an external tool's own rule id (DL3008, SC2086, ...)


class Finding(NamedTuple):
    code: str
    family: str
    severity: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    rule: str | None = None
    ignored: str | None = None  # the configured reason when an ignore matched ("" = none)

    def location(self) -> str:
        if not self.file:
            return "."
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where


class Check:
    """Base class: subclasses with a ``code`` register themselves."""

    code: ClassVar[str] = ""
    family: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    severity: ClassVar[str] = "error"
    requires: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[tuple[str, ...]] = ()
    # An external tool: runs only when asked (--external) and when installed.
    tool: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        # Recorded, not judged: a duplicate from another package is refused at load
        # with one line (an exception here would surface as that package's crash).
        super().__init_subclass__(**kwargs)
        if cls.code:
            _DEFINED.append(cls)

    @classmethod
    def doc(cls) -> str:
        lines = (cls.__doc__ or cls.summary).expandtabs().splitlines()
        indents = [len(x) - len(x.lstrip()) for x in lines[1:] if x.strip()]
        margin = min(indents, default=0)
        return "\n".join([lines[0].strip(), *(x[margin:] for x in lines[1:])]).strip()

    def applies(self, ctx: "Context") -> bool:
        return True

    def run(self, ctx: "Context") -> Iterable[Issue]:
        raise NotImplementedError

    def fix(self, ctx: "Context", findings: list[Finding]) -> dict[str, str]:
        """The mechanical fix of ``findings`` (this check's, in this repository): the new
        text of each file they name, ``{rel: text}``; ``{}`` when there is none (the
        default). ``dsops validate --fix`` writes it; it never touches another file."""
        return {}

    @classmethod
    def fixable(cls) -> bool:
        return cls.fix is not Check.fix


_DEFINED: list[type[Check]] = []
_LOADED: list[type[Check]] | None = None
_CODE = re.compile(r"[A-Z][A-Z0-9]*[0-9]")


def all_checks() -> list[type[Check]]:
    """Every registered check, in family order then code order; raises
    :class:`RegistryError` when the installed checks do not load."""
    global _LOADED
    if _LOADED is None:
        _LOADED = _load(entry_points())
    return list(_LOADED)


def _load(points: list[tuple[str, str]]) -> list[type[Check]]:
    families = dict(BUILTIN)
    modules = {
        family: importlib.import_module(mod, __package__).__name__
        for family, (mod, _, _) in BUILTIN.items()
    }
    for family, value in sorted(points):
        module_name = value.partition(":")[0].strip()
        if modules.get(family) == module_name:
            continue  # one of ours, registered through the same group
        if family in modules:
            raise RegistryError(
                f"check family {family!r} of {module_name} is already defined by {modules[family]}"
            )
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # a plugin's bug, said in one line
            why = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise RegistryError(
                f"check family {family!r}: cannot import {module_name} ({why})"
            ) from None
        title = getattr(module, "TITLE", None) or (module.__doc__ or family).strip().splitlines()[0]
        families[family] = (module_name, "", str(title))
        modules[family] = module_name
    by_module = {mod: family for family, mod in modules.items()}
    checks: dict[str, type[Check]] = {}
    for cls in _DEFINED:
        owner = by_module.get(cls.__module__)
        if owner is None:
            continue  # defined in a module no entry point names (a test's own class)
        where = f"{cls.__module__}.{cls.__qualname__}"
        if not cls.family:
            cls.family = owner
        elif cls.family != owner:
            raise RegistryError(
                f"check {cls.code} ({where}) says family {cls.family!r}, registered as {owner!r}"
            )
        if not _CODE.fullmatch(cls.code):
            raise RegistryError(
                f"check code {cls.code!r} ({where}) is not upper-case letters and digits"
            )
        if cls.severity not in SEVERITIES:
            raise RegistryError(
                f"check {cls.code} ({where}) has severity {cls.severity!r}, "
                f"not one of {', '.join(SEVERITIES)}"
            )
        if cls.code in checks:
            other = checks[cls.code]
            raise RegistryError(
                f"duplicate check code {cls.code}: "
                f"{other.__module__}.{other.__qualname__} and {where}"
            )
        checks[cls.code] = cls
    for cls in checks.values():
        unknown = [req for req in cls.requires if req not in checks]
        if unknown:
            raise RegistryError(f"check {cls.code} requires unknown check {', '.join(unknown)}")
    run_order(list(checks.values()))  # a cycle is refused at load, not at the first run
    order = list(families)
    FAMILIES.clear()
    FAMILIES.update(families)
    return sorted(checks.values(), key=lambda c: (order.index(c.family), c.code))


def run_order(checks: list[type[Check]]) -> list[type[Check]]:
    """``checks`` with every prerequisite before the checks that require it (otherwise
    in the given order); raises :class:`RegistryError` for a cycle."""
    from graphlib import CycleError, TopologicalSorter

    position = {c.code: i for i, c in enumerate(checks)}
    by_code = {c.code: c for c in checks}
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for check in checks:
        sorter.add(check.code, *(r for r in check.requires if r in by_code))
    try:
        sorter.prepare()
    except CycleError as exc:
        raise RegistryError(
            f"checks require each other in a cycle: {' -> '.join(exc.args[1])}"
        ) from None
    ordered: list[type[Check]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        ordered.extend(by_code[code] for code in ready)
        sorter.done(*ready)
    return ordered


def entry_points() -> list[tuple[str, str]]:
    """(family, module) of every ``dsproject_ops.checks`` entry point, through the cache."""
    import json

    key = _environment_key()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    cache = os.path.join(base, "dsproject-ops", "checks-entry-points.json")
    try:
        with open(cache, encoding="utf-8") as stream:
            cached = json.load(stream)
        if cached["key"] == key:
            return [(str(name), str(value)) for name, value in cached["points"]]
    except (OSError, ValueError, TypeError, KeyError):
        pass
    from importlib.metadata import entry_points as read

    found = sorted({(ep.name, ep.value) for ep in read(group=GROUP)})
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        temporary = f"{cache}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump({"key": key, "points": found}, stream)
        os.replace(temporary, cache)
    except OSError:
        pass  # a read-only home: read the metadata every time
    return found


def _environment_key() -> str:
    """Changes whenever a package is installed or removed anywhere on ``sys.path``."""
    parts = [sys.executable, sys.version]
    for folder in sys.path:
        if not folder or folder == os.getcwd():
            continue  # the working folder changes with every edit; no package lives there
        try:
            parts.append(f"{folder}\0{os.stat(folder or '.').st_mtime_ns}")
        except OSError:
            parts.append(folder)
    return "\n".join(parts)  # compared whole: hashlib's import costs more than the read


def families_of(checks: Iterable[type[Check]]) -> Iterator[tuple[str, list[type[Check]]]]:
    grouped: dict[str, list[type[Check]]] = {}
    for check in checks:
        grouped.setdefault(check.family, []).append(check)
    for family in FAMILIES:
        if family in grouped:
            yield family, grouped[family]
