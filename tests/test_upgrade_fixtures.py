"""Shared fixtures of the upgrade tests (this module holds no test itself).

``old_template`` is an OLDER template version built from the current one: a copy of
templates/ with known differences, archived under ``_template_version`` 0.0.9 in a
private history folder (``DSOPS_TEMPLATE_HISTORY``), exactly as a release archives
its tree. Repositories "made with 0.0.9" are written by the same writer as ``putup``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from conftest import BIN, base_env

from pyscaffoldext.dsproject_ops.answers import Answers, build, with_template_version
from pyscaffoldext.dsproject_ops.paths import PROJECT_DIR_NAME, template_root
from pyscaffoldext.dsproject_ops.render import render
from pyscaffoldext.dsproject_ops.upgrade import history
from pyscaffoldext.dsproject_ops.writer import write_project

OLD = "0.0.9"
OLD_BLACK = "25.1.0"
OLD_NUMPY = "2.3.0"


@dataclass(frozen=True)
class OldTemplate:
    root: Path  # the 0.0.9 template tree
    history: Path  # the folder holding 0.0.9.tar.gz

    def env(self, **extra: str) -> dict[str, str]:
        env = base_env()
        env[history.ENV_VAR] = str(self.history)
        env.update(extra)
        return env


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def notebook_path(tree: dict[str, str]) -> str:
    return next(p for p in sorted(tree) if p.startswith("notebooks/") and p.endswith(".ipynb"))


@pytest.fixture(scope="session")
def old_template(tmp_path_factory: pytest.TempPathFactory) -> OldTemplate:
    top = tmp_path_factory.mktemp("old-template")
    root = top / "templates"
    shutil.copytree(template_root(), root, ignore=shutil.ignore_patterns("__pycache__"))
    spec = json.loads((root / "cookiecutter.json").read_text(encoding="utf-8"))
    spec["_template_version"] = OLD
    spec["_hook_pins"]["black"] = OLD_BLACK  # the new template bumps the black hook
    spec["_pins"]["numpy"] = OLD_NUMPY  # ... and numpy (environment.yml, setup.cfg)
    (root / "cookiecutter.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    project = root / PROJECT_DIR_NAME
    _edit(project / ".gitignore", "/mlartifacts/\n", "")  # added by the new template
    (project / "docs" / "index.md").write_text(
        (project / "docs" / "index.md").read_text(encoding="utf-8") + "\nOld paragraph.\n",
        encoding="utf-8",
    )
    readme = project / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nOld README footer.\n", "utf-8")
    cli = project / "src" / "{{cookiecutter.package}}" / "cli.py"
    cli.write_text("# old header line\n" + cli.read_text(encoding="utf-8"), encoding="utf-8")
    authors = project / "AUTHORS.md"
    authors.write_text(authors.read_text(encoding="utf-8") + "\nOld authors line.\n", "utf-8")
    (project / "OLDFILE.md").write_text("Dropped by the new template.\n", encoding="utf-8")
    (project / "OLDNOTES.md").write_text("Also dropped by the new template.\n", encoding="utf-8")
    (project / "CHANGELOG.md").unlink()  # new in the new template
    nb = project / notebook_path(render(build("demo")))
    data = json.loads(nb.read_text(encoding="utf-8"))
    data["metadata"]["old_template"] = True
    nb.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    store = top / "history"
    history.snapshot(root, store)
    return OldTemplate(root, store)


@pytest.fixture()
def old_history(old_template: OldTemplate, monkeypatch: pytest.MonkeyPatch) -> OldTemplate:
    """The old template, known to in-process upgrades too."""
    monkeypatch.setenv(history.ENV_VAR, str(old_template.history))
    return old_template


def old_answers(**values: Any) -> Answers:
    return with_template_version(
        build("demo", author="Ann", email="ann@example.com", **values), OLD
    )


def make_old_repo(old: OldTemplate, target: Path, **values: Any) -> Path:
    """A repository generated with template 0.0.9, as ``putup`` would have made it."""
    answers = old_answers(**values)
    write_project(target, render(answers, root=old.root), answers)
    return target


def git(repo: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=base_env())
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {done.stderr}")
    return done.stdout


def commit_all(repo: Path, message: str = "my edits") -> None:
    git(repo, "add", "-A")
    env = base_env()
    env.update(
        GIT_AUTHOR_NAME="U",
        GIT_AUTHOR_EMAIL="u@x",
        GIT_COMMITTER_NAME="U",
        GIT_COMMITTER_EMAIL="u@x",
    )
    subprocess.run(
        [
            "git",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "--no-verify",
            "--allow-empty",
            "-m",
            message,
        ],
        cwd=repo,
        check=True,
        env=env,
        capture_output=True,
    )


def dsops(old: OldTemplate, repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "dsops"), "upgrade", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=old.env(**env),
        timeout=300,
    )


def state(repo: Path) -> dict[str, Any]:
    """Everything an upgrade could change: files (untracked too), folders, the index
    with its stages, HEAD, git status, and upgrade leftovers inside .git."""
    files: dict[str, bytes] = {}
    folders: set[str] = set()
    for folder, dirs, names in os.walk(repo):
        rel = Path(folder).relative_to(repo)
        if rel.parts[:1] == (".git",):
            continue
        folders.add(rel.as_posix())
        for name in names:
            path = Path(folder) / name
            files[(rel / name).as_posix()] = path.read_bytes()
            files[(rel / name).as_posix() + ":mode"] = oct(path.stat().st_mode).encode()
    return {
        "files": files,
        "folders": folders,
        "index": git(repo, "ls-files", "-s"),
        "head": git(repo, "rev-parse", "HEAD"),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all"),
        "journal": sorted(p.name for p in (repo / ".git").glob("dsops-upgrade*")),
    }


def classes(output: str) -> dict[str, str]:
    """``{path: class}`` from the report lines ``  <class>  <path>[ ...]``."""
    from pyscaffoldext.dsproject_ops.upgrade.plan import CLASSES

    found = {}
    for line in output.splitlines():
        stripped = line.strip()
        for kind in CLASSES:
            if line.startswith("  ") and stripped.startswith(kind + " "):
                path = stripped[len(kind) :].strip().split(" ")[0].rstrip(":")
                found[path] = kind
    return found


@pytest.fixture()
def scratch(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
