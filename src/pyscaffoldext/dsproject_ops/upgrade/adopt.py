"""Adopting a repository we did not make: infer the answers from what it has.

A pyscaffoldext-dsproject or plain PyScaffold project names itself in ``setup.cfg``;
a cookiecutter-data-science v2 project in ``pyproject.toml``; a hand-made repository
only by its folder name. Whatever is not found takes the template's default. The
answers are then recorded (the template's ``setup.cfg [pyscaffold]`` keys are merged
into the repository's ``setup.cfg``), so the next upgrade is three-way.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from ..answers import PYTHON_CHOICES, Answers, build, derive_package
from ..errors import DsopsError
from .record import ini_sections

Reader = Callable[[str], "str | None"]


def infer_answers(folder_name: str, read: Reader, packages: list[str]) -> Answers:
    """``read(path)``: a tracked file's text or None; ``packages``: ``src/*/__init__.py``."""
    found: dict[str, Any] = {}
    name = ""
    package = ""
    cfg = read("setup.cfg")
    if cfg is not None:
        sections = ini_sections(cfg)
        meta = sections.get("metadata", {})
        name = meta.get("name", "")
        for key, meta_key in (
            ("description", "description"),
            ("author", "author"),
            ("email", "author_email"),
            ("url", "url"),
            ("license", "license"),
        ):
            if meta.get(meta_key) and not meta[meta_key].startswith(("file:", "attr:")):
                found[key] = meta[meta_key]
        package = sections.get("pyscaffold", {}).get("package", "")
    toml = read("pyproject.toml")
    if toml is not None:
        project = _toml_project(toml)
        name = name or str(project.get("name") or "")
        if project.get("description") and "description" not in found:
            found["description"] = str(project["description"])
        authors = project.get("authors")
        if isinstance(authors, list) and authors and isinstance(authors[0], dict):
            found.setdefault("author", authors[0].get("name"))
            found.setdefault("email", authors[0].get("email"))
        lic = project.get("license")
        if isinstance(lic, dict):
            lic = lic.get("text")
        if isinstance(lic, str) and lic and "\n" not in lic:
            found.setdefault("license", lic)
    name = _clean_name(name or folder_name)
    if not package:
        derived = derive_package(name)
        package = derived if derived in packages or len(packages) != 1 else packages[0]
    python = _env_python(read("environment.yml"))
    if python in PYTHON_CHOICES:
        found["python_version"] = python
    try:
        return build(name, package, **{k: v for k, v in found.items() if v})
    except DsopsError as exc:
        raise DsopsError(f"cannot adopt this repository: {exc}") from None


def _clean_name(name: str) -> str:
    # A folder called "My Project" becomes the distribution name "My-Project".
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-._") or "project"


def _toml_project(text: str) -> Mapping[str, Any]:
    from ..repository.formats import parse_toml

    parsed = parse_toml(text)
    project = parsed.data.get("project", {}) if isinstance(parsed.data, dict) else {}
    return project if isinstance(project, dict) else {}


def _env_python(text: str | None) -> str:
    """The minor version of ``python`` in an environment.yml (``python=3.11``,
    ``python>=3.11``, ``python 3.11.*``), or ""."""
    if text is None:
        return ""
    from ..repository.conda import SpecError, parse
    from ..repository.yamlread import parse_yaml

    data = parse_yaml(text).data
    deps = data.get("dependencies") if isinstance(data, dict) else None
    for dep in deps if isinstance(deps, list) else []:
        if not isinstance(dep, str):
            continue
        try:
            spec = parse(dep)
        except SpecError:
            continue
        if spec.name == "python" and spec.version:
            match = re.search(r"3\.\d+", spec.version)
            return match.group(0) if match else ""
    return ""
