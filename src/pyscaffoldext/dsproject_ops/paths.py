"""Where the template tree lives, in a wheel and in an editable install alike."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def template_root() -> Path:
    """The folder holding ``cookiecutter.json`` and the project template.

    A wheel carries the tree inside the package (``force-include`` in
    pyproject.toml); an editable install points at the repository checkout,
    where ``templates/`` sits three levels above this file.
    """
    for candidate in (_HERE / "templates", _HERE.parents[2] / "templates"):
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise FileNotFoundError(
        f"the dsproject-ops template tree is missing (looked beside {_HERE}); "
        "reinstall pyscaffoldext-dsproject-ops"
    )


PROJECT_DIR_NAME = "{{cookiecutter.project_name}}"


def project_template() -> Path:
    """The folder whose contents become the generated repository."""
    return template_root() / PROJECT_DIR_NAME
