"""Issue 19: a corpus of real-world defects, each caught by the static run where it is.

``tests/defects/corpus.yaml`` lists mistakes users make in the files the template
writes (CI, pre-commit, DVC, packaging, conda, Docker, Kubernetes, Compose, MkDocs,
docs, notebooks, sources), most with the issue or page where someone made them.
Each row changes ONE file of a freshly generated repository in one way; the static
``dsops validate`` run (no external tool) must report exactly the expected code, at
the expected file and line, and nothing else.

A row: ``id``, ``file`` (the one file changed), ``source`` (where the mistake was
seen), one edit, and ``expect``: ``code``, ``file`` (default: the changed file) and
the line: ``at`` (the first line containing this text after the edit; ``at_last``
the last one; plus ``offset`` lines), ``line`` (a number) or neither (the finding names the file, no line).
Edits: ``replace: [old, new]`` (the first occurrence), ``insert_after`` /
``insert_before: [line containing, text]``, ``append: text``, ``delete: line
containing``, ``write: text`` (a new file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from ruamel.yaml import YAML

from pyscaffoldext.dsproject_ops.validate.formats.human import render as human
from pyscaffoldext.dsproject_ops.validate.registry import all_checks
from pyscaffoldext.dsproject_ops.validate.runner import validate

CORPUS = Path(__file__).with_name("defects") / "corpus.yaml"
ROWS: list[dict[str, Any]] = YAML(typ="safe").load(CORPUS.read_text(encoding="utf-8"))
EDITS = ("replace", "insert_after", "insert_before", "append", "delete", "write")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def apply(repo: Path, row: dict[str, Any]) -> None:
    """The row's one edit of its one file."""
    path = repo / row["file"]
    (kind,) = [k for k in EDITS if k in row]
    arg = row[kind]
    if kind == "write":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(arg, encoding="utf-8")
        return
    text = path.read_text(encoding="utf-8")
    if kind == "replace":
        old, new = arg
        assert old in text, f"{row['id']}: {old!r} not in {row['file']}: the template changed"
        text = text.replace(old, new, 1)
    elif kind == "append":
        text = (text if text.endswith("\n") else text + "\n") + arg
    else:
        lines = text.split("\n")
        contains = arg if kind == "delete" else arg[0]
        hits = [i for i, line in enumerate(lines) if contains in line]
        assert hits, f"{row['id']}: no line of {row['file']} contains {contains!r}"
        if kind == "delete":
            del lines[hits[0]]
        else:
            lines[hits[0] + (kind == "insert_after") : hits[0] + (kind == "insert_after")] = arg[
                1
            ].split("\n")
        text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")


def expected_line(repo: Path, rel: str, expect: dict[str, Any]) -> int | None:
    if "line" in expect:
        return int(expect["line"])
    needle = expect.get("at") or expect.get("at_last")
    if needle is None:
        return None
    lines = (repo / rel).read_text(encoding="utf-8").split("\n")
    hits = [i for i, line in enumerate(lines, 1) if needle in line]
    assert hits, f"{needle!r} not in {rel} after the edit"
    return (hits[-1] if "at_last" in expect else hits[0]) + int(expect.get("offset", 0))


def test_the_corpus_is_well_formed_and_wide() -> None:
    ids = [row["id"] for row in ROWS]
    assert len(ids) == len(set(ids)) >= 40
    codes = {c.code for c in all_checks()}
    for row in ROWS:
        assert sum(k in row for k in EDITS) == 1, row["id"]
        assert row["expect"]["code"] in codes, row["id"]
        assert row.get("source"), row["id"]
    kinds = {_kind(row["file"]) for row in ROWS}
    assert kinds >= {
        "gitlab-ci", "github-workflow", "dependabot", "pre-commit", "dvc.yaml", "params.yaml",
        "dvc-config", "setup.cfg", "pyproject.toml", "environment.yml", "Dockerfile",
        ".dockerignore", ".gitignore", "k8s", "compose", "mkdocs", "docs", "notebook", "src",
    }, kinds


def _kind(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    if rel.startswith(".github/workflows/"):
        return "github-workflow"
    if rel.startswith(".github/dependabot"):
        return "dependabot"
    if rel.startswith("k8s/"):
        return "k8s"
    if rel.startswith("src/"):
        return "src"
    if rel.endswith(".ipynb"):
        return "notebook"
    if rel.endswith(".md"):
        return "docs"
    return {
        ".gitlab-ci.yml": "gitlab-ci",
        ".pre-commit-config.yaml": "pre-commit",
        "config": "dvc-config",
        "compose.yaml": "compose",
        "mkdocs.yml": "mkdocs",
    }.get(name, name)


@pytest.mark.parametrize("row", ROWS, ids=[row["id"] for row in ROWS])
def test_each_defect_is_caught_at_its_file_and_line(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], row: dict[str, Any]
) -> None:
    repo = copy_repo(generate())
    apply(repo, row)
    expect = row["expect"]
    rel = expect.get("file", row["file"])
    line = expected_line(repo, rel, expect)
    result = validate(repo)
    assert {f.code for f in result.findings} == {expect["code"]}, human(result)
    here = [(f.file, f.line) for f in result.findings]
    assert (rel, line) in here, human(result)
