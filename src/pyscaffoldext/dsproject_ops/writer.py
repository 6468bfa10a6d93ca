"""Write a rendered tree to disk atomically: the one module of generation that touches it.

Everything is written into a staging folder beside the target, committed there, and
renamed into place, so an interrupted run leaves either no project or a whole one.
With ``--force`` the user's folder is renamed to a backup for the instant of the swap;
a backup is only deleted once the new folder is in place, and a run that finds the
backup of a killed run with no folder beside it puts the backup back first.

Staging and backup folders are named ``.<target>~dsops~<pid>-<random>.<kind>``: the
``~dsops~`` marker cannot occur in a project name, so leftovers are matched to their
own target exactly (``big`` never touches ``big-x``'s), and the pid tells a killed run
from one still running.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import signal
from pathlib import Path
from urllib.parse import unquote

from .answers import Answers
from .errors import DsopsError
from .escaping import config_value
from .gitutil import init_and_commit
from .render import Tree

MARKER = "~dsops~"
# Test-only fault injection (docs/security.md): SIGKILL ourselves at a named point.
KILL_AT = "DSOPS_WRITER_KILL_AT"
CHECKPOINTS = ("staged", "committed", "backed-up", "swapped", "discarded")
_LEFTOVER = re.compile(
    r"^\.(?P<target>.+)" + re.escape(MARKER) + r"(?P<pid>\d+)-\w+\.(?P<kind>\w+)$"
)


def _checkpoint(name: str) -> None:
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def check_target(target: Path, force: bool) -> None:
    """Refuse to generate over anything the user has, unless forced."""
    try:
        if target.exists() and not target.is_dir():
            raise DsopsError(f"{target} exists and is not a folder")
        if target.is_dir() and any(target.iterdir()) and not force:
            raise DsopsError(
                f"{target} already exists and is not empty: choose a new folder, "
                "or pass --force to generate into it"
            )
    except OSError as exc:
        raise DsopsError(f"cannot use {target}: {exc.strerror or exc}") from None


def local_files(answers: Answers) -> dict[str, str]:
    """The git-ignored files holding secrets: the only place a credential is written.

    ``.dvc/config.local`` takes the DVC remote's SSH password (percent-decoded: it came
    from a URL) or the whole URL when it holds a token; ``.env`` takes the MLflow
    variables. Values are quoted as their readers need (configobj would cut an
    unquoted value at ``#`` or ``,``).
    """
    files: dict[str, str] = {}
    dvc = []
    if answers.dvc_local_url:
        dvc.append(f"    url = {config_value(answers.dvc_local_url)}\n")
    if answers.dvc_password:
        dvc.append(f"    password = {config_value(unquote(answers.dvc_password))}\n")
    if dvc:
        files[".dvc/config.local"] = "['remote \"default\"']\n" + "".join(dvc)
    if answers.mlflow_env:
        lines = [
            "# Secrets of this checkout: git-ignored, never commit them. The project's",
            "# tracking.py reads these MLFLOW_* variables (the environment wins).",
        ]
        lines += [f"{key}={env_value(value)}" for key, value in answers.mlflow_env]
        files[".env"] = "\n".join(lines) + "\n"
    return files


def env_value(value: str) -> str:
    """A ``.env`` value: bare when plain, else double-quoted with JSON's escapes
    (which dotenv readers and the generated tracking.py understand)."""
    import json

    if re.fullmatch(r"[A-Za-z0-9_./:@+=%-]*", value):
        return value
    return json.dumps(value, ensure_ascii=False)


def merge_env(old: str, new: str) -> str:
    """The user's ``.env`` with our variables set: their other lines are kept."""
    ours = {line.split("=", 1)[0] for line in new.splitlines() if "=" in line}
    kept = [
        line
        for line in old.splitlines()
        if line.strip().removeprefix("export ").split("=", 1)[0].strip() not in ours
    ]
    added = [line for line in new.splitlines() if "=" in line]
    return "\n".join(kept + added) + "\n"


def materialise(root: Path, tree: Tree) -> None:
    for rel, text in tree.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)


def commit_generated(root: Path, paths: list[str], answers: Answers) -> None:
    """The one commit of a new repository, then the secrets (if any) beside it.

    Shared by ``putup`` and the cookiecutter post-generation hook, so both make the
    same commit and keep credentials out of every tracked file alike.
    """
    init_and_commit(
        root,
        paths,
        f"Generate {answers.project_name} with dsproject-ops {answers.template_version}",
        answers.author,
        answers.email,
    )
    for rel, text in local_files(answers).items():  # git-ignored (.gitignore, .dvc/.gitignore)
        path = root / rel
        if path.is_file():  # `--force` over a folder that has one: never lose the user's
            old = path.read_text(encoding="utf-8", errors="surrogateescape")
            if rel != ".env":
                if old != text:
                    print(
                        f"dsproject-ops: kept your {rel}; set the remote's credentials in "
                        "it with `dvc remote modify --local default ...`"
                    )
                continue
            text = merge_env(old, text)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(path, 0o600)


def write_project(target: Path, tree: Tree, answers: Answers, force: bool = False) -> Path:
    """Create ``target`` holding ``tree`` as one git commit; return the target."""
    try:
        return _write_project(target.absolute(), tree, answers, force)
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise DsopsError(f"cannot create {target}: the name is too long") from None
        where = exc.filename or target
        raise DsopsError(f"cannot write {where}: {exc.strerror or exc}") from None


def _write_project(target: Path, tree: Tree, answers: Answers, force: bool) -> Path:
    check_target(target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    check_target(target, force)  # a restored backup is the user's folder again
    staging = _unique(target, "partial")
    staging.mkdir(mode=0o700)
    inside = _cwd_inside(target)
    try:
        if target.is_dir():
            shutil.copytree(target, staging, symlinks=True, dirs_exist_ok=True)
        materialise(staging, tree)
        _checkpoint("staged")
        commit_generated(staging, list(tree), answers)
        _checkpoint("committed")
        if inside and target.is_dir() and not any(target.iterdir()):
            _move_into(staging, target)
        else:
            _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if inside and _cwd_gone():
        # The process stood in the folder that was replaced: stand in the new one.
        os.chdir(target)
        print(f"dsproject-ops: {target} was replaced: run `cd .` in your shell to see it")
    return target


def _move_into(staging: Path, target: Path) -> None:
    """``putup .`` in an empty folder: move the entries in, so the folder the user's
    shell stands in is the project (a rename would leave the shell in a deleted
    folder). ``.git`` goes last: a tree cut short is no repository, and is undone."""
    names = sorted(os.listdir(staging), key=lambda n: n == ".git")
    moved: list[Path] = []
    try:
        for name in names:
            os.rename(staging / name, target / name)
            moved.append(target / name)
    except BaseException:
        for path in moved:
            os.rename(path, staging / path.name)
        raise
    _checkpoint("swapped")
    os.rmdir(staging)


def _cwd_gone() -> bool:
    try:
        os.getcwd()
        return not os.path.samefile(".", os.getcwd())
    except OSError:
        return True


def leftovers(target: Path) -> list[tuple[Path, int, str]]:
    """This target's staging and backup folders: (path, pid, kind)."""
    found = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    for name in names:
        match = _LEFTOVER.match(name)
        if match and match["target"] == target.name:
            found.append((target.parent / name, int(match["pid"]), match["kind"]))
    return sorted(found)


def recover(target: Path) -> list[str]:
    """Put back what a killed run left, and clear what is safe to clear; the lines
    say what was done. Folders of a run still going are left alone."""
    said: list[str] = []
    for path, pid, kind in leftovers(target):
        if _alive(pid):
            continue
        if kind == "previous":
            if not os.path.lexists(target):
                os.rename(path, target)  # the kill fell between the two renames
                said.append(f"restored {target} from the backup of an interrupted run")
            else:
                # The swap may or may not have completed: never delete the only copy.
                said.append(
                    f"kept {path}: the backup of {target.name} from an interrupted run; "
                    "delete it once you have checked the folder"
                )
        else:  # a staging copy or a discarded backup: the target holds what matters
            shutil.rmtree(path, ignore_errors=True)
    for line in said:
        print(f"dsproject-ops: {line}")
    return said


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unique(target: Path, kind: str) -> Path:
    return target.parent / f".{target.name}{MARKER}{os.getpid()}-{secrets.token_hex(4)}.{kind}"


def _cwd_inside(target: Path) -> bool:
    try:
        cwd = Path(os.getcwd())
    except OSError:
        return False
    return cwd == target or target in cwd.parents


def _swap_into_place(staging: Path, target: Path) -> None:
    if target.is_dir() and not any(target.iterdir()):
        os.rmdir(target)
    if not os.path.lexists(target):
        try:
            os.rename(staging, target)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise DsopsError(f"{target} was created by someone else meanwhile") from None
            raise
        _checkpoint("swapped")
        return
    backup = _unique(target, "previous")
    os.rename(target, backup)
    _checkpoint("backed-up")
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(backup, target)
        raise
    _checkpoint("swapped")
    # Renamed before deletion: a deletion cut short is then plainly garbage.
    discard = backup.with_name(backup.name.rsplit(".", 1)[0] + ".discard")
    os.rename(backup, discard)
    _checkpoint("discarded")
    shutil.rmtree(discard, ignore_errors=True)
