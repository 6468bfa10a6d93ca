"""The pure merges: line merges (git's merge-file), structured merges, and a
property: whatever random edits a user made, every line they added survives."""

from __future__ import annotations

import shutil
from pathlib import Path

import test_upgrade_fixtures as fx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_upgrade_fixtures import (
    OldTemplate,
    commit_all,
    git,
    make_old_repo,
    old_answers,
)

from pyscaffoldext.dsproject_ops.render import render
from pyscaffoldext.dsproject_ops.upgrade.merge3 import Labels, merge
from pyscaffoldext.dsproject_ops.upgrade.plan import (
    CONFLICT,
    DELETED,
    MERGED,
    UPDATED,
    plan,
)
from pyscaffoldext.dsproject_ops.upgrade.structured import merge_structured

LABELS = Labels("yours", "template 0.0.9", "template 0.1.0")

# the shared fixtures, used by name
old_history = fx.old_history
old_template = fx.old_template


def test_line_merge_marks_overlaps_with_clear_labels() -> None:
    done = merge("a\nb\nc\n", "a\nB1\nc\nd\n", "a\nB2\nc\n", LABELS)
    assert done.conflicts == 1
    assert done.text == (
        "a\n<<<<<<< yours\nB1\n||||||| template 0.0.9\nb\n=======\nB2\n"
        ">>>>>>> template 0.1.0\nc\nd\n"
    )
    clean = merge("a\nb\nc\n", "a\nb\nc\nmine\n", "theirs\na\nb\nc\n", LABELS)
    assert clean.conflicts == 0 and clean.text == "theirs\na\nb\nc\nmine\n"


def test_gitignore_keeps_both_additions_and_applies_removals() -> None:
    base = "# data\n/data/*\n/mlruns/\n"
    ours = base + "/mine/\n"
    theirs = "# data\n/data/*\n/mlartifacts/\n"
    done = merge_structured(".gitignore", base, ours, theirs, LABELS)
    assert done is not None and done.conflicts == 0
    assert done.text == "# data\n/data/*\n/mlartifacts/\n/mine/\n"


def test_environment_pins_bump_and_user_dependencies_stay() -> None:
    base = "name: x\ndependencies:\n  - python=3.11\n  - numpy==2.3.0\n  - pip\n"
    ours = base.replace("  - pip\n", "  - requests=2.32\n  - pip\n")
    theirs = base.replace("2.3.0", "2.4.6") + "  - pyyaml==6.0.4\n"
    done = merge_structured("environment.yml", base, ours, theirs, LABELS)
    assert done is not None and done.conflicts == 0
    assert done.text == (
        "name: x\ndependencies:\n  - python=3.11\n  - numpy==2.4.6\n  - requests=2.32\n"
        "  - pip\n  - pyyaml==6.0.4\n"
    )
    # Both changed the same pin: a one-line conflict, nothing else.
    mine = base.replace("2.3.0", "2.3.5")
    clash = merge_structured("environment.yml", base, mine, theirs, LABELS)
    assert clash is not None and clash.conflicts == 1
    assert "  - numpy==2.3.5\n||||||| template 0.0.9\n  - numpy==2.3.0\n=======\n" in clash.text


def test_setup_cfg_sections_requirements_and_new_sections() -> None:
    base = (
        "[metadata]\nname = x\n\n[options]\ninstall_requires =\n    numpy==2.3.0\n"
        "    pandas==3.0\n\n[flake8]\nmax_line_length = 88\n"
    )
    ours = base.replace("    pandas==3.0\n", "    pandas==3.0\n    requests==2.0\n") + (
        "\n[tool:mine]\nx = 1\n"
    )
    theirs = base.replace("2.3.0", "2.4.6").replace("[flake8]", "[mypy]\nstrict = True\n\n[flake8]")
    done = merge_structured("setup.cfg", base, ours, theirs, LABELS)
    assert done is not None and done.conflicts == 0
    assert "    numpy==2.4.6\n    pandas==3.0\n    requests==2.0\n" in done.text
    assert "[mypy]\nstrict = True\n\n[flake8]" in done.text
    assert done.text.endswith("[tool:mine]\nx = 1\n")


def test_pre_commit_hooks_user_hook_kept_and_pin_bumped() -> None:
    hook = (
        "      - id: {0}\n        entry: {0}\n        language: python\n"
        "        additional_dependencies: [{0}=={1}]\n"
    )
    base = (
        "repos:\n  - repo: local\n    hooks:\n"
        + hook.format("black", "25.1")
        + hook.format("flake8", "7.0")
    )
    ours = base + "      - id: mine\n        entry: true\n        language: system\n"
    theirs = base.replace("black==25.1", "black==26.10")
    done = merge_structured(".pre-commit-config.yaml", base, ours, theirs, LABELS)
    assert done is not None and done.conflicts == 0
    assert "black==26.10" in done.text and "id: mine" in done.text


# --- the property ---------------------------------------------------------------------

WORDS = st.text(alphabet="abcxyz019 _-#:.", min_size=0, max_size=16)
EDIT = st.tuples(st.sampled_from(["insert", "delete", "replace"]), st.integers(0, 10_000), WORDS)


def _apply(text: str, edits: list[tuple[str, int, str]]) -> str:
    lines = text.splitlines(keepends=True)
    for kind, where, word in edits:
        n = where % (len(lines) + 1)
        if kind == "insert":
            lines.insert(n, f"user {word}\n")
        elif lines and kind == "delete":
            del lines[n % len(lines)]
        elif lines:
            lines[n % len(lines)] = f"user edit {word}\n"
    return "".join(lines)


def _check(
    base: dict[str, str],
    theirs: dict[str, str],
    ours: dict[str, str | None],
    results: dict[str, str | None],
) -> None:
    """Every line the user added is in the result; a conflict holds both sides; a
    merged or updated file holds every line the template added."""
    for path, mine in ours.items():
        if mine is None or path not in results:
            continue
        result = results[path]
        assert result is not None, path
        # Compared by their words, as the upgrade's own check does: a YAML file the
        # tree merge writes again keeps every line's words, not its blanks ("user 0: "
        # comes back "user 0:", "user 0:  0" as "user 0: 0").
        got = _lines(result)
        added = _lines(mine) - _lines(base.get(path) or "")
        assert added <= got, (path, added - got)
        if path in theirs and path in base and result != mine:
            new = _lines(theirs[path]) - _lines(base[path])
            assert new <= got, (path, new - got)


def _lines(text: str) -> set[str]:
    return {" ".join(line.split()) for line in text.splitlines()}


def _results(changes: list) -> dict[str, str | None]:  # type: ignore[type-arg]
    out: dict[str, str | None] = {}
    for c in changes:
        if c.kind in (MERGED, CONFLICT, UPDATED):
            out[c.path] = c.text
        elif c.kind != DELETED and c.ours is not None:
            out[c.path] = c.ours
    return out


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_user_edits_survive_the_upgrade_in_memory(
    old_history: OldTemplate, data: st.DataObject
) -> None:
    answers = old_answers()
    base = render(answers, root=old_history.root)
    theirs = render(answers)
    paths = data.draw(st.lists(st.sampled_from(sorted(base)), min_size=1, max_size=6, unique=True))
    ours: dict[str, str | None] = dict(base)
    for path in paths:
        edits = data.draw(st.lists(EDIT, min_size=1, max_size=8))
        ours[path] = _apply(base[path], edits)
    changes = plan(base, theirs, ours, LABELS)
    results = _results(changes)
    _check(base, theirs, ours, results)
    for c in changes:
        if c.kind == CONFLICT:
            assert c.text is not None and "<<<<<<< yours\n" in c.text
            assert ">>>>>>> template 0.1.0\n" in c.text


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_user_edits_survive_a_real_upgrade(
    old_history: OldTemplate, tmp_path_factory: object, data: st.DataObject
) -> None:
    import tempfile

    from pyscaffoldext.dsproject_ops.upgrade.apply import upgrade

    answers = old_answers()
    base = render(answers, root=old_history.root)
    theirs = render(answers)
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_old_repo(old_history, Path(tmp) / "demo")
        # setup.cfg's record says "do not edit by hand": the pure test edits it.
        editable = sorted(p for p in base if p != "setup.cfg")
        paths = data.draw(st.lists(st.sampled_from(editable), min_size=1, max_size=5, unique=True))
        ours: dict[str, str | None] = dict(base)
        for path in paths:
            edited = _apply(base[path], data.draw(st.lists(EDIT, min_size=1, max_size=6)))
            (repo / path).write_text(edited, encoding="utf-8")
            ours[path] = edited
        commit_all(repo)
        outcome = upgrade(repo)
        results = {p: (repo / p).read_text(encoding="utf-8") for p in ours if (repo / p).exists()}
        _check(base, theirs, ours, results)
        unmerged = {line.split("\t")[1] for line in git(repo, "ls-files", "-u").splitlines()}
        assert unmerged == {c.path for c in outcome.conflicts}
        shutil.rmtree(repo)
