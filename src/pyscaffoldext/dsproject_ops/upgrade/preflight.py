"""Before an upgrade: refuse the wrong place and the wrong moment, in one line each.

Nothing here writes. Each check raises :class:`DsopsError` naming what is wrong and
what to do:

- the folder is not the project's root (``cd src && dsops upgrade`` would adopt
  ``src/`` as a project): the message says where the root is;
- git is in the middle of a merge, rebase, cherry-pick, revert or bisect;
- a folder the upgrade writes in is a symbolic link (it would write outside the
  folder the user sees, possibly outside the repository);
- a folder the upgrade writes in, or git's own folder, cannot be written (permissions,
  an immutable attribute, a read-only mount): refused before the first file changes.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
from pathlib import Path

from ..errors import DsopsError
from ..paths import project_template

# git's marks of an operation in progress (in the git folder), and how to finish it.
IN_PROGRESS = (
    ("MERGE_HEAD", "a merge", "git merge --continue` or `git merge --abort"),
    ("rebase-merge", "a rebase", "git rebase --continue` or `git rebase --abort"),
    ("rebase-apply", "a rebase or `git am`", "git rebase --continue` or `git rebase --abort"),
    ("CHERRY_PICK_HEAD", "a cherry-pick", "git cherry-pick --continue` or `--abort"),
    ("REVERT_HEAD", "a revert", "git revert --continue` or `git revert --abort"),
    ("BISECT_LOG", "a bisect", "git bisect reset"),
)
# Files that mark a project's root folder.
ROOT_MARKERS = ("setup.cfg", "pyproject.toml", "setup.py")


def check(path: Path, writing: bool = True) -> None:
    """Every check, in order; ``writing=False`` (a dry run) skips the write checks."""
    from .apply import open_repo  # the one place that asks git where the repository is

    repo = open_repo(path)
    git_dir = repo.git_dir
    check_root(path, repo.top)
    check_moment(git_dir)
    if writing:
        folders = template_folders(path.resolve())
        check_symlinks(path.resolve(), folders)
        check_writable([git_dir, path.resolve(), *folders])


def check_root(path: Path, top: Path) -> None:
    """A folder below the repository's top is a project only if it has its own
    project file; else the project is the nearest folder above that has one."""
    here = path.resolve()
    if here == top.resolve() or any((here / m).is_file() for m in ROOT_MARKERS):
        return
    root = top.resolve()
    for parent in here.parents:
        if parent == root or root not in parent.parents:
            break
        if any((parent / m).is_file() for m in ROOT_MARKERS):
            root = parent
            break
    raise DsopsError(
        f"{here} is not the project's root folder: the project is {root} "
        f"(run `dsops upgrade` there: cd {root})"
    )


def check_moment(git_dir: Path) -> None:
    for name, what, finish in IN_PROGRESS:
        if (git_dir / name).exists():
            raise DsopsError(
                f"git is in the middle of {what}: finish it first (`{finish}`), then upgrade"
            )


def template_folders(root: Path) -> list[Path]:
    """The folders of ``root`` the template writes in that exist now (the package
    folder matched by name: ``src/*``)."""
    patterns = set()
    base = project_template()
    for folder, _dirs, _files in os.walk(base):
        rel = os.path.relpath(folder, base).replace(os.sep, "/")
        if rel != "." and "__pycache__" not in rel:
            patterns.add(rel.replace("{{cookiecutter.package}}", "*"))
    found = []
    for pattern in sorted(patterns):
        parent, _sep, last = pattern.rpartition("/")
        where = root / parent if parent else root
        try:
            names = os.listdir(where)
        except OSError:
            continue
        found += [where / n for n in sorted(names) if fnmatch.fnmatchcase(n, last)]
    return found


def check_symlinks(root: Path, folders: list[Path]) -> None:
    """No folder the upgrade writes in is reached through a symbolic link."""
    for folder in folders:
        current = root
        for part in folder.relative_to(root).parts:
            current = current / part
            if current.is_symlink():
                target = os.path.realpath(current)
                where = "outside the repository" if not _inside(Path(target), root) else "here"
                raise DsopsError(
                    f"{current.relative_to(root)} is a symbolic link to {target} ({where}): "
                    "dsops upgrade never writes through a link; replace it with a folder first"
                )


def check_writable(folders: list[Path]) -> None:
    """Each folder takes a new file (an unnamed temporary one: nothing is left)."""
    for folder in folders:
        if not folder.is_dir():
            continue
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise DsopsError(
                f"cannot write in {folder}: {exc.strerror or exc} "
                "(permissions, an immutable attribute or a read-only mount); nothing was written"
            ) from None


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
