"""Undo and preview: `--abort` after a clean upgrade, refusals that keep the journal,
and `--dry-run` predicting each file's outcome (conflicts included) with an exit
code a fleet script can use."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import test_upgrade_fixtures as fx
from test_upgrade_fixtures import (
    OldTemplate,
    classes,
    commit_all,
    dsops,
    git,
    make_old_repo,
    state,
)

old_template = fx.old_template


@pytest.fixture(scope="module")
def clean_repo(old_template: OldTemplate, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 0.0.9 repository whose upgrade merges cleanly (one user edit, no overlap)."""
    repo = make_old_repo(old_template, tmp_path_factory.mktemp("clean") / "demo")
    path = repo / ".gitignore"
    path.write_text(path.read_text(encoding="utf-8") + "/my-scratch/\n", encoding="utf-8")
    commit_all(repo)
    return repo


@pytest.fixture(scope="module")
def conflicted_repo(old_template: OldTemplate, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 0.0.9 repository whose upgrade conflicts in docs/index.md."""
    repo = make_old_repo(old_template, tmp_path_factory.mktemp("conflicted") / "demo")
    path = repo / "docs/index.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Old paragraph.", "My paragraph."), "utf-8"
    )
    commit_all(repo)
    return repo


def _copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(source, target, symlinks=True)
    git(target, "update-index", "-q", "--refresh")
    return target


def test_abort_after_a_clean_upgrade_restores_exactly(
    clean_repo: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = _copy(clean_repo, tmp_path)
    before = state(repo)
    done = dsops(old_template, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert state(repo)["index"] != before["index"]
    aborted = dsops(old_template, repo, "--abort")
    assert aborted.returncode == 0, aborted.stderr
    assert state(repo) == before


def test_an_uncommitted_upgrade_is_refused_and_its_journal_kept(
    clean_repo: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = _copy(clean_repo, tmp_path)
    before = state(repo)
    assert dsops(old_template, repo).returncode == 0
    journal = sorted(p.name for p in (repo / ".git").glob("dsops-upgrade*"))
    for args in (["--dry-run"], [], ["--diff"]):
        refused = dsops(old_template, repo, *args)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "not committed yet" in refused.stderr and "--abort" in refused.stderr
        assert sorted(p.name for p in (repo / ".git").glob("dsops-upgrade*")) == journal
    assert dsops(old_template, repo, "--abort").returncode == 0
    assert state(repo) == before


def test_dry_run_after_resolving_conflicts_keeps_the_journal(
    conflicted_repo: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    """The reported bug: after `git add` of resolved conflicts, `--dry-run` refused
    and silently deleted the journal, so `--abort` said there was nothing to abort."""
    repo = _copy(conflicted_repo, tmp_path)
    before = state(repo)
    assert dsops(old_template, repo).returncode == 1
    git(repo, "checkout", "--ours", "--", "docs/index.md")
    git(repo, "add", "docs/index.md")
    assert not git(repo, "ls-files", "-u")
    refused = dsops(old_template, repo, "--dry-run")
    assert refused.returncode == 2
    assert list((repo / ".git").glob("dsops-upgrade*"))
    aborted = dsops(old_template, repo, "--abort")
    assert aborted.returncode == 0, aborted.stderr
    assert state(repo) == before


def test_a_reset_result_is_forgotten(
    clean_repo: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = _copy(clean_repo, tmp_path)
    assert dsops(old_template, repo).returncode == 0
    git(repo, "reset", "-q", "--hard")
    git(repo, "clean", "-q", "-fd")
    again = dsops(old_template, repo, "--dry-run")
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("fixture, code", [("clean_repo", 0), ("conflicted_repo", 1)])
def test_dry_run_predicts_every_outcome_and_exit_code(
    fixture: str,
    code: int,
    old_template: OldTemplate,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    repo = _copy(request.getfixturevalue(fixture), tmp_path)
    before = state(repo)
    dry = dsops(old_template, repo, "--dry-run")
    assert dry.returncode == code, dry.stdout + dry.stderr
    assert state(repo) == before
    predicted = classes(dry.stdout)
    assert predicted.get("docs/glossary.md") == "unchanged"  # every file is named
    done = dsops(old_template, repo)
    assert done.returncode == code
    written = classes(done.stdout)
    assert {p: k for p, k in predicted.items() if k != "unchanged"} == written
    if code:
        assert predicted["docs/index.md"] == "conflict"
        assert "would conflict" in dry.stdout
