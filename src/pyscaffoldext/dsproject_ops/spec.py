"""The template spec: ``cookiecutter.json`` read once per template tree, and the one
evaluation of its rules.

``render()`` (which writes the files) and ``dsops validate``'s layout check (which
only needs their names) both ask :meth:`TemplateSpec.paths` which files the answers
produce, so they cannot disagree. The ``_features`` conditions are the restricted
expressions cookiecutter.json uses (``cookiecutter.x``, ``in``, ``==``, ``and``,
``or``, ``not``, literals), evaluated without Jinja; a condition outside that subset
falls back to Jinja's own expression compiler, so any valid condition still works.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Mapping

from .paths import PROJECT_DIR_NAME, template_root

_PATH_VAR = re.compile(r"\{\{\s*cookiecutter\.(\w+)\s*\}\}")
_TRUE = ("1", "true", "yes", "on")


class TemplateSpec:
    """One template tree: its ``cookiecutter.json`` and its files."""

    def __init__(self, root: Path, data: dict[str, Any]) -> None:
        self.root = root
        self.data = data

    @property
    def version(self) -> str:
        return str(self.data["_template_version"])

    @property
    def features(self) -> dict[str, str]:
        """``{path pattern: condition}``: a matching file exists only when the condition holds."""
        found: dict[str, str] = self.data.get("_features", {})
        return found

    @property
    def copy_without_render(self) -> list[str]:
        found: list[str] = self.data.get("_copy_without_render", [])
        return found

    def choices(self, key: str) -> tuple[str, ...]:
        """The choices of a list question (its first item is the default)."""
        value = self.data.get(key)
        return tuple(str(v) for v in value) if isinstance(value, list) else ()

    @cached_property
    def sources(self) -> tuple[str, ...]:
        """Template files relative to the root (``{{cookiecutter.project_name}}/...``)."""
        top = os.path.join(self.root, PROJECT_DIR_NAME)
        found: list[str] = []
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                if name.endswith((".pyc", ".pyo")):
                    continue
                rel = os.path.relpath(os.path.join(folder, name), self.root)
                found.append(rel.replace(os.sep, "/"))
        return tuple(sorted(found))

    def values(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The ``cookiecutter`` values for ``answers`` (strings as recorded in setup.cfg
        or typed values): defaults filled in, a yes/no question as a bool."""
        values: dict[str, Any] = {
            k: (v[0] if isinstance(v, list) and v else v)
            for k, v in self.data.items()
            if not k.startswith("_")
        }
        values.update(answers)
        for key, default in self.data.items():
            if isinstance(default, bool) and isinstance(values.get(key), str):
                values[key] = values[key].strip().lower() in _TRUE
        return values

    def path_of(self, source: str, values: Mapping[str, Any]) -> str:
        """The generated path of a template source (relative to the project folder)."""
        rel = source.split("/", 1)[1]
        if "{" not in rel:
            return rel
        path = _PATH_VAR.sub(lambda m: str(values.get(m.group(1), m.group(0))), rel)
        if "{{" in path or "{%" in path:  # a name that is more than a plain variable
            import jinja2

            path = jinja2.Environment().from_string(rel).render(cookiecutter=values)
        return path

    def wanted(self, path: str, values: Mapping[str, Any]) -> bool:
        """Does ``path`` exist for these values (every matching ``_features`` rule holds)?"""
        for pattern, condition in self.features.items():
            if fnmatch.fnmatch(path, pattern) and not evaluate(condition, values):
                return False
        return True

    def files(self, values: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(source, generated path)`` of every file the values produce, sorted by path."""
        found = []
        for source in self.sources:
            path = self.path_of(source, values)
            if self.wanted(path, values):
                found.append((source, path))
        return sorted(found, key=lambda item: item[1])

    def paths(self, answers: Mapping[str, Any]) -> list[str]:
        """The paths ``render()`` produces for ``answers``, without rendering any content."""
        return [path for _, path in self.files(self.values(answers))]


@lru_cache(maxsize=None)
def _load(root: str) -> TemplateSpec:
    with open(Path(root) / "cookiecutter.json", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return TemplateSpec(Path(root), data)


def is_template(root: Path) -> bool:
    """Whether ``root`` is a template tree (it has a spec)."""
    return (Path(root) / "cookiecutter.json").is_file()


def load(root: Path | None = None) -> TemplateSpec:
    """The spec of the template tree at ``root`` (the installed one by default)."""
    return _load(str(root or template_root()))


def template_version() -> str:
    """The installed template's version (also the package's version)."""
    return load().version


def evaluate(condition: str, values: Mapping[str, Any]) -> bool:
    """A ``_features`` condition for ``values`` (the ``cookiecutter`` mapping)."""
    try:
        return bool(_eval(_parse(condition), values))
    except ValueError:
        import jinja2

        return bool(jinja2.Environment().compile_expression(condition)(cookiecutter=values))


@lru_cache(maxsize=None)
def _parse(condition: str) -> ast.expr:
    try:
        return ast.parse(condition, mode="eval").body
    except SyntaxError:
        raise ValueError(f"not a Python expression: {condition}") from None


def _eval(node: ast.AST, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return [_eval(e, values) for e in node.elts]
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "cookiecutter"
    ):
        return values.get(node.attr)
    if isinstance(node, ast.BoolOp):
        items = [_eval(v, values) for v in node.values]
        return all(items) if isinstance(node.op, ast.And) else any(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _eval(node.operand, values)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = _eval(node.left, values), _eval(node.comparators[0], values)
        op = node.ops[0]
        if isinstance(op, ast.In):
            return left in right
        if isinstance(op, ast.NotIn):
            return left not in right
        if isinstance(op, ast.Eq):
            return left == right
        if isinstance(op, ast.NotEq):
            return left != right
    raise ValueError(f"unsupported expression {ast.dump(node)}")
