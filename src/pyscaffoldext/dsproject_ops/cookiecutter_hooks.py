"""What the cookiecutter hooks (``templates/hooks/*.py``) run.

``cookiecutter`` renders the same template tree as ``putup --dsproject-ops``; these
two functions give it the rest of putup's behaviour from the same code: the
validation of :func:`.answers.build` before anything is kept, the ``_features`` map
of :mod:`.render` and the one git commit (plus the git-ignored secret) of
:mod:`.writer`. Only the standard library and jinja2 are imported, which any
cookiecutter installation has.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Mapping

from jinja2.ext import Extension

from .answers import Answers, build, derive_package
from .errors import DsopsError
from .spec import load


class OneLineHookErrors(Extension):
    """A Jinja extension (cookiecutter.json ``_extensions``) that keeps a bad answer to one line.

    Our hooks print putup's one-line ``ERROR: ...`` and exit 1. cookiecutter then logs
    the failure with ``logger.exception`` (a 12-line traceback of its own code) and echoes
    "Hook script failed". Jinja extensions are the one piece of a template cookiecutter
    loads into its own process, before any hook runs: this one ends the run with exit 1
    at that log record, after cookiecutter has removed the half-made project and our
    hook has said why. A hook that crashes still shows its own traceback (its stderr).
    """

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        hooks_logger = logging.getLogger("cookiecutter.hooks")
        if not any(isinstance(f, _EndAtHookFailure) for f in hooks_logger.filters):
            hooks_logger.addFilter(_EndAtHookFailure())


class _EndAtHookFailure(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Stopping generation because") and record.exc_info:
            raise SystemExit(1)
        return True


def answers_from(context: Mapping[str, Any]) -> Answers:
    """The answers cookiecutter collected (its ``cookiecutter`` context), validated."""
    values = {
        key: context[key] for key in load().data if not key.startswith("_") and key in context
    }
    name = str(values.pop("project_name", ""))
    package = str(values.pop("package", "") or "")
    # cookiecutter always renders the package default; putup calls a derived name
    # "derived" in its messages, so pass it as not given to get the same message.
    given = package if package and package != derive_package(name.strip()) else None
    return build(name, given, **values)


def pre_gen(context: Mapping[str, Any]) -> int:
    """Validate every answer; on a bad one print putup's one-line error, exit 1."""
    try:
        answers_from(context)
    except DsopsError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


def post_gen(context: Mapping[str, Any], project_dir: Path) -> int:
    """Drop the files ``_features`` leaves out, make putup's single commit, and print
    putup's next steps."""
    from .render import wanted_paths
    from .writer import commit_generated

    try:
        answers = answers_from(context)
        rendered = _files(project_dir)
        kept = set(wanted_paths(answers, rendered))
        for rel in rendered:
            if rel not in kept:
                _remove(project_dir, rel)
        commit_generated(project_dir, sorted(kept), answers)
    except DsopsError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    from .onboarding.next_steps import text

    print(text(answers, project_dir.name))  # the same next steps putup prints
    return 0


def _files(root: Path) -> list[str]:
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not (folder == str(root) and d == ".git")]
        for name in files:
            found.append(Path(folder, name).relative_to(root).as_posix())
    return sorted(found)


def _remove(root: Path, rel: str) -> None:
    """Delete a file and the folders it leaves empty (putup never creates them)."""
    path = root / rel
    path.unlink()
    for parent in path.parents:
        if parent == root or any(parent.iterdir()):
            break
        parent.rmdir()
