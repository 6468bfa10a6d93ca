"""layout: the folders and files the recorded answers call for."""

from __future__ import annotations

import ast
import os
import re
from typing import Any, Iterable

from .context import Context
from .registry import Check, Issue

# The ModelOps layout every data-science repository is expected to have.
CORE_FOLDERS = (
    "data/raw",
    "data/interim",
    "data/processed",
    "data/external",
    "notebooks",
    "models",
    "reports",
    "references",
    "tests",
)
_PATH_VAR = re.compile(r"\{\{\s*cookiecutter\.(\w+)\s*\}\}")


def cookiecutter_spec() -> dict[str, Any]:
    """The template's cookiecutter.json (read directly: answers.py pulls in more)."""
    import json

    from ..paths import template_root

    with open(template_root() / "cookiecutter.json", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def template_paths(answers: dict[str, str]) -> list[str]:
    """The paths ``render()`` would produce for ``answers``, without rendering any content.

    Only file names are rendered (plain ``{{ cookiecutter.x }}``) and the ``_features``
    conditions are evaluated as the restricted expressions they are; Jinja is
    imported only for a condition this evaluator does not understand.
    """
    from ..paths import PROJECT_DIR_NAME, template_root

    spec = cookiecutter_spec()
    values: dict[str, Any] = {
        k: (v[0] if isinstance(v, list) and v else v)
        for k, v in spec.items()
        if not k.startswith("_")
    }
    values.update(answers)
    values["example"] = (
        str(values.get("example", "true")).lower() in ("1", "true", "yes", "on")
        if not isinstance(values.get("example"), bool)
        else values["example"]
    )
    top = os.path.join(template_root(), PROJECT_DIR_NAME)
    features: dict[str, str] = spec.get("_features", {})
    found = []
    for folder, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            if name.endswith((".pyc", ".pyo")):
                continue
            rel = os.path.relpath(os.path.join(folder, name), top).replace(os.sep, "/")
            path = _PATH_VAR.sub(lambda m: str(values.get(m.group(1), m.group(0))), rel)
            if _wanted(path, features, values):
                found.append(path)
    return sorted(found)


def _wanted(path: str, features: dict[str, str], values: dict[str, Any]) -> bool:
    import fnmatch

    for pattern, condition in features.items():
        if fnmatch.fnmatch(path, pattern) and not evaluate(condition, values):
            return False
    return True


def evaluate(condition: str, values: dict[str, Any]) -> bool:
    try:
        return bool(_eval(ast.parse(condition, mode="eval").body, values))
    except (ValueError, SyntaxError):
        import jinja2

        return bool(jinja2.Environment().compile_expression(condition)(cookiecutter=values))


def _eval(node: ast.AST, values: dict[str, Any]) -> Any:
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


class TemplateFiles(Check):
    """Every file the template generates for the recorded answers exists.

    The answers recorded in ``setup.cfg [pyscaffold]`` (``dsproject_ops_*``) say which
    files the repository was generated with (for example ``.gitlab-ci.yml`` only with
    ``ci = gitlab`` or ``both``). A missing one was deleted or never created: restore
    it (``git checkout -- FILE``, or ``dsops upgrade``), or ignore this code for its
    path if the project really does without it.
    """

    code = "LAY001"
    family = "layout"
    summary = "files the recorded answers call for exist"
    severity = "error"
    needs = ("setup.cfg",)

    def applies(self, ctx: Context) -> bool:
        return ctx.answers is not None

    def run(self, ctx: Context) -> Iterable[Issue]:
        answers = ctx.answers or {}
        recorded = answers.get("template", "")
        current = str(cookiecutter_spec()["_template_version"])
        hint = "restore it from git or run `dsops upgrade`"
        if recorded and recorded != current:
            hint = (
                f"the template {current} has it (this repository records {recorded}): "
                "run `dsops upgrade`"
            )
        # A template module that would shadow the team's package, or sit beside its flat
        # package, is left out on adoption (upgrade/foreign.py): not missing.
        from ..upgrade.foreign import find_layout, layout_conflict

        package = answers.get("package", "")
        layout = find_layout(ctx.files, package)
        for path in template_paths(answers):
            if not ctx.exists(path) and not layout_conflict(path, layout, package):
                yield Issue(f"{path} is missing: {hint}", file=path)


class CoreFolders(Check):
    """The ModelOps folders exist: ``data/{raw,interim,processed,external}``,
    ``notebooks``, ``models``, ``reports``, ``references`` and ``tests``, and a Python
    package (``src/<package>/`` or ``<package>/``).

    They are where everyone on the team (and every tool) looks for each kind of
    file. Create the missing folder with a ``.gitkeep`` placeholder so git keeps it.
    """

    code = "LAY002"
    family = "layout"
    summary = "the ModelOps folders exist"
    severity = "warning"

    def applies(self, ctx: Context) -> bool:
        return ctx.answers is None  # with answers, LAY001 checks every file precisely

    def run(self, ctx: Context) -> Iterable[Issue]:
        for folder in CORE_FOLDERS:
            if not ctx.is_dir(folder):
                yield Issue(
                    f"{folder}/ is missing: create it (with a .gitkeep so git keeps it)",
                    file=folder,
                )
        if ctx.package is None:
            yield Issue(
                "no Python package: put the project's code in src/<package>/__init__.py",
                file="src",
            )


class RecordedAnswers(Check):
    """The answers recorded in ``setup.cfg [pyscaffold]`` are valid.

    ``dsops upgrade`` and this command rebuild the repository's options from them.
    Fix the value named in the message (the choices are those of ``putup --help``).
    """

    code = "LAY003"
    family = "layout"
    summary = "the recorded answers are valid"
    needs = ("setup.cfg",)

    def applies(self, ctx: Context) -> bool:
        return ctx.answers is not None

    def run(self, ctx: Context) -> Iterable[Issue]:
        from .context import PREFIX

        answers = ctx.answers or {}
        spec = cookiecutter_spec()
        rules = {
            "ci": tuple(spec["ci"]),
            "python_version": tuple(spec["python_version"]),
            "example": ("true", "false"),
        }
        for key, choices in rules.items():
            value = answers.get(key)
            if value is not None and value.lower() not in choices:
                yield Issue(
                    f"{PREFIX}{key} = {value!r} is not one of {', '.join(choices)}",
                    file="setup.cfg",
                    line=ctx.ini_line("setup.cfg", "pyscaffold", PREFIX + key),
                )
        if not answers.get("package"):
            yield Issue(
                "[pyscaffold] records no package: add `package = <import name>`",
                file="setup.cfg",
                line=ctx.ini_line("setup.cfg", "pyscaffold"),
            )
