"""Issue 13, case 5: ``putup --force`` killed at every step of the swap loses no user
file, a re-run restores or clears what the killed run left, and two generations of
prefix-sharing names (``big``, ``big-x``) run in parallel and both complete.

The writer SIGKILLs itself at the checkpoint named by ``DSOPS_WRITER_KILL_AT``
(:data:`pyscaffoldext.dsproject_ops.writer.CHECKPOINTS`), as the upgrade journal does.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, base_env, putup, run

from pyscaffoldext.dsproject_ops.writer import CHECKPOINTS, KILL_AT, MARKER, leftovers

MINE = "my notes: not generated, must survive\n"


def user_folder(parent: Path, name: str = "big") -> Path:
    target = parent / name
    (target / "notes").mkdir(parents=True)
    (target / "notes" / "mine.txt").write_text(MINE, encoding="utf-8")
    # No file the template also writes: --force refuses to overwrite one (test_pyscaffold_flags).
    (target / "TODO.txt").write_text("the user's own list\n", encoding="utf-8")
    return target


def surviving_copies(parent: Path) -> list[Path]:
    """Every copy of the user's file beside or in the target, backups included."""
    return [p for p in parent.rglob("mine.txt") if p.read_text(encoding="utf-8") == MINE]


@pytest.mark.parametrize("step", CHECKPOINTS)
def test_force_killed_at_every_step_loses_nothing(step: str, tmp_path: Path) -> None:
    target = user_folder(tmp_path)
    env = base_env()
    env[KILL_AT] = step
    killed = putup(target, "--force", env=env, check=False)
    # "swapped" and later are past the point of no return only for the empty-target
    # path; with a user folder every checkpoint is reached.
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    copies = surviving_copies(tmp_path)
    assert copies, f"killed at {step}: the user's file is gone"
    if step in ("staged", "committed"):
        assert (target / "notes" / "mine.txt").is_file()  # not yet touched
    # The next run puts everything right and generates.
    again = putup(target, "--force")
    assert (target / "notes" / "mine.txt").read_text(encoding="utf-8") == MINE
    assert (target / ".git").is_dir() and (target / "dvc.yaml").is_file()
    left = leftovers(target)
    if step == "backed-up":
        assert "restored" in again.stdout
    if step == "swapped":
        # The swap may have completed: the backup is kept, never silently deleted.
        assert [kind for _, _, kind in left] == ["previous"]
        assert "kept" in again.stdout
    else:
        assert left == [], left


def test_a_kill_between_the_renames_is_restored_without_force(tmp_path: Path) -> None:
    target = user_folder(tmp_path)
    env = base_env()
    env[KILL_AT] = "backed-up"
    putup(target, "--force", env=env, check=False)
    assert not target.exists()  # the only copy is the backup now
    refused = putup(target, check=False)  # no --force: restore, then refuse as usual
    assert refused.returncode == 1
    assert "restored" in refused.stdout and "not empty" in refused.stdout
    assert (target / "notes" / "mine.txt").read_text(encoding="utf-8") == MINE
    assert leftovers(target) == []


def test_prefix_sharing_names_generate_in_parallel(tmp_path: Path) -> None:
    """``big`` must never take ``big-x``'s staging folder for a leftover of its own."""
    for round_ in range(2):
        parent = tmp_path / f"round{round_}"
        parent.mkdir()
        # A dead run's leftover of big-x looks like big's under the old pattern.
        stale = parent / f".big-x{MARKER}999999-dead.partial"
        stale.mkdir()
        procs = [
            subprocess.Popen(
                [str(BIN / "putup"), "--dsproject-ops", name],
                cwd=parent,
                env=base_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for name in ("big-x", "big")
        ]
        for proc in procs:
            out, _ = proc.communicate(timeout=600)
            assert proc.returncode == 0, out
        for name in ("big", "big-x"):
            repo = parent / name
            assert (repo / "dvc.yaml").is_file()
            assert run(["git", "status", "--porcelain"], cwd=repo).stdout == ""
        assert not stale.exists()  # big-x cleared its own dead run's folder
        assert sorted(p.name for p in parent.iterdir()) == ["big", "big-x"]


def test_empty_current_folder_is_generated_in_place(tmp_path: Path) -> None:
    """``putup --dsproject-ops .`` in an empty folder: the folder itself becomes the
    project (the shell standing in it sees it), no traceback."""
    here = tmp_path / "inplace"
    here.mkdir()
    inode = here.stat().st_ino
    done = run([BIN / "putup", "--dsproject-ops", "."], cwd=here)
    assert "Traceback" not in done.stdout + done.stderr
    assert here.stat().st_ino == inode
    assert (here / "dvc.yaml").is_file() and (here / ".git").is_dir()
    assert run(["git", "status", "--porcelain"], cwd=here).stdout == ""


def test_force_over_an_identical_tree_is_no_traceback(tmp_path: Path) -> None:
    """A second ``--force`` generation changes nothing git tracks: nothing to commit
    is fine (it used to end in git's CalledProcessError)."""
    target = tmp_path / "demo"
    putup(target)
    head = run(["git", "rev-parse", "HEAD"], cwd=target).stdout
    done = putup(target, "--force")
    assert "Traceback" not in done.stdout + done.stderr
    assert run(["git", "rev-parse", "HEAD"], cwd=target).stdout == head
