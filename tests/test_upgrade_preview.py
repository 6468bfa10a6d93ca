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


# --- validate checks against the recorded template version ----------------------------


def _validate(old: OldTemplate, repo: Path) -> str:
    import subprocess

    from conftest import BIN

    done = subprocess.run(
        [str(BIN / "dsops"), "validate", "--format", "json", str(repo)],
        capture_output=True,
        text=True,
        env=old.env(),
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def test_validate_uses_the_recorded_template_version(
    old_template: OldTemplate, tmp_path: Path
) -> None:
    """A repository recording 0.0.9 is checked against 0.0.9 (archived), not against
    the installed template, which added CHANGELOG.md."""
    import json

    repo = make_old_repo(old_template, tmp_path / "demo")
    findings = json.loads(_validate(old_template, repo))["findings"]
    lay = [f for f in findings if f["code"] == "LAY001"]
    assert not [f for f in lay if "CHANGELOG.md" in f["message"]], lay
    (repo / "OLDFILE.md").unlink()  # in 0.0.9, not in the installed template
    commit_all(repo, "no OLDFILE")
    findings = json.loads(_validate(old_template, repo))["findings"]
    assert any("OLDFILE.md is missing" in f["message"] for f in findings), findings


def test_validate_says_which_version_it_checked_against(
    old_template: OldTemplate, tmp_path: Path
) -> None:
    import json

    from pyscaffoldext.dsproject_ops.render import template_version

    repo = make_old_repo(old_template, tmp_path / "demo")
    cfg = repo / "setup.cfg"
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace(
            "dsproject_ops_template = 0.0.9", "dsproject_ops_template = 9.9.9"
        ),
        encoding="utf-8",
    )
    commit_all(repo, "from the future")
    findings = json.loads(_validate(old_template, repo))["findings"]
    notes = [f["message"] for f in findings if f["code"] == "LAY001" and "checked" in f["message"]]
    assert notes == [
        f"checked against template {template_version()}: this repository records 9.9.9, "
        "which this dsproject-ops cannot render (install the dsproject-ops that made it)"
    ]
