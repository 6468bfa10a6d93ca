"""The upgrade's per-file rules, read from the template version being rendered.

They live beside the template, in the ``_upgrade`` section of its ``cookiecutter.json``
(cookiecutter ignores ``_``-keys it does not know), so every released version carries
its own rules in its archive:

* ``user_owned``: files the user owns once changed (never merged, a template change
  is reported);
* ``adopt_keep``: a foreign repository's own documents, kept when adopting it;
* ``structured``: which files are merged as data, and how (see :mod:`.structured`).

A version released before the section existed (0.1.0) gets :data:`LEGACY`, the rules
as they were in code when it was released.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..errors import DsopsError
from .structured import DEFAULT_KINDS
from .structured import IGNORE as IGNORE_KIND
from .structured import INI, REQUIREMENTS, YAML

SECTION = "_upgrade"
KINDS = frozenset({IGNORE_KIND, REQUIREMENTS, YAML, INI})


@dataclass(frozen=True)
class Policies:
    user_owned: tuple[str, ...] = ()
    adopt_keep: tuple[str, ...] = ()
    structured: Mapping[str, str] = field(default_factory=dict)

    def owned(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, p) for p in self.user_owned)

    def kept_when_adopting(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, p) for p in self.adopt_keep)


LEGACY = Policies(
    user_owned=(
        "notebooks/*.ipynb",
        "params.yaml",
        "src/*/data.py",
        "src/*/features.py",
        "tests/test_features.py",
    ),
    adopt_keep=("README.md", "LICENSE.txt", "AUTHORS.md", "CHANGELOG.md", "docs/index.md"),
    structured=dict(DEFAULT_KINDS),
)


def from_spec(spec: Mapping[str, Any]) -> Policies:
    """The policies of a parsed ``cookiecutter.json`` (LEGACY without the section)."""
    section = spec.get(SECTION)
    if section is None:
        return LEGACY
    if not isinstance(section, dict):
        raise DsopsError(f"cookiecutter.json: {SECTION} must be an object")
    structured = section.get("structured", {})
    bad = {k: v for k, v in structured.items() if v not in KINDS}
    if bad:
        raise DsopsError(
            f"cookiecutter.json: {SECTION}.structured names unknown kinds {bad} "
            f"(known: {', '.join(sorted(KINDS))})"
        )
    return Policies(
        user_owned=tuple(section.get("user_owned", ())),
        adopt_keep=tuple(section.get("adopt_keep", ())),
        structured=dict(structured),
    )


@lru_cache(maxsize=None)
def for_template(root: Path) -> Policies:
    """The policies of the template tree at ``root`` (its cookiecutter.json, read
    once by the template spec)."""
    from ..spec import load

    return from_spec(load(root).data)


def combined(old: Policies | None, new: Policies) -> Policies:
    """An upgrade from ``old`` to ``new``: a file either version gives the user stays
    the user's; adoption and structured kinds follow the target version."""
    if old is None:
        return new
    owned = tuple(dict.fromkeys(old.user_owned + new.user_owned))
    return Policies(owned, new.adopt_keep, new.structured)


def kind_of_path(path: str, rules: Policies) -> str | None:
    """The structured merge ``rules`` give ``path`` (None: a line merge)."""
    from .structured import kind_of

    return kind_of(path, rules.structured)
