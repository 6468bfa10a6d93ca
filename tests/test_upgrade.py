"""`dsops upgrade` across two template versions: every class of change, git's index
state (stages 1/2/3 for conflicts), exit codes, refusals, dry runs, kills, putup."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import test_upgrade_fixtures as fx
from conftest import BIN
from test_upgrade_fixtures import (
    OLD,
    OLD_BLACK,
    OLD_NUMPY,
    OldTemplate,
    classes,
    commit_all,
    dsops,
    git,
    make_old_repo,
    notebook_path,
    old_answers,
    state,
)

from pyscaffoldext.dsproject_ops.render import render, template_version
from pyscaffoldext.dsproject_ops.upgrade import history

NEW = template_version()
PKG = "demo"

# the shared fixtures, used by name
old_history = fx.old_history
old_template = fx.old_template


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def edited(old_template: OldTemplate, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 0.0.9 repository with one user edit of each kind, committed (read-only)."""
    repo = make_old_repo(old_template, tmp_path_factory.mktemp("edited") / "demo")
    _replace(repo / "docs/index.md", "Old paragraph.", "My paragraph.")  # conflict
    _append(repo / f"src/{PKG}/cli.py", "# my trailing comment\n")  # merged cleanly
    _append(repo / ".gitignore", "/my-scratch/\n")  # merged (structured)
    _replace(repo / "environment.yml", "  - pip\n", "  - pip\n  - requests=2.32\n")
    _replace(repo / "setup.cfg", "[mypy]", "[tool:mine]\nanswer = 42\n\n[mypy]")
    _replace(
        repo / ".pre-commit-config.yaml",
        "      - id: flake8\n",
        "      - id: my-hook\n        name: mine\n        entry: true\n"
        "        language: system\n      - id: flake8\n",
    )
    _append(repo / "LICENSE.txt", "My licence note.\n")  # kept yours
    (repo / "AUTHORS.md").unlink()  # deleted by you (the template changed it)
    _append(repo / "OLDNOTES.md", "My notes.\n")  # dropped by the template, changed by me
    nb = repo / notebook_path(render(old_answers()))
    data = json.loads(nb.read_text(encoding="utf-8"))
    data["metadata"]["mine"] = True
    nb.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")  # policy: yours
    commit_all(repo)
    return repo


def _untracked(repo: Path) -> dict[str, bytes]:
    (repo / "data/raw/sensors.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (repo / "scratch.txt").write_text("mine, untracked\n", encoding="utf-8")
    return {p: (repo / p).read_bytes() for p in ("data/raw/sensors.csv", "scratch.txt")}


def _copy(source: Path, tmp_path: Path, name: str = "demo") -> Path:
    target = tmp_path / name
    shutil.copytree(source, target, symlinks=True)
    git(target, "update-index", "-q", "--refresh")  # a copy's files have new times
    return target


def test_every_class_contents_index_and_exit_code(
    edited: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = _copy(edited, tmp_path)
    untracked = _untracked(repo)
    before = state(repo)
    dry = dsops(old_template, repo, "--dry-run")
    assert dry.returncode == 1, dry.stderr  # it would conflict: a fleet script can tell
    assert "1 file(s) would conflict" in dry.stdout
    assert state(repo) == before
    done = dsops(old_template, repo)
    assert done.returncode == 1, done.stdout + done.stderr  # conflicts remain
    assert f"from template {OLD} to {NEW}" in done.stdout
    got, planned = classes(done.stdout), classes(dry.stdout)
    nb = notebook_path(render(old_answers()))
    expected = {
        "docs/index.md": "conflict",
        f"src/{PKG}/cli.py": "merged cleanly",
        ".gitignore": "merged cleanly",
        "environment.yml": "merged cleanly",
        "setup.cfg": "merged cleanly",
        ".pre-commit-config.yaml": "merged cleanly",
        "README.md": "updated",
        "CHANGELOG.md": "added",
        "OLDFILE.md": "removed",
        "LICENSE.txt": "kept yours",
        "OLDNOTES.md": "kept yours",
        nb: "kept yours",
        "AUTHORS.md": "deleted by you",
    }
    assert {p: got.get(p) for p in expected} == expected
    assert {p: planned.get(p) for p in expected} == expected
    assert "the template changed it" in done.stdout  # AUTHORS.md, the notebook
    assert "the template dropped it" in done.stdout  # OLDNOTES.md
    # contents
    theirs = render(old_answers())
    assert (repo / "README.md").read_text() == theirs["README.md"]
    assert (repo / "CHANGELOG.md").read_text() == theirs["CHANGELOG.md"]
    assert not (repo / "OLDFILE.md").exists() and not (repo / "AUTHORS.md").exists()
    assert "My notes." in (repo / "OLDNOTES.md").read_text()
    assert json.loads((repo / nb).read_text())["metadata"]["mine"] is True
    cli = (repo / f"src/{PKG}/cli.py").read_text()
    assert "# my trailing comment" in cli and "# old header line" not in cli
    ignore = (repo / ".gitignore").read_text()
    assert "/my-scratch/" in ignore and "/mlartifacts/" in ignore
    env = (repo / "environment.yml").read_text()
    assert "requests=2.32" in env and OLD_NUMPY not in env and "numpy==" in env
    cfg = (repo / "setup.cfg").read_text()
    assert "[tool:mine]" in cfg and f"dsproject_ops_template = {NEW}" in cfg
    assert OLD_NUMPY not in cfg
    hooks = (repo / ".pre-commit-config.yaml").read_text()
    assert "id: my-hook" in hooks and OLD_BLACK not in hooks
    text = (repo / "docs/index.md").read_text()
    assert "<<<<<<< yours\n" in text and f"||||||| template {OLD}\n" in text
    assert f">>>>>>> template {NEW}\n" in text and "My paragraph." in text
    # git's index: the conflict in stages 1/2/3, the rest staged
    status = git(repo, "status", "--porcelain", "--untracked-files=no").splitlines()
    assert "UU docs/index.md" in status
    assert "A  CHANGELOG.md" in status and "D  OLDFILE.md" in status
    assert "M  README.md" in status and "M  setup.cfg" in status
    stages = git(repo, "ls-files", "-s", "docs/index.md").splitlines()
    assert [line.split()[2] for line in stages] == ["1", "2", "3"]
    blobs = {line.split()[2]: git(repo, "cat-file", "-p", line.split()[1]) for line in stages}
    assert blobs["1"] == render(old_answers(), root=old_template.root)["docs/index.md"]
    assert blobs["2"] == git(repo, "show", "HEAD:docs/index.md")
    assert blobs["3"] == theirs["docs/index.md"]
    assert "both modified:   docs/index.md" in git(repo, "status")
    for path, data in untracked.items():
        assert (repo / path).read_bytes() == data
    # Not twice: the conflicts are unresolved.
    again = dsops(old_template, repo)
    assert again.returncode == 2 and "unresolved conflicts" in again.stderr
    # --abort puts everything back.
    aborted = dsops(old_template, repo, "--abort")
    assert aborted.returncode == 0, aborted.stderr
    assert state(repo) == before


def test_clean_upgrade_stages_everything_then_is_up_to_date(
    edited: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = _copy(edited, tmp_path)
    git(repo, "checkout", "HEAD~1", "--", "docs/index.md")  # as generated
    commit_all(repo, "no conflict")
    done = dsops(old_template, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "conflict " not in done.stdout
    assert not git(repo, "ls-files", "-u")
    assert not git(repo, "diff")  # everything is staged
    # The journal stays until the result is committed (`--abort` still works) ...
    assert list((repo / ".git").glob("dsops-upgrade*"))
    commit_all(repo, "upgrade")
    again = dsops(old_template, repo)
    assert again.returncode == 0 and "already up to date" in again.stdout
    assert not git(repo, "status", "--porcelain")
    # ... and is forgotten once it is.
    assert not list((repo / ".git").glob("dsops-upgrade*"))


def test_resolved_and_committed_conflicts_allow_the_next_upgrade(
    edited: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = _copy(edited, tmp_path)
    assert dsops(old_template, repo).returncode == 1
    git(repo, "checkout", "--theirs", "--", "docs/index.md")
    commit_all(repo, "upgrade, conflicts resolved")
    again = dsops(old_template, repo)
    assert again.returncode == 0 and "already up to date" in again.stdout
    assert not list((repo / ".git").glob("dsops-upgrade*"))


def test_dry_run_and_diff_write_nothing(
    edited: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = _copy(edited, tmp_path)
    before = state(repo)
    shown = dsops(old_template, repo, "--diff")
    assert shown.returncode == 1, shown.stderr  # as --dry-run: it would conflict
    assert state(repo) == before
    assert "+/mlartifacts/" in shown.stdout
    assert "-Old README footer." in shown.stdout
    assert "+<<<<<<< yours" in shown.stdout
    assert "dry run: nothing was written" in shown.stdout
    # the template's change to a file kept as yours is shown, not hidden
    assert "kept yours; the template's change, not applied" in shown.stdout


@pytest.mark.parametrize(
    "problem",
    ["dirty", "not-git", "unresolved", "unknown-version", "untracked-in-the-way", "bad-to"],
)
def test_refusals_are_one_line_and_write_nothing(
    problem: str, edited: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = _copy(edited, tmp_path)
    args: list[str] = []
    if problem == "dirty":
        _append(repo / "README.md", "uncommitted\n")
    elif problem == "not-git":
        shutil.rmtree(repo / ".git")
    elif problem == "unresolved":
        git(repo, "checkout", "-q", "-b", "other")
        _append(repo / "README.md", "other\n")
        commit_all(repo, "other")
        git(repo, "checkout", "-q", "-")
        _append(repo / "README.md", "main\n")
        commit_all(repo, "main")
        git(repo, "merge", "other", check=False)
        assert git(repo, "ls-files", "-u")
    elif problem == "unknown-version":
        _replace(
            repo / "setup.cfg", f"dsproject_ops_template = {OLD}", "dsproject_ops_template = 9.9.9"
        )
        commit_all(repo, "from the future")
    elif problem == "untracked-in-the-way":
        (repo / "CHANGELOG.md").write_text("my untracked changelog\n", encoding="utf-8")
    elif problem == "bad-to":
        args = ["--to", "7.7.7"]
    before = state(repo) if problem != "not-git" else None
    done = dsops(old_template, repo, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "error:" in done.stderr
    assert "Traceback" not in done.stderr
    if before is not None:
        assert state(repo) == before
    else:
        assert not (repo / ".git").exists()


@pytest.mark.parametrize(
    "point", ["journal", "file-1", "file-4", "file-9", "before-index", "index"]
)
def test_a_kill_at_any_point_is_undone_by_abort(
    point: str, edited: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = _copy(edited, tmp_path)
    _untracked(repo)
    before = state(repo)
    killed = dsops(old_template, repo, DSOPS_UPGRADE_KILL_AT=point)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    refused = dsops(old_template, repo)
    assert refused.returncode == 2 and "interrupted" in refused.stderr
    restored = dsops(old_template, repo, "--abort")
    assert restored.returncode == 0, restored.stderr
    assert state(repo) == before
    # and the upgrade can start again (its dry run predicts the one conflict)
    assert dsops(old_template, repo, "--dry-run").returncode == 1


def test_abort_without_an_upgrade_is_refused(
    edited: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = _copy(edited, tmp_path)
    done = dsops(old_template, repo, "--abort")
    assert done.returncode == 2 and "no upgrade to abort" in done.stderr


def test_putup_update_and_dsops_upgrade_give_identical_results(
    edited: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    one = _copy(edited, tmp_path / "one")
    two = _copy(edited, tmp_path / "two")
    by_dsops = dsops(old_template, one)
    by_putup = subprocess.run(
        [str(BIN / "putup"), "--update", "."],
        cwd=two,
        capture_output=True,
        text=True,
        env=old_template.env(),
        timeout=300,
    )
    assert by_dsops.returncode == 1
    assert by_putup.returncode == 1
    assert "ERROR: conflicts remain" in by_putup.stdout + by_putup.stderr
    assert classes(by_putup.stdout) == classes(by_dsops.stdout)
    first, second = state(one), state(two)
    assert first["files"] == second["files"]
    assert first["index"] == second["index"] and first["status"] == second["status"]
    # --pretend is a dry run
    three = _copy(edited, tmp_path / "three")
    before = state(three)
    pretend = subprocess.run(
        [str(BIN / "putup"), "--update", "--pretend", "."],
        cwd=three,
        capture_output=True,
        text=True,
        env=old_template.env(),
        timeout=300,
    )
    assert pretend.returncode != 0  # it would conflict
    assert "would leave conflicts" in pretend.stdout + pretend.stderr
    assert classes(pretend.stdout)["docs/index.md"] == "conflict"
    assert state(three) == before


def test_untracked_data_is_never_read_nor_touched(
    edited: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    """Cost follows the template: thousands of untracked files under data/ change
    nothing (benchmarks/run.py times it with 100,000)."""
    repo = _copy(edited, tmp_path)
    raw = repo / "data" / "raw" / "many"
    raw.mkdir(parents=True)
    for n in range(3000):
        (raw / f"{n}.csv").write_text(f"{n}\n", encoding="utf-8")
    done = dsops(old_template, repo)
    assert done.returncode == 1
    assert sorted(p.name for p in raw.iterdir()) == sorted(f"{n}.csv" for n in range(3000))
    assert "many" not in git(repo, "status", "--porcelain", "--untracked-files=no")


def test_the_history_env_var_is_how_the_old_version_is_found(
    edited: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = _copy(edited, tmp_path)
    env = old_template.env()
    env.pop(history.ENV_VAR)
    done = subprocess.run(
        [str(BIN / "dsops"), "upgrade"], cwd=repo, capture_output=True, text=True, env=env
    )
    assert done.returncode == 2
    assert f"unknown template version '{OLD}'" in done.stderr


def test_a_symlink_where_the_template_has_a_file_is_kept(
    edited: Path, old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = _copy(edited, tmp_path)
    (repo / "README.md").unlink()
    (repo / "README.md").symlink_to("docs/index.md")
    commit_all(repo, "README is a link")
    done = dsops(old_template, repo, "--dry-run")
    assert done.returncode == 1, done.stderr  # docs/index.md would conflict
    assert classes(done.stdout)["README.md"] == "kept yours"
    assert "a link or submodule: not merged" in done.stdout
