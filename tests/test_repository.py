"""The repository model: one listing, bounded reads, one reader per file kind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyscaffoldext.dsproject_ops.repository import MAX_ALIAS_NODES, MAX_DEPTH, Repository
from pyscaffoldext.dsproject_ops.repository import requirements as reqs
from pyscaffoldext.dsproject_ops.repository.formats import kind_of
from pyscaffoldext.dsproject_ops.repository.layout import Package, packages
from pyscaffoldext.dsproject_ops.repository.yamlread import load_yaml, parse_yaml

BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def make_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def test_listing_tracked_untracked_ignored(tmp_path: Path) -> None:
    root = make_repo(
        tmp_path / "r",
        {
            ".gitignore": "*.log\n/data/\n",
            "setup.cfg": "[metadata]\nname = x\n",
            "src/pkg/__init__.py": "",
            "data/raw/big.csv": "a,b\n",
            "run.log": "x\n",
        },
    )
    git(root, "add", ".gitignore", "setup.cfg", "src")
    (root / "notes.txt").write_text("new\n", encoding="utf-8")
    repo = Repository(root)
    assert repo.git
    assert repo.tracked == [".gitignore", "setup.cfg", "src/pkg/__init__.py"]
    assert repo.files == repo.tracked
    assert repo.untracked == ["notes.txt"]
    assert repo.ignored == ["data/", "run.log"]
    assert repo.tracked_modes is not None and repo.tracked_modes["setup.cfg"] == "100644"
    assert repo.git_ignored("data/raw/new.csv") and repo.git_ignored("x/y.log")
    assert not repo.git_ignored("src/pkg/__init__.py")


def test_listing_without_git_walks_and_skips_tool_folders(tmp_path: Path) -> None:
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "x.py").write_text("", encoding="utf-8")
    (tmp_path / "a.py").write_text("", encoding="utf-8")
    repo = Repository(tmp_path)
    assert not repo.git and repo.tracked is None
    assert repo.files == ["a.py"] and repo.untracked == []


def test_each_file_is_read_and_parsed_once(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"params.yaml": "train:\n  seed: 1\n"})
    repo = Repository(root)
    first = repo.yaml("params.yaml")
    assert first is not None and first.data == {"train": {"seed": 1}}
    (root / "params.yaml").write_text("changed: 2\n", encoding="utf-8")
    assert repo.yaml("params.yaml") is first  # parsed once, cached
    assert repo.text("params.yaml") == "train:\n  seed: 1\n"
    assert first.line("train", "seed") == 2 and first.column("train", "seed") == 3


def test_missing_file_is_absent_not_broken(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    assert repo.yaml("nope.yml") is None and not repo.broken("nope.yml")
    assert repo.read("nope.yml") == (None, None)


def test_readers_by_kind(tmp_path: Path) -> None:
    root = make_repo(
        tmp_path / "r",
        {
            "pyproject.toml": '[project]\nname = "x"\n',
            "setup.cfg": "[flake8]\nmax-line-length = 100\n",
            "bad.cfg": "[a]\nk = 1\nk = 2\n",
            "x.json": '{"a": [1, 2]}',
            ".dvc/config": "['remote \"s\"']\n    url = /tmp/s\n",
            "requirements.txt": (
                "# pins\nnumpy==2.0  # why\n-e .\n"
                "pandas>=2,<3 \\\n  ; python_version>'3'\nnot a req!\n"
            ),
        },
    )
    repo = Repository(root)
    assert repo.data("pyproject.toml") == {"project": {"name": "x"}}
    assert repo.data("setup.cfg") == {"flake8": {"max-line-length": "100"}}
    bad = repo.ini("bad.cfg")
    assert bad is not None and bad.error is not None and bad.error.line == 3
    assert repo.data("x.json") == {"a": [1, 2]}
    assert repo.data(".dvc/config") == {"'remote \"s\"'": {"url": "/tmp/s"}}
    assert repo.line_of("setup.cfg", "flake8", "max-line-length") == 2
    found = repo.requirements("requirements.txt")
    assert found is not None
    assert [(r.name, r.specifier, r.line) for r in found[:2]] == [
        ("numpy", "==2.0", 2),
        ("pandas", "<3,>=2", 4),
    ]
    assert found[0].pinned == "2.0" and found[1].marker == 'python_version > "3"'
    assert found[2].error and found[2].line == 6
    assert kind_of("dvc.lock") == "yaml" and kind_of("a/.flake8") == "ini"


def test_requirement_names_are_canonical() -> None:
    assert reqs.parse("Scikit_Learn[all]>=1").name == "scikit-learn"
    assert reqs.parse("Scikit_Learn[all]>=1").extras == ("all",)
    assert reqs.parse("x @ https://example.com/x.whl").url == "https://example.com/x.whl"


def test_yaml_tags_positions_and_errors() -> None:
    parsed = parse_yaml("a:\n  b: !reference [.x, y]\n  c:\n    - 1\n    - 2\n")
    assert parsed.data == {"a": {"b": [".x", "y"], "c": [1, 2]}}
    assert parsed.line("a", "c", 1) == 5
    broken = parse_yaml("a: [1\nb: 2\n")
    assert broken.error is not None and broken.error.line is not None
    with pytest.raises(ValueError, match="line"):
        load_yaml("a: [1\nb: 2\n")


def test_alias_bomb_is_refused_not_expanded() -> None:
    parsed = parse_yaml(BOMB)
    assert parsed.error is not None and parsed.error.unreadable
    assert parsed.error.message == f"alias expansion exceeds {MAX_ALIAS_NODES} nodes"


def test_modest_aliases_still_parse() -> None:
    text = "base: &b {image: x, script: [a, b]}\njob1: *b\njob2:\n  <<: *b\n  stage: t\n"
    parsed = parse_yaml(text)
    assert parsed.error is None and parsed.data["job2"]["image"] == "x"
    assert parsed.line("job2", "stage") == 5


def test_deep_nesting_is_a_finding_not_a_crash() -> None:
    parsed = parse_yaml("a: " + "[" * 990 + "]" * 990 + "\n")
    assert parsed.error is not None and parsed.error.unreadable
    assert parsed.error.message == f"nesting deeper than {MAX_DEPTH} levels"
    block = "".join("  " * i + "- \n" for i in range(990)) + "  " * 990 + "- x\n"
    assert parse_yaml(block).error is not None


def test_recursive_alias_is_refused() -> None:
    parsed = parse_yaml("a: &a [*a]\n")
    assert parsed.error is not None


def test_roundtrip_keeps_comments_and_bounds(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"a.yml": "# top\nx: 1  # why\n", "b.yml": BOMB})
    repo = Repository(root)
    tree = repo.yaml_roundtrip("a.yml")
    assert tree is not None and tree.error is None and tree.data["x"] == 1
    from io import StringIO

    from ruamel.yaml import YAML

    out = StringIO()
    YAML().dump(tree.data, out)
    assert out.getvalue() == "# top\nx: 1  # why\n"
    bomb = repo.yaml_roundtrip("b.yml")
    assert bomb is not None and bomb.error is not None and "alias expansion" in bomb.error.message


def test_too_large_and_not_utf8_say_why(tmp_path: Path) -> None:
    root = make_repo(
        tmp_path / "r",
        {
            "big.yml": "a: " + "x" * 2_100_000 + "\n",
            "latin.cfg": "[a]\nname = caf\xe9\n".encode("latin-1"),
        },
    )
    repo = Repository(root)
    big = repo.yaml("big.yml")
    assert big is not None and big.error is not None
    assert big.error.message == "too large to check (2.1 MB > 1 MB limit)"
    latin = repo.ini("latin.cfg")
    assert latin is not None and latin.error is not None
    assert latin.error.message.startswith("not UTF-8")
    assert repo.broken("big.yml") and repo.broken("latin.cfg")


def test_symlink_out_of_the_repository_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secrets.yml"
    secret.parent.mkdir()
    secret.write_text("password: hunter2\n", encoding="utf-8")
    root = make_repo(tmp_path / "r", {"inside.yml": "a: 1\n"})
    os.symlink(secret, root / "config.yml")
    os.symlink(secret.parent, root / "folder")
    os.symlink("inside.yml", root / "alias.yml")
    git(root, "add", "-A")
    repo = Repository(root)
    assert repo.tracked_modes is not None and repo.tracked_modes["config.yml"] == "120000"
    assert "config.yml" in repo.files and repo.is_symlink("config.yml")
    assert repo.text("config.yml") is None
    assert "outside the repository" in (repo.problem("config.yml") or "")
    parsed = repo.yaml("config.yml")
    assert parsed is not None and parsed.error is not None and parsed.data is None
    assert repo.text("folder/secrets.yml") is None
    assert repo.data("alias.yml") == {"a": 1}  # a link inside the repository is fine
    assert repo.is_dir("folder") and not repo.inside("folder/secrets.yml")


def test_walk_lists_a_symlinked_folder_without_entering_it(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.py").write_text("", encoding="utf-8")
    (tmp_path / "r").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "r" / "link")
    assert Repository(tmp_path / "r").files == ["link"]


def test_package_layouts() -> None:
    assert packages(["src/pkg/__init__.py", "src/pkg/sub/__init__.py", "tests/__init__.py"]) == (
        Package("pkg", "src/pkg", "src"),
    )
    assert packages(["pkg/__init__.py", "docs/__init__.py"]) == (Package("pkg", "pkg", "flat"),)
    assert packages(["src/ns/pkg/__init__.py"]) == (Package("ns.pkg", "src/ns/pkg", "namespace"),)
    # cookiecutter-data-science v1: src/ itself is the package, data/ a sub-package of it
    assert packages(["src/__init__.py", "src/data/__init__.py", "src/features/__init__.py"]) == (
        Package("src", "src", "flat"),
    )


def test_repository_packages_include_untracked(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"src/a/__init__.py": "", "b/__init__.py": ""})
    git(root, "add", "src")
    names = [p.name for p in Repository(root).packages]
    assert names == ["b", "a"] or sorted(names) == ["a", "b"]


def test_nested_gitignore_rules(tmp_path: Path) -> None:
    root = make_repo(
        tmp_path / "r",
        {".gitignore": "*.tmp\n", "sub/.gitignore": "!keep.tmp\nlocal/\n", "sub/x": ""},
    )
    git(root, "add", "-A")
    repo = Repository(root)
    assert repo.git_ignored("a.tmp") and repo.git_ignored("sub/b.tmp")
    assert not repo.git_ignored("sub/keep.tmp")
    assert repo.git_ignored("sub/local/x") and not repo.git_ignored("local/x")


@pytest.mark.parametrize(
    "text",
    [
        "numpy",
        "numpy==2.4.6",
        "Scikit_Learn[all, Extra]>=1.2,<2",
        "pandas >= 2 , != 2.1",
        "x~=1.2",
        "x~=1",
        "x==1.*",
        "x==1.0rc1",
        "x[a]",
        "x>=1;python_version>'3'",
        "x @ https://example.com/x.whl",
        "-e .",
        "x==",
        "x===1",
        "my.pkg-name_2<3",
    ],
)
def test_plain_requirements_read_exactly_as_packaging_reads_them(text: str) -> None:
    from packaging.requirements import InvalidRequirement, Requirement

    ours = reqs.parse(text)
    try:
        theirs = Requirement(text)
    except InvalidRequirement:
        assert ours.error
        return
    assert not ours.error
    assert ours.name == reqs.canonical(theirs.name) and ours.written_name == theirs.name
    assert ours.specifier == str(theirs.specifier)
    assert ours.extras == tuple(sorted(theirs.extras))


def test_dockerfile_is_parsed_once(tmp_path: Path) -> None:
    root = make_repo(
        tmp_path / "r",
        {"Dockerfile": "ARG V=3\nFROM python:${V} AS base\nRUN pip install \\\n    x\nBOGUS a\n"},
    )
    repo = Repository(root)
    parsed = repo.dockerfile("Dockerfile")
    assert parsed is not None and repo.dockerfile("Dockerfile") is parsed
    keywords = [(i.line, i.keyword) for i in parsed.data.instructions]
    assert keywords == [(1, "ARG"), (2, "FROM"), (3, "RUN"), (5, "BOGUS")]
    assert parsed.data.errors == [(5, "unknown instruction 'BOGUS'")]


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("ab:-[]{},&*!? \n'\"#|>")) | st.characters(),
        max_size=300,
    )
)
def test_any_text_parses_to_data_or_an_error(text: str) -> None:
    parsed = parse_yaml(text)
    assert (parsed.error is None) or parsed.data is None
    if parsed.error is None:
        assert isinstance(parsed.positions, dict)


def test_a_hostile_git_config_runs_nothing(tmp_path: Path) -> None:
    """core.fsmonitor names a program git starts when it lists files; a checked
    repository's own config must not get to run it."""
    root = make_repo(tmp_path / "r", {"a.txt": "x\n", "b.txt": "y\n"})
    git(root, "add", "a.txt")
    marker = tmp_path / "pwned"
    git(root, "config", "core.fsmonitor", f"touch {marker}; echo")
    repo = Repository(root)
    assert repo.tracked == ["a.txt"] and repo.untracked == ["b.txt"]
    assert repo.ignored == [] and not repo.git_ignored("c.txt")
    assert not marker.exists()
