"""Structured merges on parsed trees, and every merge parsed again.

Regression tests for what outside testing found (issue 12): template entries
indented unlike the user's, hooks twice at two versions, ``-e .`` twice in a mixed
``pip:`` list, both spellings of a flake8 key, a ``.gitignore`` hiding DVC pointer
files, and unparseable results staged as "merged cleanly".
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import test_upgrade_fixtures as fx
from ruamel.yaml import YAML
from test_upgrade_fixtures import OldTemplate

from pyscaffoldext.dsproject_ops.answers import build
from pyscaffoldext.dsproject_ops.paths import template_root
from pyscaffoldext.dsproject_ops.render import render
from pyscaffoldext.dsproject_ops.upgrade import history, policy
from pyscaffoldext.dsproject_ops.upgrade.merge3 import Labels
from pyscaffoldext.dsproject_ops.upgrade.parsecheck import parse_error, resolve
from pyscaffoldext.dsproject_ops.upgrade.plan import CONFLICT, MERGED, classify
from pyscaffoldext.dsproject_ops.upgrade.yamlmerge import merge_yaml

old_template = fx.old_template  # the shared fixture, used by name

LABELS = Labels("yours", "template 0.1.0", "template 0.1.1")
ADOPT = Labels("yours", "nothing (adopted)", "template 0.1.1")


@pytest.fixture(scope="module")
def tree() -> dict[str, str]:
    return render(build("demo"))


def _yaml(text: str) -> object:
    return YAML(typ="safe").load(text)


def _sides_parse(path: str, text: str) -> None:
    for side in ("ours", "theirs", "base"):
        assert parse_error(path, resolve(text, side)) is None, (side, resolve(text, side))


# --- YAML ---------------------------------------------------------------------------

USER_PRECOMMIT = """\
# our team's hooks
repos:
- repo: https://github.com/psf/black
  rev: 23.1.0
  hooks:
  - id: black
    args: [--line-length=99]
- repo: https://github.com/PyCQA/isort
  rev: 5.12.0
  hooks:
  - id: isort
- repo: https://github.com/PyCQA/flake8
  rev: 6.0.0
  hooks:
  - id: flake8
"""


def test_adopted_pre_commit_has_one_hook_per_id_the_users(tree: dict[str, str]) -> None:
    """Bug: isort/black/flake8 twice, at two versions, and the template's entries
    indented unlike the user's (a file that does not parse)."""
    theirs = tree[".pre-commit-config.yaml"]
    change = classify(".pre-commit-config.yaml", None, USER_PRECOMMIT, theirs, ADOPT, True)
    assert change.kind == MERGED, change
    text = change.text or ""
    data = _yaml(text)
    assert isinstance(data, dict)
    ids = [hook["id"] for repo in data["repos"] for hook in repo["hooks"]]
    assert len(ids) == len(set(ids)), ids
    assert {"black", "isort", "flake8", "mypy", "nbstripout"} <= set(ids)
    black = next(r for r in data["repos"] if any(h["id"] == "black" for h in r["hooks"]))
    assert black["rev"] == "23.1.0" and black["hooks"][0]["args"] == ["--line-length=99"]
    assert "hook black: yours" in change.note and "23.1.0" in change.note
    # One indentation style, the user's: a sequence dash at the key's own column.
    assert "\n- repo: local\n  hooks:\n  - id: trailing-whitespace\n" in text
    assert "# our team's hooks" in text


def test_pre_commit_three_way_keeps_user_style_and_bumps_pins(tree: dict[str, str]) -> None:
    base = tree[".pre-commit-config.yaml"].replace("black==26.10.1", "black==25.1.0")
    theirs = tree[".pre-commit-config.yaml"]
    # The user re-indented the file (offset 0) and added a hook of their own.
    yaml = YAML()
    yaml.indent(mapping=2, sequence=2, offset=0)
    data = yaml.load(base)
    data["repos"][0]["hooks"].append({"id": "mine", "entry": "true", "language": "system"})
    import io

    out = io.StringIO()
    yaml.dump(data, out)
    ours = out.getvalue()
    change = classify(".pre-commit-config.yaml", base, ours, theirs, LABELS)
    assert change.kind == MERGED, change
    text = change.text or ""
    assert "black==26.10.1" in text and "black==25.1.0" not in text
    assert "  - id: mine\n" in text and "\n  - id: black\n" in text
    assert _yaml(text)


USER_ENV = """\
name: demo
channels:
  - conda-forge
dependencies:
  - python=3.11
  - requests=2.32
  - pip
  - pip:
    - -e .
    - rich==13.0
"""


def test_adopted_environment_has_one_pip_list_one_indentation_one_editable(
    tree: dict[str, str],
) -> None:
    """Bug: the ``pip:`` list mixed indentations and held ``-e .`` twice."""
    change = classify("environment.yml", None, USER_ENV, tree["environment.yml"], ADOPT, True)
    assert change.kind in (MERGED, CONFLICT), change
    texts = [change.text or ""]
    if change.kind == CONFLICT:
        texts = [resolve(texts[0], "ours"), resolve(texts[0], "theirs")]
    for text in texts:
        data = _yaml(text)
        assert isinstance(data, dict)
        pips = [d for d in data["dependencies"] if isinstance(d, dict)]
        assert len(pips) == 1
        assert pips[0]["pip"].count("-e .") == 1
        assert "rich==13.0" in pips[0]["pip"]
        assert "requests=2.32" in data["dependencies"]
        widths = {
            len(line) - len(line.lstrip())
            for line in text.splitlines()
            if line.strip().startswith("- ") and ("-e ." in line or "rich" in line)
        }
        assert len(widths) == 1, text


def test_environment_pins_bump_beside_user_dependencies(tree: dict[str, str]) -> None:
    theirs = tree["environment.yml"]
    base = theirs.replace("numpy==2.4.6", "numpy==2.3.0")
    ours = base.replace("  - pip\n", "  - pip\n  - requests=2.32  # for the API\n")
    change = classify("environment.yml", base, ours, theirs, LABELS)
    assert change.kind == MERGED
    text = change.text or ""
    assert "numpy==2.4.6" in text and "requests=2.32  # for the API" in text
    assert text.count("- -e .") == 1


def test_a_matched_item_keeps_the_users_comment_line_as_written(tree: dict[str, str]) -> None:
    """Bug (pyscaffoldext-dsproject's environment.yml): ``- -e .  # install git checkout
    ... editable mode`` in a ``pip:`` list indented unlike the rest of the file came
    back as ``- -e . # install ...``: ruamel wrote the comment at its old column, the
    item one column further right, and the user's line was gone."""
    ours = (
        "name: churn-model\ndependencies:\n  - python>=3.6\n  - pip\n  - pip:\n"
        "     - -e .  # install git checkout of churn-model in editable mode\n"
        "     # add here only pip-packages that are not available in conda/conda-forge!\n"
        "  - jupyterlab\n"
    )
    change = classify("environment.yml", None, ours, tree["environment.yml"], ADOPT, True)
    assert change.kind in (MERGED, CONFLICT), change
    texts = [change.text or ""]
    if change.kind == CONFLICT:
        texts = [resolve(texts[0], "ours"), resolve(texts[0], "theirs")]
    for text in texts:
        lines = {line.strip() for line in text.splitlines()}
        assert "- -e .  # install git checkout of churn-model in editable mode" in lines, text
        assert "# add here only pip-packages that are not available in conda/conda-forge!" in lines


def test_an_item_the_template_changes_keeps_the_users_comment() -> None:
    """An item matched by its package name takes the template's new pin and keeps the
    comment the user put on it, with the user's spacing."""
    base = "dependencies:\n  - numpy==1.0\n  - pip:\n      - -e .\n"
    ours = "dependencies:\n  - numpy==1.0   # the scorer needs it\n  - pip:\n     - -e .  # me\n"
    theirs = "dependencies:\n  - numpy==2.0\n  - pip:\n      - -e .\n"
    text, state = merge_yaml("environment.yml", base, ours, theirs, "ours")
    assert state.conflicts == 0
    assert "  - numpy==2.0   # the scorer needs it\n" in text, text
    assert "- -e .  # me\n" in text, text


# --- INI ----------------------------------------------------------------------------


def test_flake8_key_spellings_are_one_key(tree: dict[str, str]) -> None:
    """Bug: ``[flake8]`` ended with both ``max_line_length`` and ``max-line-length``."""
    base = tree["setup.cfg"]
    ours = base.replace("max_line_length = 88", "max-line-length = 99")
    theirs = base.replace("numpy==2.4.6", "numpy==2.5.0")
    change = classify("setup.cfg", base, ours, theirs, LABELS)
    assert change.kind == MERGED, change
    text = change.text or ""
    assert "max-line-length = 99" in text and "max_line_length" not in text
    assert "    numpy==2.5.0\n" in text
    # The template changing the key too: one small conflict, each side one spelling.
    theirs = base.replace("max_line_length = 88", "max_line_length = 100")
    clash = classify("setup.cfg", base, ours, theirs, LABELS)
    assert clash.kind == CONFLICT and clash.conflicts == 1
    for side in ("ours", "theirs"):
        resolved = resolve(clash.text or "", side)
        assert parse_error("setup.cfg", resolved) is None
        assert resolved.count("max-line-length") + resolved.count("max_line_length") == 1


def test_adopted_flake8_file_keeps_the_users_spelling() -> None:
    ours = "[flake8]\nmax-line-length = 88\nper-file-ignores = tests/*: D\n"
    theirs = "[flake8]\n# black decides\nmax_line_length = 88\nextend_ignore = E203\n"
    change = classify(".flake8", None, ours, theirs, ADOPT, True)
    assert change.kind == MERGED, change
    text = change.text or ""
    assert "max-line-length = 88" in text and "max_line_length" not in text
    assert "extend_ignore = E203" in text and "per-file-ignores" in text


def test_both_spellings_do_not_parse() -> None:
    problem = parse_error(".flake8", "[flake8]\nmax_line_length = 88\nmax-line-length = 99\n")
    assert problem and "mean the same option" in problem


def test_setup_cfg_requirements_merge_by_package_name(tree: dict[str, str]) -> None:
    base = tree["setup.cfg"]
    ours = base.replace("    pandas==3.1.1\n", "    pandas==3.1.1\n    Requests_OAuthlib>=1\n")
    theirs = base.replace("numpy==2.4.6", "numpy==2.5.0").replace(
        "    pyyaml==6.0.4\n", "    pyyaml==6.0.4\n    rich==14.0\n"
    )
    change = classify("setup.cfg", base, ours, theirs, LABELS)
    assert change.kind == MERGED, change
    text = change.text or ""
    assert "    numpy==2.5.0\n    pandas==3.1.1\n    Requests_OAuthlib>=1\n" in text
    assert "    rich==14.0\n" in text


def test_dvc_config_keeps_its_indented_options(tree: dict[str, str]) -> None:
    theirs = tree[".dvc/config"]
    base = theirs.replace("analytics = false", "analytics = true")
    ours = base.replace("    remote = default\n", "    remote = default\n    autostage = true\n")
    change = classify(".dvc/config", base, ours, theirs, LABELS)
    assert change.kind == MERGED, change
    text = change.text or ""
    assert "    analytics = false\n" in text and "    autostage = true\n" in text
    assert all(line[:1] in ("", " ", "[") for line in text.splitlines()), text


def test_an_adopted_ini_conflict_is_one_option_not_the_whole_file() -> None:
    """Bug (plain PyScaffold's setup.cfg): with nothing to merge from (adoption), the
    base side of a conflicted option dropped it and then added the template's back,
    so the base and template sides were equal, the line merge of the sides found no
    conflict, and the whole file became one conflict (the record inside it)."""
    ours = "[tool:pytest]\naddopts =\n    --cov proj\n    --verbose\ntestpaths = tests\n"
    theirs = "[tool:pytest]\naddopts = -ra --strict-markers\n\n[pyscaffold]\nversion = 4.6\n"
    change = classify("setup.cfg", None, ours, theirs, ADOPT, True)
    assert change.kind == CONFLICT, change
    text = change.text or ""
    assert text.count("<<<<<<< ") == 1
    assert text.index("<<<<<<< ") > text.index("[tool:pytest]")
    assert text.index(">>>>>>> ") < text.index("testpaths = tests") < text.index("[pyscaffold]")
    for side in ("ours", "theirs"):
        assert parse_error("setup.cfg", resolve(text, side)) is None


# --- .gitignore and DVC pointer files ------------------------------------------------


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("pattern", ["/data/", "data/", "/data", "data"])
def test_merged_gitignore_keeps_dvc_pointers_trackable(
    pattern: str, tree: dict[str, str], tmp_path: Path
) -> None:
    """Bug: the team's ``/data/`` kept after the template's ``!/data/*/*.dvc``: every
    ``dvc add`` pointer file became git-ignored. ``git check-ignore`` is the judge."""
    ours = f"# ours\n{pattern}\n*.log\n"
    change = classify(".gitignore", None, ours, tree[".gitignore"], ADOPT, True)
    assert change.kind == MERGED, change
    assert "rewritten" in change.note
    repo = tmp_path / "repo"
    repo.mkdir()
    assert _git(repo, "init", "-q").returncode == 0
    (repo / ".gitignore").write_text(change.text or "", encoding="utf-8")
    (repo / "data" / "raw").mkdir(parents=True)
    for name in ("sensors.csv.dvc", "sensors.csv", ".gitkeep"):
        (repo / "data" / "raw" / name).write_text("x\n", encoding="utf-8")
    (repo / "run.log").write_text("x\n", encoding="utf-8")
    for path, hidden in (
        ("data/raw/sensors.csv.dvc", False),
        ("data/raw/.gitkeep", False),
        ("data/raw/sensors.csv", True),
        ("run.log", True),
    ):
        done = _git(repo, "check-ignore", "-q", path)
        assert done.returncode == (0 if hidden else 1), (path, change.text)
    assert "# ours" in (change.text or "")
    # The team's line is still in the file, as a comment above its rewrite.
    assert f"\n# {pattern}  (rewritten by dsops upgrade" in (change.text or "")


@pytest.mark.parametrize(
    "ours, kept",
    [
        # kedro's: everything below data/, folders re-included for its .gitkeep files
        ("data/**\n!data/**/\n!.gitkeep\n", "# data/**  (moved here by dsops upgrade"),
        # one folder of data/ named outright (a hand-made repository's)
        ("*.pyc\ndata/processed/\n", "# data/processed/  (rewritten by dsops upgrade"),
    ],
)
def test_merged_gitignore_keeps_pointers_trackable_under_other_data_patterns(
    ours: str, kept: str, tree: dict[str, str], tmp_path: Path
) -> None:
    """Bug: kedro's ``data/**`` (after the template's ``!/data/*/*.dvc``) and a team's
    ``data/processed/`` (a folder the template's probes never named) still hid DVC
    pointer files after adoption. ``git check-ignore`` is the judge, on the folder the
    team named too; what the team ignored stays ignored."""
    change = classify(".gitignore", None, ours, tree[".gitignore"], ADOPT, True)
    assert change.kind == MERGED, change
    text = change.text or ""
    assert kept in text, text
    lines = text.splitlines()
    assert all(line in lines or f"# {line}  (" in text for line in ours.splitlines())
    repo = tmp_path / "repo"
    repo.mkdir()
    assert _git(repo, "init", "-q").returncode == 0
    (repo / ".gitignore").write_text(text, encoding="utf-8")
    cases = {
        "data/raw/sensors.csv.dvc": False,
        "data/processed/features.csv.dvc": False,
        "data/processed/.gitkeep": False,
        "data/processed/features.csv": True,
        "data/raw/sensors.csv": True,
    }
    for path in cases:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("x\n", encoding="utf-8")
    for path, hidden in cases.items():
        done = _git(repo, "check-ignore", "-q", path)
        assert done.returncode == (0 if hidden else 1), (path, text)


# --- parse what you write ------------------------------------------------------------


def test_a_clean_line_merge_that_does_not_parse_is_a_conflict() -> None:
    """Each side adds the same option in a different place: git merges the lines
    cleanly, the INI reader refuses the duplicate. Never "merged cleanly"."""
    base = "[pytest]\naddopts = -ra\n\n[x]\ny = 1\n"
    ours = "[pytest]\ntestpaths = mine\naddopts = -ra\n\n[x]\ny = 1\n"
    theirs = "[pytest]\naddopts = -ra\ntestpaths = tests\n\n[x]\ny = 1\n"
    change = classify("pytest.ini", base, ours, theirs, LABELS)
    assert change.kind == CONFLICT, change
    assert "does not parse" in change.note
    _sides_parse("pytest.ini", change.text or "")


def test_yaml_line_merge_that_does_not_parse_is_a_conflict() -> None:
    base = "a:\n  b: 1\n\n\nz: 1\n"
    ours = "a:\n  b: 1\n\n\nz: 1\n  # mine\n"
    theirs = "a: [1, 2\n   ]\n\n\nz: 1\n"
    change = classify("dvc.yaml", base, ours.replace("  # mine\n", "x: 2\n"), theirs, LABELS)
    assert change.kind in (MERGED, CONFLICT)
    if change.kind == MERGED:
        assert parse_error("dvc.yaml", change.text or "") is None
    else:
        _sides_parse("dvc.yaml", change.text or "")


def test_a_user_file_that_does_not_parse_is_never_merged(tree: dict[str, str]) -> None:
    theirs = tree["environment.yml"]
    base = theirs.replace("numpy==2.4.6", "numpy==2.3.0")
    ours = base.replace("name: demo\n", "name: demo\n  broken: [\n")
    change = classify("environment.yml", base, ours, theirs, LABELS)
    assert change.kind == CONFLICT
    assert "yours does not parse" in change.note
    assert resolve(change.text or "", "ours") == ours
    assert resolve(change.text or "", "theirs") == theirs


@pytest.mark.parametrize("path", [".pre-commit-config.yaml", "environment.yml", "setup.cfg"])
def test_structured_conflicts_parse_on_either_side(path: str, tree: dict[str, str]) -> None:
    theirs = tree[path]
    base = theirs.replace("numpy==2.4.6", "numpy==2.3.0").replace("black==26.10.1", "black==1")
    ours = base.replace("numpy==2.3.0", "numpy==2.3.5").replace("black==1", "black==2")
    assert base != theirs, f"{path} pins neither numpy nor black: the test needs a pin to move"
    change = classify(path, base, ours, theirs, LABELS)
    assert change.kind == CONFLICT, change
    _sides_parse(path, change.text or "")
    assert "2.3.5" in resolve(change.text or "", "ours") or "black==2" in (change.text or "")


# --- the policies live beside the template --------------------------------------------


def test_policies_are_read_from_the_template_version() -> None:
    current = policy.for_template(template_root())
    assert current == policy.LEGACY  # today's rules, now data
    spec = json.loads((template_root() / "cookiecutter.json").read_text(encoding="utf-8"))
    assert set(spec["_upgrade"]) == {"user_owned", "adopt_keep", "structured"}
    archived = history.archived_versions()
    if "0.1.0" in archived:
        old = history.template_for("0.1.0")
        assert "_upgrade" not in json.loads((old / "cookiecutter.json").read_text("utf-8"))
        assert policy.for_template(old) == policy.LEGACY


def test_a_version_s_own_rules_decide(tmp_path: Path, tree: dict[str, str]) -> None:
    root = tmp_path / "templates"
    root.mkdir()
    spec = json.loads((template_root() / "cookiecutter.json").read_text(encoding="utf-8"))
    spec["_upgrade"]["user_owned"].append("docs/*.md")
    spec["_upgrade"]["structured"].pop("environment.yml")
    (root / "cookiecutter.json").write_text(json.dumps(spec), encoding="utf-8")
    rules = policy.combined(policy.for_template(root), policy.for_template(template_root()))
    assert rules.owned("docs/howto.md")  # the old version gave it to the user
    base = tree["docs/howto.md"]
    change = classify(
        "docs/howto.md", base, base + "mine\n", base + "theirs\n", LABELS, False, rules
    )
    assert change.kind == "kept yours"
    newer = policy.combined(None, policy.for_template(root))
    assert policy.kind_of_path("environment.yml", newer) is None
    spec["_upgrade"]["structured"]["x.yml"] = "no such kind"
    (root / "cookiecutter.json").write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(Exception, match="unknown kinds"):
        policy.from_spec(spec)


# --- a real upgrade: conflicted files parse on either side ----------------------------


def test_conflicts_resolved_to_either_side_parse(old_template: OldTemplate, tmp_path: Path) -> None:
    """After a real upgrade with conflicts in YAML and INI files, resolving each to
    either side, by git's index stages (`git checkout --ours/--theirs`) or by picking
    one side of every region in an editor, leaves a file that parses."""
    old = old_template
    repo = fx.make_old_repo(old, tmp_path / "demo")
    env = repo / "environment.yml"
    env.write_text(
        env.read_text("utf-8").replace(f"numpy=={fx.OLD_NUMPY}", "numpy==2.3.9"), "utf-8"
    )
    cfg = repo / "setup.cfg"
    cfg.write_text(
        cfg.read_text("utf-8").replace(f"numpy=={fx.OLD_NUMPY}", "numpy==2.3.9"), "utf-8"
    )
    hooks = repo / ".pre-commit-config.yaml"
    hooks.write_text(
        hooks.read_text("utf-8").replace(f"black=={fx.OLD_BLACK}", "black==25.9.0"), "utf-8"
    )
    fx.commit_all(repo)
    done = fx.dsops(old, repo)
    assert done.returncode == 1, done.stdout + done.stderr
    conflicted = sorted(
        {line.split("\t")[1] for line in fx.git(repo, "ls-files", "-u").splitlines()}
    )
    assert {"environment.yml", "setup.cfg", ".pre-commit-config.yaml"} <= set(conflicted)
    for rel in conflicted:
        text = (repo / rel).read_text(encoding="utf-8")
        for side in ("ours", "theirs"):
            assert parse_error(rel, resolve(text, side)) is None, (rel, side)
            fx.git(repo, "checkout", f"--{side}", "--", rel)
            assert parse_error(rel, (repo / rel).read_text(encoding="utf-8")) is None
        fx.git(repo, "checkout", "-m", "--", rel)  # back to the conflicted merge


def test_a_real_upgrade_keeps_dvc_pointers_trackable(
    old_template: OldTemplate, tmp_path: Path
) -> None:
    """The team ignores all of data/ with ``/data/``; after `dsops upgrade` git itself
    (in the upgraded repository) says a `dvc add` pointer file is not ignored."""
    repo = fx.make_old_repo(old_template, tmp_path / "demo")
    ignore = repo / ".gitignore"
    ignore.write_text(ignore.read_text(encoding="utf-8") + "/data/\n", encoding="utf-8")
    fx.commit_all(repo)
    done = fx.dsops(old_template, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "/data/ rewritten to /data/**" in done.stdout
    (repo / "data" / "raw" / "sensors.csv").write_text("a\n1\n", encoding="utf-8")
    (repo / "data" / "raw" / "sensors.csv.dvc").write_text("outs: []\n", encoding="utf-8")
    assert _git(repo, "check-ignore", "-q", "data/raw/sensors.csv.dvc").returncode == 1
    assert _git(repo, "check-ignore", "-q", "data/raw/sensors.csv").returncode == 0
    status = _git(repo, "status", "--porcelain", "--untracked-files=all").stdout
    assert "?? data/raw/sensors.csv.dvc" in status and "sensors.csv\n" not in status


def test_a_pin_the_template_bumps_keeps_the_users_comment_and_merges() -> None:
    """A dependency line the user only commented (``numpy==1.0  # why``) takes the
    template's new pin with the comment on it: merged, not a conflict (the comment,
    all the user wrote on that line, is kept)."""
    base = "dependencies:\n  - numpy==1.0\n  - pip\n"
    ours = "dependencies:\n  - numpy==1.0   # the scorer needs it\n  - pip\n  - rich\n"
    theirs = "dependencies:\n  - numpy==2.0\n  - pip\n"
    change = classify("environment.yml", base, ours, theirs, LABELS)
    assert change.kind == MERGED, change
    assert (
        change.text == "dependencies:\n  - numpy==2.0   # the scorer needs it\n  - pip\n  - rich\n"
    )
