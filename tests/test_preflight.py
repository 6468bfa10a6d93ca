"""Issue 13, case 6: ``dsops upgrade`` refuses the wrong place and the wrong moment,
in one line each (exit 2), before anything is written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable

import pytest
from conftest import BIN, run


def upgrade(where: Path) -> subprocess.CompletedProcess[str]:
    return run([BIN / "dsops", "upgrade"], cwd=where, check=False)


def refused(done: subprocess.CompletedProcess[str], says: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def state(repo: Path) -> str:
    return run(["git", "status", "--porcelain", "--ignored"], cwd=repo).stdout


@pytest.fixture
def repo(generate: Callable[..., Path], copy_repo: Callable[[Path], Path]) -> Path:
    return copy_repo(generate())


def test_a_folder_below_the_root_is_refused_naming_the_root(repo: Path) -> None:
    before = state(repo)
    refused(upgrade(repo / "src"), f"the project is {repo}")
    assert state(repo) == before


@pytest.mark.parametrize(
    "mark, says",
    [
        ("MERGE_HEAD", "a merge"),
        ("rebase-merge", "a rebase"),
        ("CHERRY_PICK_HEAD", "a cherry-pick"),
        ("BISECT_LOG", "a bisect"),
    ],
)
def test_git_mid_operation_is_refused(repo: Path, mark: str, says: str) -> None:
    head = run(["git", "rev-parse", "HEAD"], cwd=repo).stdout.strip()
    git_dir = repo / ".git"
    if mark == "rebase-merge":
        (git_dir / mark).mkdir()
    else:
        (git_dir / mark).write_text(head + "\n", encoding="utf-8")
    refused(upgrade(repo), says)


def test_a_committed_folder_symlink_out_of_the_repo_is_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    run(["git", "rm", "-rq", "docs"], cwd=repo)
    (repo / "docs").symlink_to(outside)
    run(["git", "add", "docs"], cwd=repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "link"], cwd=repo)
    refused(upgrade(repo), "outside the repository")
    assert list(outside.iterdir()) == []


def test_an_immutable_folder_is_refused_before_writing(repo: Path) -> None:
    """Root ignores permissions, so as root the folder is made immutable (chattr +i);
    as a user, read-only (chmod), which chattr needs root to change."""
    folder = repo / "configs"
    as_root = os.geteuid() == 0
    if as_root:
        run(["chattr", "+i", folder])
    else:
        folder.chmod(0o555)
    try:
        before = state(repo)
        refused(upgrade(repo), f"cannot write in {folder}")
        assert state(repo) == before
    finally:
        if as_root:
            run(["chattr", "-i", folder])
        else:
            folder.chmod(0o755)
