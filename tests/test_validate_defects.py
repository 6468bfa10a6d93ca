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
the last one; plus ``offset`` lines), ``line`` (a number) or neither (the finding
names the file, no line).
``also`` lists further expected findings (the same keys), for a defect that rightly
breaks two rules (a pin changed in one of three places that must agree).
Edits: ``replace: [old, new]`` (the first occurrence), ``insert_after`` /
``insert_before: [line containing, text]``, ``append: text``, ``delete: line
containing``, ``write: text`` (a new file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from defects.corpus import EDITS, ROWS, apply, expected_line

from pyscaffoldext.dsproject_ops.validate.formats.human import render as human
from pyscaffoldext.dsproject_ops.validate.registry import all_checks
from pyscaffoldext.dsproject_ops.validate.runner import validate


@pytest.fixture(autouse=True)
def _own_cache(validate_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never the user's cache (PC001, the schemas and SYN006 remember what passed):
    # the session's own, shared by its tests (conftest.validate_cache).
    monkeypatch.setenv("XDG_CACHE_HOME", str(validate_cache))


def test_the_corpus_is_well_formed_and_wide() -> None:
    ids = [row["id"] for row in ROWS]
    assert len(ids) == len(set(ids)) >= 40
    codes = {c.code for c in all_checks()}
    for row in ROWS:
        assert sum(k in row for k in EDITS) == 1, row["id"]
        assert row["expect"]["code"] in codes, row["id"]
        assert all(e["code"] in codes for e in row.get("also", [])), row["id"]
        assert row.get("source"), row["id"]
    kinds = {_kind(row["file"]) for row in ROWS}
    assert kinds >= {
        "gitlab-ci",
        "github-workflow",
        "dependabot",
        "pre-commit",
        "dvc.yaml",
        "params.yaml",
        "dvc-config",
        "setup.cfg",
        "pyproject.toml",
        "environment.yml",
        "Dockerfile",
        ".dockerignore",
        ".gitignore",
        "k8s",
        "compose",
        "mkdocs",
        "docs",
        "notebook",
        "src",
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
    expected = [row["expect"], *row.get("also", [])]
    result = validate(repo)
    assert {f.code for f in result.findings} == {e["code"] for e in expected}, human(result)
    for expect in expected:
        rel = expect.get("file", row["file"])
        line = expected_line(repo, rel, expect)
        here = [(f.file, f.line) for f in result.findings if f.code == expect["code"]]
        assert (rel, line) in here, human(result)
