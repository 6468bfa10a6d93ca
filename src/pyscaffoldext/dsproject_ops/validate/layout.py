"""layout: the folders and files the recorded answers call for."""

from __future__ import annotations

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


def cookiecutter_spec() -> dict[str, Any]:
    """The installed template's cookiecutter.json (read once, by :mod:`..spec`)."""
    from ..spec import load

    return load().data


def template_paths(answers: dict[str, str], root: Any = None) -> list[str]:
    """The paths ``render()`` produces for ``answers``: the template spec's one
    evaluation of ``_features``, without rendering any content."""
    from ..spec import load

    return load(root).paths(answers)


def recorded_template(recorded: str) -> tuple[Any, str, str | None]:
    """(template root or None for the installed one, its version, a note) for the
    version a repository records: its archived template when this installation has
    it (an upgrade's result is checked against what it was upgraded to), else the
    installed template, with one line saying so."""
    from ..errors import DsopsError
    from ..spec import load
    from ..upgrade import history

    current = load().version
    if not recorded or recorded == current:
        return None, current, None
    try:
        return history.template_for(recorded), recorded, None
    except DsopsError:
        return (
            None,
            current,
            (
                f"checked against template {current}: this repository records {recorded}, "
                "which this dsproject-ops cannot render (install the dsproject-ops that made it)"
            ),
        )


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
        root, version, note = recorded_template(recorded)
        hint = f"template {version} has it: restore it from git or run `dsops upgrade`"
        if note:
            yield Issue(note, file="setup.cfg", severity="info")
        # A template module that would shadow the team's package, or sit beside its flat
        # package, is left out on adoption (upgrade/foreign.py): not missing.
        from ..upgrade.foreign import find_layout, layout_conflict

        package = answers.get("package", "")
        layout = find_layout(ctx.files, package)
        for path in template_paths(answers, root):
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
