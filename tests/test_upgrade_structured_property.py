"""Property: whatever a team did to its YAML, INI and ignore files (indentation
style, comments, key order, added and removed entries, either spelling of a key),
merging a template change never writes a file that does not parse and never loses
a line the team wrote."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from pyscaffoldext.dsproject_ops.answers import build
from pyscaffoldext.dsproject_ops.render import render
from pyscaffoldext.dsproject_ops.upgrade.merge3 import Labels
from pyscaffoldext.dsproject_ops.upgrade.parsecheck import parse_error, resolve
from pyscaffoldext.dsproject_ops.upgrade.plan import CONFLICT, KEPT, MERGED, UPDATED, classify

LABELS = Labels("yours", "template 0.1.0", "template 0.1.1")
TREE = render(build("demo"))
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# (mapping indent, sequence indent, dash offset): the styles teams use.
STYLES = [(2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (3, 3, 0)]
WORD = st.sampled_from(["alpha", "beta", "gamma", "delta", "omega"])


def _template_changes() -> dict[str, tuple[str, str]]:
    """{path: (base, theirs)}: the installed file as the base, and a template release
    that bumps pins, adds entries and removes one."""
    env = TREE["environment.yml"]
    hooks = TREE[".pre-commit-config.yaml"]
    cfg = TREE["setup.cfg"]
    ignore = TREE[".gitignore"]
    return {
        "environment.yml": (
            env,
            env.replace("numpy==2.4.6", "numpy==2.5.0")
            .replace("  - pyyaml==6.0.4\n", "  - pyyaml==6.0.4\n  - rich==14.0\n")
            .replace("  - mkdocs==1.6.1\n", ""),
        ),
        ".pre-commit-config.yaml": (
            hooks,
            hooks.replace("black==26.10.1", "black==27.1.0").replace(
                "      - id: mypy\n",
                "      - id: codespell\n        name: spelling\n        entry: codespell\n"
                "        language: python\n        additional_dependencies: [codespell==2.4]\n"
                "      - id: mypy\n",
            ),
        ),
        "setup.cfg": (
            cfg,
            cfg.replace("numpy==2.4.6", "numpy==2.5.0")
            .replace(
                "extend_ignore = E203, W503\n", "extend_ignore = E203, W503\nmax_complexity = 12\n"
            )
            .replace("[isort]\n", "[coverage:run]\nbranch = True\n\n[isort]\n"),
        ),
        ".gitignore": (
            ignore,
            ignore.replace("/dvc_plots/\n", "/dvc_plots/\n/profiles/\n!/reports/summary.md\n"),
        ),
    }


CHANGES = _template_changes()


def _check(path: str, base: str, ours: str, theirs: str) -> None:
    change = classify(path, base, ours, theirs, LABELS)
    assert parse_error(path, ours) is None, ("the user's file must parse", ours)
    if change.kind in (MERGED, UPDATED):
        assert change.text is not None
        assert parse_error(path, change.text) is None, change.text
        results = [change.text]
    elif change.kind == CONFLICT:
        assert change.text is not None
        for side in ("ours", "theirs"):
            assert parse_error(path, resolve(change.text, side)) is None, (side, change.text)
        results = [change.text]
    else:
        assert change.kind == KEPT, change
        results = [ours]
    kept = {_words(line) for text in results for line in text.splitlines()}
    added = {_words(line) for line in ours.splitlines()} - {
        _words(line) for line in base.splitlines()
    }
    lost = {line for line in added if line and line not in kept}
    # A .gitignore folder pattern hiding DVC pointers is rewritten, and said so.
    lost = {line for line in lost if f"{line} rewritten to" not in change.note}
    assert not lost, (lost, change)


def _words(line: str) -> str:
    """A line as its words: re-indenting (the user's style, applied to the whole
    file) is not losing it."""
    return " ".join(line.split())


# --- YAML ---------------------------------------------------------------------------


def _dump(data: Any, style: tuple[int, int, int]) -> str:
    yaml = YAML()
    yaml.indent(mapping=style[0], sequence=style[1], offset=style[2])
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _with_comments(text: str, where: list[int], words: list[str]) -> str:
    lines = text.splitlines(keepends=True)
    for n, word in zip(where, words):
        lines.insert(n % (len(lines) + 1), f"# team note {word}\n")
    return "".join(lines)


@st.composite
def yaml_edits(draw: st.DrawFn, path: str) -> str:
    base = CHANGES[path][0]
    data = YAML().load(base)
    if path == "environment.yml":
        deps = data["dependencies"]
        for _ in range(draw(st.integers(0, 3))):
            deps.insert(
                draw(st.integers(0, len(deps))), f"{draw(WORD)}-lib=1.{draw(st.integers(0, 9))}"
            )
        for _ in range(draw(st.integers(0, 2))):
            victim = draw(st.integers(0, len(deps) - 1))
            if isinstance(deps[victim], str):
                del deps[victim]
        if draw(st.booleans()):
            pip = next(d for d in deps if isinstance(d, dict))
            pip["pip"].append(f"{draw(WORD)}-pip==2.0")
    else:
        hooks = data["repos"][0]["hooks"]
        for _ in range(draw(st.integers(0, 2))):
            word = draw(WORD)
            hooks.insert(
                draw(st.integers(0, len(hooks))),
                {"id": f"team-{word}", "entry": word, "language": "system"},
            )
        if draw(st.booleans()):
            del hooks[draw(st.integers(0, len(hooks) - 1))]
        if draw(st.booleans()):
            data["repos"].append(
                {
                    "repo": "https://github.com/psf/black",
                    "rev": "23.1.0",
                    "hooks": [{"id": "black"}],
                }
            )
    if draw(st.booleans()):  # key order: the team moved a top-level key first
        keys = list(data)
        key = keys[draw(st.integers(0, len(keys) - 1))]
        value = data.pop(key)
        data.insert(0, key, value)
    text = _dump(data, draw(st.sampled_from(STYLES)))
    where = draw(st.lists(st.integers(0, 500), max_size=3))
    return _with_comments(text, where, [draw(WORD) for _ in where])


@pytest.mark.slow  # many three-way YAML merges
@SETTINGS
@given(data=st.data())
@pytest.mark.parametrize("path", ["environment.yml", ".pre-commit-config.yaml"])
def test_yaml_merges_parse_and_keep_every_team_line(path: str, data: st.DataObject) -> None:
    base, theirs = CHANGES[path]
    _check(path, base, data.draw(yaml_edits(path)), theirs)


# --- INI ----------------------------------------------------------------------------


@st.composite
def ini_edits(draw: st.DrawFn) -> str:
    lines = CHANGES["setup.cfg"][0].splitlines(keepends=True)
    out = []
    for line in lines:
        key = line.split("=", 1)[0].strip()
        single = "=" in line and not line[:1].isspace() and line.split("=", 1)[1].strip()
        if single and "_" in key and draw(st.booleans()):  # the other spelling
            line = line.replace(key, key.replace("_", "-"), 1)
        if (
            single
            and not line.startswith(("name", "dsproject", "version"))
            and draw(st.integers(0, 9)) == 0
        ):
            continue  # the team deleted this option
        out.append(line)
        if line.startswith("[") and draw(st.integers(0, 3)) == 0:
            out.append(f"team_{draw(WORD)} = {draw(WORD)}\n")
        if line == "\n" and draw(st.integers(0, 4)) == 0:
            out.append(f"# team note {draw(WORD)}\n")
    if draw(st.booleans()):
        out.append(f"\n[tool:team]\nsetting = {draw(WORD)}\n")
    return "".join(out)


@SETTINGS
@given(ours=ini_edits())
def test_ini_merges_parse_and_keep_every_team_line(ours: str) -> None:
    base, theirs = CHANGES["setup.cfg"]
    if parse_error("setup.cfg", ours):
        return  # two options of one meaning by the team itself: not an input we make
    _check("setup.cfg", base, ours, theirs)


# --- .gitignore -----------------------------------------------------------------------

TEAM_PATTERNS = st.sampled_from(
    ["/data/", "data", "*.log", "/scratch/", "!keep.me", "# team rules", "/models/", ".env", ""]
)


@SETTINGS
@given(
    removed=st.lists(st.integers(0, 200), max_size=4),
    added=st.lists(st.tuples(st.integers(0, 200), TEAM_PATTERNS), max_size=5),
)
def test_ignore_merges_keep_every_team_line(
    removed: list[int], added: list[tuple[int, str]]
) -> None:
    base, theirs = CHANGES[".gitignore"]
    lines = base.splitlines(keepends=True)
    for n in removed:
        if lines:
            del lines[n % len(lines)]
    for n, pattern in added:
        lines.insert(n % (len(lines) + 1), pattern + "\n")
    _check(".gitignore", base, "".join(lines), theirs)
