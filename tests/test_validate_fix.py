"""``dsops validate --fix`` / ``--diff`` on a corpus of broken repositories.

Each case breaks a committed copy of a generated repository; ``--fix`` must leave no
finding of a fixable check, change only files a finding named, leave a file with
uncommitted changes alone (unless ``--force``), and ``--diff`` alone must change nothing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
from defects.corpus import ROWS, apply

from pyscaffoldext.dsproject_ops.validate.cli import main
from pyscaffoldext.dsproject_ops.validate.registry import all_checks
from pyscaffoldext.dsproject_ops.validate.runner import validate

FIXABLE = {c.code for c in all_checks() if c.fixable()}


@pytest.fixture(autouse=True)
def _own_cache(validate_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never the user's cache (PC001, the schemas and SYN006 remember what passed):
    # the session's own, shared by its tests (conftest.validate_cache).
    monkeypatch.setenv("XDG_CACHE_HOME", str(validate_cache))


def _edit(repo: Path, rel: str, old: str, new: str) -> None:
    text = (repo / rel).read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}: the template changed, update this test"
    (repo / rel).write_text(text.replace(old, new, 1), encoding="utf-8")


def _drop_lines(repo: Path, rel: str, *lines: str) -> None:
    kept = [x for x in (repo / rel).read_text(encoding="utf-8").split("\n") if x not in lines]
    (repo / rel).write_text("\n".join(kept), encoding="utf-8")


def _drop_hook(repo: Path, hook: str) -> None:
    """Remove the local hook ``hook`` (its ``- id:`` line and the keys under it)."""
    lines = (repo / ".pre-commit-config.yaml").read_text(encoding="utf-8").split("\n")
    start = next(i for i, x in enumerate(lines) if x.strip() == f"- id: {hook}")
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    del lines[start:end]
    (repo / ".pre-commit-config.yaml").write_text("\n".join(lines), encoding="utf-8")


def _append(repo: Path, rel: str, text: str) -> None:
    with (repo / rel).open("a", encoding="utf-8") as stream:
        stream.write(text)


def _cmd(repo: Path, line: str) -> None:
    text = (repo / "Dockerfile").read_text(encoding="utf-8").split("\n")
    index = max(i for i, x in enumerate(text) if x.startswith("CMD "))
    text[index] = line
    (repo / "Dockerfile").write_text("\n".join(text), encoding="utf-8")


CORPUS: dict[str, Callable[[Path], None]] = {
    "dockerignore-no-git": lambda r: _drop_lines(r, ".dockerignore", ".git"),
    "dockerignore-no-venv-no-git": lambda r: _drop_lines(r, ".dockerignore", ".git", ".venv"),
    "dockerignore-no-final-newline": lambda r: (
        _drop_lines(r, ".dockerignore", ".git"),
        (r / ".dockerignore").write_text(
            (r / ".dockerignore").read_text(encoding="utf-8").rstrip("\n"), encoding="utf-8"
        ),
    )
    and None,
    "no-merge-conflict-hook": lambda r: _drop_hook(r, "check-merge-conflict"),
    "no-merge-conflict-hook-hook-repository": lambda r: (
        _drop_hook(r, "check-merge-conflict"),
        _append(
            r,
            ".pre-commit-config.yaml",
            "  - repo: https://github.com/pre-commit/pre-commit-hooks\n"
            "    rev: v6.0.0\n    hooks:\n      - id: check-json\n",
        ),
    )
    and None,
    "cmd-shell-form": lambda r: _cmd(r, "CMD demo serve --host 0.0.0.0 --port 8000"),
    "cmd-shell-form-and-dockerignore": lambda r: (
        _cmd(r, "CMD demo serve"),
        _drop_lines(r, ".dockerignore", ".git"),
    )
    and None,
}


def _commit(repo: Path) -> None:
    for cmd in (["git", "add", "-A"], ["git", "commit", "-qm", "broken", "--no-verify"]):
        subprocess.run(cmd, cwd=repo, check=True, capture_output=True)


def _changed(repo: Path) -> set[str]:
    done = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, check=True, capture_output=True, text=True
    )
    return {line[3:] for line in done.stdout.splitlines()}


def test_the_fixable_checks() -> None:
    assert FIXABLE == {
        "DKR004",
        "DKR005",
        "DKR007",
        "DKR008",
        "DKR009",
        "ENV004",
        "GIT003",
        "PC003",
    }


@pytest.mark.parametrize("case", list(CORPUS))
def test_fix_leaves_no_fixable_finding_and_touches_only_reported_files(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    case: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = copy_repo(generate())
    CORPUS[case](repo)
    _commit(repo)
    before = validate(repo)
    fixable = [f for f in before.findings if f.code in FIXABLE]
    assert fixable, "the case must break a fixable check"
    reported = {f.file for f in before.findings}

    assert main([str(repo), "--diff"]) == 1
    shown = capsys.readouterr().out
    assert _changed(repo) == set(), "--diff alone must not write"
    assert all(f"+++ b/{rel}" in shown for rel in {f.file for f in fixable})

    main([str(repo), "--fix"])
    after = validate(repo)
    assert not [f for f in after.findings if f.code in FIXABLE], after.findings
    assert _changed(repo) <= reported
    assert {f.code for f in after.findings} == {f.code for f in before.findings} - FIXABLE
    # the fixed Dockerfile still parses and keeps its meaning in exec form
    if "cmd" in case:
        last = [x for x in (repo / "Dockerfile").read_text().splitlines() if x.startswith("CMD")]
        assert last[-1].startswith('CMD ["demo", "serve"')
    if "hook" in case:  # the hook is back, in the style of its neighbours
        config = (repo / ".pre-commit-config.yaml").read_text(encoding="utf-8")
        assert config.count("- id: check-merge-conflict") == 1
        if "repository" not in case:
            assert (
                "additional_dependencies: [pre-commit-hooks=="
                in config.split("check-merge-conflict", 1)[1].split("- id:", 1)[0]
            )


def test_a_file_with_uncommitted_changes_is_left_alone_unless_forced(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = copy_repo(generate())
    _drop_lines(repo, ".dockerignore", ".git")
    _cmd(repo, "CMD demo serve")
    _commit(repo)
    with (repo / "Dockerfile").open("a", encoding="utf-8") as stream:
        stream.write("# my work in progress\n")
    mine = (repo / "Dockerfile").read_text(encoding="utf-8")

    main([str(repo), "--fix"])
    err = capsys.readouterr().err
    assert "left Dockerfile alone: it has uncommitted changes" in err
    assert (repo / "Dockerfile").read_text(encoding="utf-8") == mine
    assert {f.code for f in validate(repo).findings} == {"DKR005"}  # .dockerignore was fixed

    main([str(repo), "--fix", "--force"])
    assert (
        (repo / "Dockerfile")
        .read_text(encoding="utf-8")
        .endswith('CMD ["demo", "serve"]\n# my work in progress\n')
    )
    assert not validate(repo).findings


def test_a_command_that_needs_a_shell_is_not_rewritten(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    _cmd(repo, 'CMD demo serve --port "$PORT"')
    _commit(repo)
    assert {f.code for f in validate(repo).findings} == {"DKR005"}
    main([str(repo), "--fix"])
    assert _changed(repo) == set()
    assert {f.code for f in validate(repo).findings} == {"DKR005"}


def test_list_and_explain_say_which_checks_fix(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--list"])
    listed = capsys.readouterr().out
    assert "DKR007  warning  .dockerignore excludes data and caches  [fix]" in listed
    main(["--explain", "DKR005"])
    assert "`dsops validate --fix` fixes it" in capsys.readouterr().out


# -- the defect corpus (tests/defects/corpus.yaml): its fixable rows ---------------------
def _codes(row: dict[str, Any]) -> set[str]:
    return {e["code"] for e in [row["expect"], *row.get("also", [])]}


FIX_ROWS = [row for row in ROWS if _codes(row) <= FIXABLE]


def _hashes(repo: Path) -> dict[str, str]:
    """Every file of the work tree (not .git) and its SHA-256."""
    import hashlib

    return {
        str(path.relative_to(repo)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in repo.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(repo).parts[:1]
    }


def _differ(old: dict[str, str], new: dict[str, str]) -> set[str]:
    return {rel for rel in old.keys() | new.keys() if old.get(rel) != new.get(rel)}


def test_the_corpus_has_a_defect_for_every_fix() -> None:
    assert set().union(*map(_codes, FIX_ROWS)) >= FIXABLE - {"PC003"}  # PC003: above


@pytest.mark.parametrize("row", FIX_ROWS, ids=[row["id"] for row in FIX_ROWS])
def test_fix_repairs_each_fixable_corpus_defect_and_touches_nothing_else(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], row: dict[str, Any]
) -> None:
    repo = copy_repo(generate())
    apply(repo, row)
    _commit(repo)
    before = validate(repo)
    assert {f.code for f in before.findings} == _codes(row)
    reported = {f.file for f in before.findings if f.file}
    hashes = _hashes(repo)
    assert main([str(repo), "--fix"]) == 0
    assert not validate(repo).findings
    changed = _differ(hashes, _hashes(repo))
    assert changed and changed <= reported, (changed, reported)


def test_fix_repairs_a_repository_with_every_fixable_defect_at_once(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    for row in FIX_ROWS:
        apply(repo, row)
    _commit(repo)
    before = validate(repo)
    assert {f.code for f in before.findings} == set().union(*map(_codes, FIX_ROWS))
    reported = {f.file for f in before.findings if f.file}
    hashes = _hashes(repo)
    for _ in range(3):  # one fix per file and run: a file with two fixes needs two
        main([str(repo), "--fix"])
        if not validate(repo).findings:
            break
        _commit(repo)  # the fixed files are reviewed and committed before the next run
    assert not validate(repo).findings
    assert _differ(hashes, _hashes(repo)) <= reported


# Slow: --fix on each of the corpus' ~70 rows (three validations each); the fast tier
# keeps the fixable rows one by one and all at once above.
@pytest.mark.slow
@pytest.mark.parametrize("row", ROWS, ids=[row["id"] for row in ROWS])
def test_fix_on_any_corpus_defect_changes_only_what_it_fixes(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], row: dict[str, Any]
) -> None:
    """Every row, fixable or not: a file changes only when a fixable finding named it."""
    repo = copy_repo(generate())
    apply(repo, row)
    _commit(repo)
    before = validate(repo)
    fixable = {f.file for f in before.findings if f.code in FIXABLE and f.file}
    hashes = _hashes(repo)
    main([str(repo), "--fix"])
    assert _differ(hashes, _hashes(repo)) <= fixable
    assert not [f for f in validate(repo).findings if f.code in FIXABLE]
