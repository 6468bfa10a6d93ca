"""Findings and the registry of checks.

A check is a small class: a stable ``code`` (family prefix + number), a one-line
``summary``, a docstring that is its documentation (``--explain``), ``applies`` (does
the repository have the feature this check is about?), ``requires`` (codes of checks
that must pass first, so one broken file gives one finding, not a cascade) and
``needs`` (files that must parse; otherwise the check is skipped).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, ClassVar, Iterable, Iterator, NamedTuple

if TYPE_CHECKING:
    from .context import Context

SEVERITIES = ("info", "warning", "error")

# family -> (module, code prefix, title); the order is the report's order.
FAMILIES: dict[str, tuple[str, str, str]] = {
    "layout": (".layout", "LAY", "folders and files the template calls for"),
    "templates": (".templates", "TPL", "unrendered templates and merge leftovers"),
    "syntax": (".syntax", "SYN", "YAML, TOML, INI, JSON and notebooks parse"),
    "precommit": (".precommit", "PC", "pre-commit configuration"),
    "environment": (".environment", "ENV", "conda environment and package metadata"),
    "dvc": (".dvc", "DVC", "DVC pipeline and remotes"),
    "ci": (".ci", "CI", "GitLab CI and GitHub Actions"),
    "docker": (".docker", "DKR", "Dockerfile and .dockerignore"),
    "k8s": (".k8s", "K8S", "Kubernetes manifests against the image and the service"),
    "git": (".git", "GIT", "what git tracks"),
    "secrets": (".secrets", "SEC", "credentials in tracked files"),
    "docs": (".docs", "DOC", "the README's commands and links"),
    "external": (".external", "EXT", "external linters (with --external)"),
}


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
        super().__init_subclass__(**kwargs)
        if cls.code:
            if cls.code in _REGISTRY:
                raise ValueError(f"duplicate check code {cls.code}")
            _REGISTRY[cls.code] = cls

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


_REGISTRY: dict[str, type[Check]] = {}


def all_checks() -> list[type[Check]]:
    """Every registered check, in family order then code order."""
    for module, _, _ in FAMILIES.values():
        importlib.import_module(module, __package__)
    order = list(FAMILIES)
    return sorted(_REGISTRY.values(), key=lambda c: (order.index(c.family), c.code))


def families_of(checks: Iterable[type[Check]]) -> Iterator[tuple[str, list[type[Check]]]]:
    grouped: dict[str, list[type[Check]]] = {}
    for check in checks:
        grouped.setdefault(check.family, []).append(check)
    for family in FAMILIES:
        if family in grouped:
            yield family, grouped[family]
