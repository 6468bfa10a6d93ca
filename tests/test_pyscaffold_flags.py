"""PyScaffold's own flags next to --dsproject-ops: each one says what we already
generate, or is refused with one line before anything is written (issue 14)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import pytest
from conftest import BIN, putup, run


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def lines(done: object) -> list[str]:
    text = getattr(done, "stdout", "") + getattr(done, "stderr", "")
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "options,message",
    [
        (("--namespace", "ns.sub"), "--namespace is not supported with --dsproject-ops: "),
        (("--cirrus",), "--cirrus is not supported with --dsproject-ops: "),
        (("--no-pyproject",), "--no-pyproject is not supported with --dsproject-ops: "),
        (("--ci", "github", "--gitlab"), "--gitlab asks for gitlab CI but --ci github "),
        (("--ci", "gitlab", "--github-actions"), "--github-actions asks for github CI "),
    ],
    ids=["namespace", "cirrus", "no-pyproject", "gitlab-vs-ci", "github-vs-ci"],
)
def test_refused_flags_say_so_in_one_line_and_write_nothing(
    tmp_path: Path, options: tuple[str, ...], message: str
) -> None:
    done = putup(tmp_path / "demo", *options, check=False)
    assert done.returncode == 1
    assert len(lines(done)) == 1 and lines(done)[0].startswith(f"ERROR: {message}"), lines(done)
    assert list(tmp_path.iterdir()) == []


def test_flags_for_what_we_generate_are_noted_and_change_nothing(
    tmp_path: Path, generate: Callable[..., Path]
) -> None:
    target = tmp_path / "demo"
    done = putup(target, "--pre-commit", "--gitlab", "--github-actions", "--no-tox")
    out = done.stdout + done.stderr
    for note in (
        "--pre-commit: already generated: .pre-commit-config.yaml with pinned hooks",
        "--gitlab: already generated: .gitlab-ci.yml",
        "--github-actions: already generated: .github/workflows/",
        "--no-tox: no effect: the template has no tox.ini",
    ):
        assert note in out, out
    # PyScaffold's pre-commit extension neither runs nor advises unpinning the hooks.
    assert "autoupdate" not in out and "pre-commit hook was installed" not in out
    assert not (target / ".git" / "hooks" / "pre-commit").exists()
    # The same repository as without the flags: the template owns every file.
    assert digest(target) == digest(generate())
    assert run(["git", "status", "--porcelain"], cwd=target).stdout == ""


def test_update_prints_our_report_only(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    run(["git", "update-index", "-q", "--refresh"], cwd=repo)  # the copy's new mtimes
    done = run([BIN / "putup", "--update", "."], cwd=repo)
    out = done.stdout + done.stderr
    assert "nothing written" in out, out
    assert "Update accomplished" not in out and "setup.cfg still complies" not in out, out


def test_plain_pyscaffold_update_keeps_its_note(tmp_path: Path) -> None:
    """Installing the extension does not change `putup` for other projects."""
    run([BIN / "putup", "plain"], cwd=tmp_path)
    done = run([BIN / "putup", "--update", "."], cwd=tmp_path / "plain")
    assert "Update accomplished!" in done.stdout


def test_force_never_overwrites_a_file_of_the_users(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    target.mkdir()
    (target / "README.md").write_text("my notes\n", encoding="utf-8")
    done = putup(target, "--force", check=False)
    assert done.returncode == 1
    assert len(lines(done)) == 1, lines(done)
    assert lines(done)[0].startswith(f"ERROR: --force would overwrite README.md in {target}")
    assert "putup --dsproject-ops --update" in lines(done)[0]
    assert sorted(p.name for p in target.iterdir()) == ["README.md"]
    assert (target / "README.md").read_text(encoding="utf-8") == "my notes\n"


def test_force_generates_beside_files_it_does_not_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    target.mkdir()
    (target / "notes.txt").write_text("mine\n", encoding="utf-8")
    putup(target, "--force")
    assert (target / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert (target / "dvc.yaml").is_file()
