"""Issue: ``putup --dsproject-ops`` generates a repository that passes its own checks."""

from __future__ import annotations

import configparser
import hashlib
import json
import re
import signal
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Callable

import pytest
import yaml
from conftest import BIN, ProjectEnv, base_env, putup, run
from suite_tools import CACHE

from pyscaffoldext.dsproject_ops.answers import build
from pyscaffoldext.dsproject_ops.render import render

MATRIX = [
    (),
    ("--ci", "gitlab", "--no-example"),
    ("--ci", "github", "--python-version", "3.12"),
    (
        "--ci",
        "none",
        "--dvc-remote",
        "s3://bucket/dvc",
        "--mlflow-tracking-uri",
        "http://127.0.0.1:5000",
    ),
]
JINJA_LEFTOVER = re.compile(r"{{ ?cookiecutter|{%-? |cookiecutter\.")


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def parse_file(path: Path) -> None:
    """Parse a generated file by its type; raise if it does not parse."""
    text = path.read_text(encoding="utf-8")
    name = path.name
    if name.endswith((".yml", ".yaml")):
        list(yaml.safe_load_all(text))
    elif name.endswith(".toml"):
        tomllib.loads(text)
    elif name.endswith((".cfg", ".ini")) or name == "config":
        parser = configparser.RawConfigParser()
        parser.read_string(text)
    elif name.endswith((".json", ".ipynb")):
        json.loads(text)


def test_putup_without_git_identity_makes_one_commit_with_every_file(
    tmp_path: Path, no_git_identity: dict[str, str]
) -> None:
    assert (
        run(["git", "config", "--get", "user.name"], env=no_git_identity, check=False).returncode
        != 0
    )
    done = putup(tmp_path / "demo", env=no_git_identity)
    assert done.returncode == 0
    repo = tmp_path / "demo"
    assert (
        run(["git", "rev-list", "--count", "HEAD"], cwd=repo, env=no_git_identity).stdout.strip()
        == "1"
    )
    tracked = set(run(["git", "ls-files"], cwd=repo, env=no_git_identity).stdout.split())
    expected = set(render(build("demo", author="x", email="x@y")))
    assert tracked == expected
    assert run(["git", "status", "--porcelain"], cwd=repo, env=no_git_identity).stdout == ""


@pytest.mark.parametrize("options", MATRIX, ids=lambda o: " ".join(o) or "defaults")
def test_every_file_is_rendered_and_parses(
    generate: Callable[..., Path], options: tuple[str, ...]
) -> None:
    repo = generate(*options)
    files = [p for p in repo.rglob("*") if p.is_file() and ".git" not in p.relative_to(repo).parts]
    assert len(files) > 20
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not JINJA_LEFTOVER.search(text), f"unrendered Jinja in {path.relative_to(repo)}"
        parse_file(path)


def test_options_are_recorded_in_setup_cfg(generate: Callable[..., Path]) -> None:
    repo = generate("--ci", "gitlab", "--no-example", "--python-version", "3.12")
    cfg = configparser.RawConfigParser()
    cfg.read(repo / "setup.cfg", encoding="utf-8")
    section = cfg["pyscaffold"]
    assert section["extensions"].split() == ["dsproject_ops"]
    assert section["dsproject_ops_ci"] == "gitlab"
    assert section["dsproject_ops_example"] == "false"
    assert section["dsproject_ops_python_version"] == "3.12"
    assert section["dsproject_ops_template"] == build("x").template_version
    assert section["dsproject_ops_dvc_remote"] == "../demo-dvc-remote"
    assert not (repo / "src/demo/data.py").exists()
    env = yaml.safe_load((repo / "environment.yml").read_text())
    assert "python=3.12" in env["dependencies"]


def test_python_api_and_cli_give_the_same_tree(
    generate: Callable[..., Path], tmp_path: Path
) -> None:
    code = (
        "from pyscaffold.api import create_project\n"
        "from pyscaffoldext.dsproject_ops.extension import DsprojectOps\n"
        f"create_project(project_path={str(tmp_path / 'demo')!r}, "
        "extensions=[DsprojectOps('dsproject_ops')])\n"
    )
    run([BIN / "python", "-c", code], cwd=tmp_path)
    assert tree_digest(tmp_path / "demo") == tree_digest(generate())


def test_generated_project_installs_and_its_tests_pass(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], project_env: ProjectEnv
) -> None:
    repo = copy_repo(generate())
    # A real editable install, with build isolation, as a user types it: the README's
    # fast route (`uv pip install --no-deps -e .`; the CI jobs in test_cicd.py and
    # test_first_push.py run pip's, `python -m pip install --no-deps -e .`).
    project_env.run([BIN / "uv", "-q", "pip", "install", "--no-deps", "-e", "."], cwd=repo)
    done = project_env.run(
        [project_env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo
    )
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed and int(passed.group(1)) >= 1, done.stdout
    assert "failed" not in done.stdout


def test_generated_project_without_example_still_runs_real_tests(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], project_env: ProjectEnv
) -> None:
    repo = copy_repo(generate("--no-example"))
    project_env.install(repo)
    done = project_env.run(
        [project_env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo
    )
    assert re.search(r"[1-9]\d* passed", done.stdout), done.stdout


def test_pre_commit_config_is_valid_and_its_hooks_pass(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], project_env: ProjectEnv
) -> None:
    repo = copy_repo(generate())
    project_env.run(["pre-commit", "validate-config", ".pre-commit-config.yaml"], cwd=repo)
    # mypy keeps its cache between sessions, as in a checkout: it checks again, by
    # content, what differs from the last run (the verdict a cold start gives).
    done = project_env.run(
        ["pre-commit", "run", "--all-files", "--show-diff-on-failure"],
        cwd=repo,
        timeout=900,
        MYPY_CACHE_DIR=str(CACHE / "generated-hooks-mypy"),
    )
    # Every hook really ran (none skipped for lack of files), and all passed.
    for hook in (
        "flake8",
        "mypy",
        "black",
        "isort",
        "nbstripout",
        "check-yaml",
        "check-merge-conflict",
    ):
        line = next(
            line for line in done.stdout.splitlines() if line.startswith(_hook_name(repo, hook))
        )
        assert line.endswith("Passed"), line
    assert run(["git", "status", "--porcelain"], cwd=repo).stdout == "", "hooks changed files"


def _hook_name(repo: Path, hook_id: str) -> str:
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    for repo_entry in config["repos"]:
        for hook in repo_entry["hooks"]:
            if hook["id"] == hook_id:
                return str(hook["name"])
    raise AssertionError(f"no hook {hook_id}")


def test_pre_commit_runs_the_exact_pinned_linters(generate: Callable[..., Path]) -> None:
    repo = generate()
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    for entry in config["repos"]:
        assert entry["repo"] == "local"
        for hook in entry["hooks"]:
            deps = hook.get("additional_dependencies", [])
            assert deps and all(re.fullmatch(r"[\w.-]+==[\w.]+", d) for d in deps), hook


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("class", "it is a Python keyword"),
        ("1demo", "it starts with a digit"),
        ("json", "shadows the standard library"),
        ("pandas", "shadows the dependency"),
        ("bad name", "invalid project name"),
    ],
)
def test_names_that_cannot_be_packages_are_refused(tmp_path: Path, name: str, message: str) -> None:
    done = putup(tmp_path / name, check=False)
    assert done.returncode != 0
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ERROR:") and message in lines[0], lines
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--ci", "jenkins"), "invalid --ci"),
        (("--python-version", "2.7"), "invalid --python-version"),
        (("--dvc-remote", "ftp://host/x"), "invalid --dvc-remote"),
        (("--dvc-remote", "bucket:path"), "invalid --dvc-remote"),
        (("--mlflow-tracking-uri", "nonsense"), "invalid --mlflow-tracking-uri"),
    ],
)
def test_invalid_option_values_write_nothing(
    tmp_path: Path, options: tuple[str, ...], message: str
) -> None:
    done = putup(tmp_path / "demo", *options, check=False)
    assert done.returncode != 0
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_existing_non_empty_target_is_refused_and_untouched(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")
    (target / "setup.cfg").write_text("[metadata]\nname = mine\n")
    before = tree_digest(target)
    done = putup(target, check=False)
    assert done.returncode != 0 and "--force" in done.stdout + done.stderr
    assert tree_digest(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_existing_empty_target_is_used(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    putup(tmp_path / "demo")
    assert (tmp_path / "demo" / "setup.cfg").is_file()


def test_force_keeps_unrelated_files_and_commits_only_generated_ones(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")
    putup(target, "--force")
    assert (target / "notes.txt").read_text() == "mine\n"
    assert "notes.txt" not in run(["git", "ls-files"], cwd=target).stdout.split()


@pytest.mark.slow  # kills putup at many points
def test_interrupted_generation_leaves_nothing_or_a_complete_tree(
    tmp_path: Path, demo: Path
) -> None:
    complete = tree_digest(demo)
    outcomes = set()
    for delay in (0.05, 0.15, 0.25, 0.35, 0.45, 0.6, 2.0):
        parent = tmp_path / f"try-{delay}"
        parent.mkdir()
        proc = subprocess.Popen(
            [BIN / "putup", "--dsproject-ops", "demo"],
            cwd=parent,
            env=base_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        target = parent / "demo"
        if target.exists():
            assert tree_digest(target) == complete
            assert run(["git", "status", "--porcelain"], cwd=target).stdout == ""
            outcomes.add("complete")
        else:
            outcomes.add("nothing")
        # A later run cleans what a killed one left beside the target.
        if not target.exists():
            putup(target)
            assert tree_digest(target) == complete
        assert [p.name for p in parent.iterdir()] == ["demo"]
    assert outcomes  # both outcomes are legal; a half-written target never is


def test_putup_help_lists_our_options_with_defaults() -> None:
    out = run([BIN / "putup", "--help"]).stdout
    for flag in (
        "--dsproject-ops",
        "--ci",
        "--dvc-remote",
        "--mlflow-tracking-uri",
        "--python-version",
        "--no-example",
    ):
        assert flag in out
    assert "default: both" in out and "default: 3.11" in out and "sqlite:///mlflow.db" in out


def test_dsops_version_and_help() -> None:
    from pyscaffoldext.dsproject_ops import __version__

    assert run([BIN / "dsops", "--version"]).stdout.strip().endswith(__version__)
    assert "putup --dsproject-ops" in run([BIN / "dsops", "--help"]).stdout
    bad = run([BIN / "dsops", "frobnicate"], check=False)
    assert bad.returncode == 2 and "unknown command" in bad.stderr
