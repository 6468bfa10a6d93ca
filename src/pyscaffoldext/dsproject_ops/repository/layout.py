"""Where a repository's Python package is: ``src/<pkg>/``, a flat ``<pkg>/`` or a
namespace package (``src/<ns>/<pkg>/`` without ``src/<ns>/__init__.py``)."""

from __future__ import annotations

from typing import Iterable, NamedTuple

# Folders that hold Python files but are never the project's package.
NOT_PACKAGES = frozenset({"tests", "test", "docs", "notebooks", "scripts", "build", "dist"})


class Package(NamedTuple):
    name: str  # the import name, dotted for a namespace package ("pyscaffoldext.x")
    folder: str  # its folder, relative to the root ("src/x", "x", "src/pyscaffoldext/x")
    style: str  # "src", "flat" or "namespace"


def packages(files: Iterable[str]) -> tuple[Package, ...]:
    """The top-level import packages among ``files`` (repository-relative paths)."""
    files = set(files)
    inits = {f[: -len("/__init__.py")] for f in files if f.endswith("/__init__.py")}
    if "src/__init__.py" in files or "src" in inits:
        # cookiecutter-data-science v1: src/ itself is the package (`import src.data`);
        # its data/, features/, models/ are sub-packages, not src-layout packages.
        inits = {i for i in inits if i == "src" or not i.startswith("src/")}
    found: list[Package] = []
    for folder in sorted(inits):
        parts = folder.split("/")
        if any(p.startswith(".") or p in NOT_PACKAGES or p.endswith(".egg-info") for p in parts):
            continue
        if parts[0] == "src" and len(parts) == 2:
            found.append(Package(parts[1], folder, "src"))
        elif parts[0] == "src" and len(parts) == 3 and "/".join(parts[:2]) not in inits:
            found.append(Package(".".join(parts[1:]), folder, "namespace"))
        elif len(parts) == 1:
            found.append(Package(parts[0], folder, "flat"))
    return tuple(found)
