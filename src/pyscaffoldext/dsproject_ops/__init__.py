"""dsproject-ops: a PyScaffold extension for complete, validated ModelOps repositories."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # The version lives once, in the template tree's cookiecutter.json; reading it
    # lazily keeps ``import`` free of file I/O and of importlib.metadata.
    if name == "__version__":
        from .spec import template_version

        return template_version()
    raise AttributeError(name)
