"""Write a rendered tree to disk atomically: the one module of generation that touches it.

Everything is written into a temporary folder beside the target, committed there,
and renamed into place, so an interrupted run leaves either no project or a whole one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote

from .answers import Answers
from .errors import DsopsError
from .gitutil import init_and_commit
from .render import Tree


def check_target(target: Path, force: bool) -> None:
    """Refuse to generate over anything the user has, unless forced."""
    if target.exists() and not target.is_dir():
        raise DsopsError(f"{target} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise DsopsError(
            f"{target} already exists and is not empty: choose a new folder, "
            "or pass --force to generate into it"
        )


def local_config(answers: Answers) -> str | None:
    """``.dvc/config.local``: the only place a remote password is ever written.

    The password comes from a URL, so it is percent-decoded; it is quoted because DVC's
    config reader (configobj) would cut an unquoted value at ``#`` or ``,``.
    """
    if not answers.dvc_password:
        return None
    password = unquote(answers.dvc_password)
    quote = next((q for q in ('"', "'") if q not in password), '"""')
    return f"['remote \"default\"']\n    password = {quote}{password}{quote}\n"


def materialise(root: Path, tree: Tree) -> None:
    for rel, text in tree.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)


def commit_generated(root: Path, paths: list[str], answers: Answers) -> None:
    """The one commit of a new repository, then the secret (if any) beside it.

    Shared by ``putup`` and the cookiecutter post-generation hook, so both make the
    same commit and keep the password out of every tracked file alike.
    """
    init_and_commit(
        root,
        paths,
        f"Generate {answers.project_name} with dsproject-ops {answers.template_version}",
        answers.author,
        answers.email,
    )
    secret = local_config(answers)
    if secret is not None:  # after the commit, and git-ignored by .dvc/.gitignore
        (root / ".dvc" / "config.local").write_text(secret, encoding="utf-8")
        os.chmod(root / ".dvc" / "config.local", 0o600)


def write_project(target: Path, tree: Tree, answers: Answers, force: bool = False) -> Path:
    """Create ``target`` holding ``tree`` as one git commit; return the target."""
    target = target.absolute()
    check_target(target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{target.name}-", suffix=".partial", dir=target.parent)
    )
    try:
        if target.is_dir():
            shutil.copytree(target, staging, symlinks=True, dirs_exist_ok=True)
        materialise(staging, tree)
        commit_generated(staging, list(tree), answers)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _remove_leftovers(target: Path) -> None:
    """Clear what a killed run left beside the target (never the target itself)."""
    for pattern in (f".{target.name}-*.partial", f".{target.name}-*.previous"):
        for leftover in target.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def _swap_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    if not any(target.iterdir()):
        os.rmdir(target)
        os.rename(staging, target)
        return
    backup = Path(
        tempfile.mkdtemp(prefix=f".{target.name}-", suffix=".previous", dir=target.parent)
    )
    os.rmdir(backup)
    os.rename(target, backup)
    os.rename(staging, target)
    shutil.rmtree(backup, ignore_errors=True)
