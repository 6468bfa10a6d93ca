"""Adoption of real repositories we did not make (tests/corpus/), by both commands.

For each corpus repository and each of ``dsops upgrade`` and
``putup --update --dsproject-ops .``: no line the team wrote is lost, every
YAML/TOML/INI/JSON file parses (after the upgrade, and with every conflict resolved
to either side), untracked and ignored files are byte-identical, the team's package
is neither shadowed nor doubled, it still builds (``pip wheel --no-deps
--no-build-isolation .``, offline) and imports, ``dsops validate`` names only files
that exist, and ``--abort`` restores the files, the index and ``git status``.

The peer tools are installed once per machine (tests/corpus/peers.py) and each
repository is made once per session and copied per test.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path
from typing import Callable, Iterator

import pytest
from conftest import BIN, base_env
from corpus.peers import peer
from corpus.repos import CORPUS, IDENTITY, build

pytestmark = pytest.mark.e2e

COMMANDS = {
    "dsops": [str(BIN / "dsops"), "upgrade"],
    "putup": [str(BIN / "putup"), "--update", "--dsproject-ops", "."],
}
INI_NAMES = {"setup.cfg", "tox.ini", ".flake8", ".isort.cfg", ".coveragerc", ".dvc/config"}
# Lines a migration rewrites on purpose (pyscaffoldext-dsproject's extension name and
# the PyScaffold version of the record).
MIGRATED = {"    dsproject", "version = 4.6"}
# An ignore pattern that hid DVC pointer files stays in the file as this comment above
# its rewrite (upgrade/ignore.py), and the upgrade's report names it.
KEPT_AS_COMMENT = "# {line}  ({how} by dsops upgrade so DVC pointer files stay trackable)"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    made: dict[str, Path] = {}

    def get(kind: str) -> Path:
        if kind not in made:
            made[kind] = build(kind, tmp_path_factory.mktemp(f"corpus-{kind}"))
        return made[kind]

    return get


def _env() -> dict[str, str]:
    return {**base_env(), **IDENTITY}


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=_env())
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def _copy(corpus: Callable[[str], Path], kind: str, tmp_path: Path) -> Path:
    source = corpus(kind)
    repo = tmp_path / source.name
    shutil.copytree(source, repo, symlinks=True)
    return repo


def _files(repo: Path) -> Iterator[str]:
    for folder, dirs, names in os.walk(repo):
        dirs[:] = [d for d in dirs if not (folder == str(repo) and d == ".git")]
        for name in names:
            yield os.path.relpath(os.path.join(folder, name), repo)


def _snapshot(repo: Path) -> dict[str, bytes]:
    return {rel: (repo / rel).read_bytes() for rel in _files(repo)}


def _state(repo: Path) -> tuple[dict[str, bytes], str, str]:
    status = _git(repo, "status", "--porcelain=v1", "--ignored", "-uall")
    return _snapshot(repo), _git(repo, "ls-files", "-s"), status


def _unmerged(repo: Path) -> list[str]:
    return sorted(set(_git(repo, "diff", "--name-only", "--diff-filter=U").splitlines()))


def _unparsable(repo: Path, skip: list[str] = [], only: list[str] | None = None) -> dict[str, str]:
    """Tracked YAML/TOML/INI/JSON files that do not parse: {path: why}."""
    from ruamel.yaml import YAML

    bad = {}
    names = sorted(set(_git(repo, "ls-files").splitlines())) if only is None else only
    for rel in names:
        path = repo / rel
        if rel in skip or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            if rel.endswith((".yml", ".yaml")):
                list(YAML(typ="safe", pure=True).load_all(text))
            elif rel.endswith(".toml"):
                tomllib.loads(text)
            elif rel.endswith((".json", ".ipynb")):
                json.loads(text)
            elif rel in INI_NAMES or rel.endswith((".cfg", ".ini")):
                configparser.RawConfigParser(strict=True).read_string(text)
        except Exception as exc:  # every parser's own error type
            bad[rel] = str(exc).splitlines()[0]
    return bad


def _resolve(repo: Path, side: str) -> None:
    conflicted = _unmerged(repo)
    if conflicted:
        _git(repo, "checkout", f"--{side}", "--", *conflicted)


def _kept_as_comment(line: str, now: set[str], report: str) -> bool:
    """A rewritten ignore pattern: its text is still a line of the file (a comment
    above the rewrite) and the report says it was rewritten."""
    return (
        KEPT_AS_COMMENT.format(line=line, how="rewritten") in now
        and f"{line} rewritten to " in report
    )


def _lost_lines(before: dict[str, bytes], repo: Path, report: str) -> dict[str, list[str]]:
    lost = {}
    for rel, data in before.items():
        path = repo / rel
        if not path.exists():
            lost[rel] = ["(file deleted)"]
            continue
        # Compared without indentation: a YAML merge may re-indent a list it keeps.
        now = {line.strip() for line in path.read_bytes().decode("utf-8", "replace").splitlines()}
        gone = [
            line
            for line in data.decode("utf-8", "replace").splitlines()
            if line.strip() not in now
            and line not in MIGRATED
            and not _kept_as_comment(line.strip(), now, report)
        ]
        if gone:
            lost[rel] = gone
    return lost


def _build_and_import(repo: Path, packages: tuple[str, ...], tmp_path: Path) -> None:
    builder = peer("builder")
    dist = tmp_path / "dist"
    done = subprocess.run(
        [str(builder / "pip"), "wheel", "--no-deps", "--no-build-isolation", "-q", "-w"]
        + [str(dist), "."],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**_env(), "PIP_NO_INDEX": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = dist.glob("*.whl")
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(unpacked)
    for package in packages:
        imported = subprocess.run(
            [str(builder / "python"), "-c", f"import {package}; print({package}.__file__)"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**_env(), "PYTHONPATH": str(unpacked)},
        )
        assert imported.returncode == 0, imported.stderr[-2000:]
        assert str(unpacked) in imported.stdout, imported.stdout


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("kind", list(CORPUS))
def test_adoption_of_the_corpus(
    kind: str, command: str, corpus: Callable[[str], Path], tmp_path: Path
) -> None:
    repo = _copy(corpus, kind, tmp_path)
    tracked_before = {rel: (repo / rel).read_bytes() for rel in _git(repo, "ls-files").splitlines()}
    others_before = {r: d for r, d in _snapshot(repo).items() if r not in tracked_before}
    assert others_before, "every corpus repository has untracked or ignored files"

    done = subprocess.run(COMMANDS[command], cwd=repo, capture_output=True, text=True, env=_env())
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.stdout.startswith(f"adopting {repo.name}"), output
    conflicted = _unmerged(repo)
    assert done.returncode == (1 if conflicted else 0), output
    if command == "putup" and conflicted:
        assert "ERROR: conflicts remain" in output

    # Nothing the team wrote is lost; untracked and ignored files are untouched.
    assert _lost_lines(tracked_before, repo, output) == {}
    after = _snapshot(repo)
    assert {r: after.get(r) for r in others_before} == others_before

    # The team's package is found and kept: never a second package, never shadowed.
    layout_pkgs = CORPUS[kind].packages
    for rel in tracked_before:
        if rel.endswith("/__init__.py"):
            module = rel[: -len("/__init__.py")] + ".py"
            if module not in tracked_before:
                assert not (repo / module).exists(), f"{module} shadows the package {rel}"
    if kind in ("ccds-v2", "ccds-v1", "hand-made"):
        from pyscaffoldext.dsproject_ops.repository.layout import packages

        found = packages(_git(repo, "ls-files").splitlines())
        assert [p.folder for p in found] == ["src" if kind == "ccds-v1" else layout_pkgs[0]], found
    if kind == "dsproject":
        record = (repo / "setup.cfg").read_text(encoding="utf-8")
        assert "\n    dsproject_ops\n" in record and "\n    dsproject\n" not in record
        assert "note: requirements.txt:1: pandas==1.5.3" in done.stdout

    # Every file parses: as written, then with each conflict resolved to either side.
    written = _unparsable(repo, skip=conflicted)
    for side in ("theirs", "ours"):
        _resolve(repo, side)
        assert _unparsable(repo, only=conflicted) == {}, side

    # Resolved to the team's side: the package builds offline and imports.
    _build_and_import(repo, layout_pkgs, tmp_path)

    # dsops validate: runs, and every finding names a file that exists.
    checked = subprocess.run(
        [str(BIN / "dsops"), "validate", "."], cwd=repo, capture_output=True, text=True, env=_env()
    )
    assert checked.returncode in (0, 1), checked.stdout + checked.stderr
    assert "Traceback" not in checked.stderr
    for line in checked.stdout.splitlines():
        if "] " in line and line.startswith("  ") and ": " in line and "[" in line:
            where = line.strip().split(":", 1)[0]
            if "/" in where or "." in where:
                assert (repo / where).exists(), line
    # Last, so that everything above is checked for every repository: files the
    # upgrade wrote (merged cleanly) parse.
    assert written == {}


@pytest.mark.parametrize("kind", list(CORPUS))
def test_abort_restores_an_adopted_corpus_repository(
    kind: str, corpus: Callable[[str], Path], tmp_path: Path
) -> None:
    repo = _copy(corpus, kind, tmp_path)
    before = _state(repo)
    done = subprocess.run(COMMANDS["dsops"], cwd=repo, capture_output=True, text=True, env=_env())
    assert done.returncode in (0, 1), done.stdout + done.stderr
    # after a clean upgrade too (0), as long as nothing was committed
    aborted = subprocess.run(
        [str(BIN / "dsops"), "upgrade", "--abort"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert aborted.returncode == 0, aborted.stderr
    assert _state(repo) == before


@pytest.mark.parametrize("kind", ["dsproject", "ccds-v1"])
def test_putup_update_adopts_exactly_as_dsops_upgrade(
    kind: str, corpus: Callable[[str], Path], tmp_path: Path
) -> None:
    results = []
    for command in COMMANDS:
        repo = _copy(corpus, kind, tmp_path / command)
        subprocess.run(COMMANDS[command], cwd=repo, capture_output=True, text=True, env=_env())
        results.append((_snapshot(repo), _git(repo, "ls-files", "-s")))
    assert results[0] == results[1]


def test_putup_update_dry_run_writes_nothing(corpus: Callable[[str], Path], tmp_path: Path) -> None:
    repo = _copy(corpus, "dsproject", tmp_path)
    before = _state(repo)
    done = subprocess.run(
        [*COMMANDS["putup"], "--pretend"], cwd=repo, capture_output=True, text=True, env=_env()
    )
    # 0; or 1 where a dry run that would leave conflicts says so (fleet pre-screening)
    assert done.returncode == 0 or "would leave conflicts" in done.stdout, done.stdout
    assert "dry run: nothing was written" in done.stdout
    assert "extensions were not found" not in done.stdout + done.stderr
    assert _state(repo) == before


# The root .gitignore merge re-includes DVC pointer files that the team's `/data/`
# (ccds v1, v2), `data/**` (kedro) or `data/processed/` (hand-made) hides.
@pytest.mark.parametrize("kind", list(CORPUS))
def test_dvc_pointer_files_stay_trackable_after_adoption(
    kind: str, corpus: Callable[[str], Path], tmp_path: Path
) -> None:
    repo = _copy(corpus, kind, tmp_path)
    ignored_before = _git(repo, "status", "--porcelain", "--ignored", "-uall")
    subprocess.run(COMMANDS["dsops"], cwd=repo, capture_output=True, text=True, env=_env())
    for rel in ("data/raw/sensors.csv.dvc", "data/processed/features.csv.dvc"):
        pointer = repo / rel
        pointer.parent.mkdir(parents=True, exist_ok=True)
        pointer.write_text("outs:\n- path: x\n", encoding="utf-8")
        status = _git(repo, "status", "--porcelain", "--ignored", "-uall", "--", rel)
        assert status.startswith("?? "), (rel, status)
    # and what the team ignored stays ignored (but the empty placeholders the template
    # tracks, which a merged .gitignore may let through)
    for line in ignored_before.splitlines():
        if line.startswith("!! ") and not line.endswith("/.gitkeep"):
            rel = line[3:]
            assert _git(repo, "status", "--porcelain", "--ignored", "--", rel).startswith("!! ")
