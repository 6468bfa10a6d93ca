"""Issue 15 item 7: the generated repository's hashed locks.

The locks are cut from one universal resolution shipped beside the template
(templates/locks/universal.txt); CI, the README and the image install them with
``--require-hashes``; environment.yml agrees with them; and the slow test installs
the lock into a fresh virtual environment (uv; pip checks the lock's hashes and
resolution) and runs the project's tests and pipeline there.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest
from conftest import BIN, base_env, run
from packaging.markers import Marker
from packaging.utils import canonicalize_name
from suite_tools import LOCK_FILES, fetch_lock_files, lock_files_lock, users_pip

from pyscaffoldext.dsproject_ops import lockfile
from pyscaffoldext.dsproject_ops.answers import build, cookiecutter_json
from pyscaffoldext.dsproject_ops.render import render
from pyscaffoldext.dsproject_ops.repository import conda
from pyscaffoldext.dsproject_ops.repository.dockerfile import parse as parse_dockerfile
from pyscaffoldext.dsproject_ops.repository.dockerfile import stages
from pyscaffoldext.dsproject_ops.repository.yamlread import load_yaml

SPEC = cookiecutter_json()
# (matplotlib is not here: mlflow itself requires it)
TRAINING_ONLY = {"dvc", "papermill", "ipykernel", "pytest", "pre-commit", "mkdocs"}


def locked(text: str) -> dict[str, set[str]]:
    return lockfile.versions(lockfile.parse(text))


def test_the_shipped_resolution_locks_every_pin_of_the_spec() -> None:
    """A pin bumped in cookiecutter.json without
    `python -m pyscaffoldext.dsproject_ops.lockfile` fails here, for every remote."""
    for extra in ["", *lockfile.extras(SPEC)]:
        versions = lockfile.versions(lockfile.universal(extra=extra))
        for requirement in lockfile.spec_requirements(SPEC, extra):
            name, version = requirement.split("==")
            assert versions.get(canonicalize_name(name)) == {version}, (extra, requirement)
        plugins = {canonicalize_name(f"dvc-{x}") for x in lockfile.extras(SPEC)}
        assert plugins & set(versions) == ({f"dvc-{extra}"} if extra else set())


def test_a_plugin_holds_packages_back_only_where_it_is_used() -> None:
    """dvc-gdrive pins pyOpenSSL, which caps cryptography: only its variant has it."""
    default = lockfile.versions(lockfile.universal())
    gdrive = lockfile.versions(lockfile.universal(extra="gdrive"))
    assert gdrive["pyopenssl"] == {SPEC["_extra_requires"]["dvc-gdrive"]["pyopenssl"]}
    assert "pyopenssl" not in default
    assert gdrive["cryptography"] != default["cryptography"]


@pytest.mark.parametrize("remote", ["", "s3://bucket/dvc", "gdrive://folder-id"])
def test_the_rendered_locks_are_closed_hashed_and_agree(remote: str) -> None:
    tree = render(build("demo", **({"dvc_remote": remote} if remote else {})))
    full = lockfile.parse(tree["requirements/lock.txt"])
    serve = lockfile.parse(tree["requirements/serve.lock.txt"])
    versions = lockfile.versions(full)
    for table in ("_pins", "_dev_pins"):
        for name, version in SPEC[table].items():
            assert versions[canonicalize_name(name)] == {version}, name
    plugins = {canonicalize_name(n) for n in SPEC["_extra_pins"]}
    wanted = {f"dvc-{remote.split(':')[0]}"} if remote else set()
    assert plugins & set(versions) == wanted
    # closed: the lock holds everything its own packages pull in
    extra = remote.split(":")[0]
    closure = lockfile.subset(lockfile.universal(extra=extra), list(versions))
    assert {e.name for e in closure} == set(versions), "not closed"
    # the serving lock: the serving pins, nothing training-only, versions of the full lock
    serving = lockfile.versions(serve)
    for name in SPEC["_serving"]:
        assert serving[canonicalize_name(name)] == {SPEC["_pins"][name]}
    assert not TRAINING_ONLY & set(serving), TRAINING_ONLY & set(serving)
    for name, found in serving.items():
        assert found <= versions[name], name


def test_environment_yml_agrees_with_the_lock(demo: Path) -> None:
    """The conda route installs, for every package it pins, the version pip's lock has."""
    versions = locked((demo / "requirements/lock.txt").read_text(encoding="utf-8"))
    env = load_yaml((demo / "environment.yml").read_text(encoding="utf-8"))
    checked = 0
    for dep in env["dependencies"]:
        if not isinstance(dep, str):
            continue
        spec = conda.parse(dep)
        if spec.name in ("python", "pip"):
            continue
        assert spec.pinned(), dep
        assert versions.get(canonicalize_name(spec.name)) == {spec.pinned()}, dep
        checked += 1
    assert checked == len(SPEC["_pins"]) + len(SPEC["_dev_pins"])


def pip_installs(command: str) -> Iterator[list[str]]:
    """The arguments of each `pip install` in a shell script (one line or many, with
    comments: a quote in a comment is no quote)."""
    lexer = shlex.shlex(command.replace("\\\n", " "), posix=True, punctuation_chars="();<>|&\n")
    lexer.whitespace = " \t\r"  # a newline ends a command, like `;`
    lexer.whitespace_split = True
    words = list(lexer)
    for i, word in enumerate(words):
        if word == "install" and i and words[i - 1] == "pip":
            rest = words[i + 1 :]
            end = next((j for j, w in enumerate(rest) if w in _ENDS), len(rest))
            yield rest[:end]


_ENDS = ("&&", ";", "||", "|", "&", "\n")


def test_the_image_installs_only_the_serving_lock(demo: Path) -> None:
    dockerfile = parse_dockerfile((demo / "Dockerfile").read_text(encoding="utf-8"))
    assert not dockerfile.errors
    build_stage = stages(dockerfile)[0]
    installs = [args for i in build_stage if i.keyword == "RUN" for args in pip_installs(i.args)]
    assert installs == [
        ["--no-cache-dir", "--require-hashes", "-r", "requirements/serve.lock.txt"],
        ["--no-cache-dir", "--no-deps", "."],
    ], installs
    copies = [i.args.split() for i in build_stage if i.keyword == "COPY"]
    assert ["requirements/serve.lock.txt", "requirements/"] in copies


def _scripts(node: object) -> Iterator[str]:
    """Every shell line of a CI file: GitLab `script` items and GitHub `run` steps."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("script", "before_script", "run"):
                yield from ([value] if isinstance(value, str) else value or [])
            else:
                yield from _scripts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _scripts(item)


def test_ci_installs_the_project_from_the_lock(demo: Path) -> None:
    tools = {f"pre-commit=={SPEC['_dev_pins']['pre-commit']}"}
    files = [".gitlab-ci.yml", *sorted(p.name for p in (demo / ".github/workflows").iterdir())]
    seen = 0
    for name in files:
        path = demo / name if name.startswith(".") else demo / ".github/workflows" / name
        data = load_yaml(path.read_text(encoding="utf-8"))
        for line in _scripts(data):
            for args in pip_installs(str(line)):
                flags = [a for a in args if a.startswith("-")]
                if "--require-hashes" in flags:
                    assert args[-2:] == ["-r", "requirements/lock.txt"], (name, args)
                    seen += 1
                elif "--no-deps" in flags:
                    assert args[-2:] == ["-e", "."], (name, args)
                else:  # a single tool at its pin, or dsops itself (validate, upgrade)
                    assert set(args) <= tools or any("dsproject-ops" in a for a in args), (
                        name,
                        args,
                    )
    assert seen >= 3  # GitLab test and train, GitHub test and train


def pip_for(python: Path) -> list[str | os.PathLike[str]]:
    """Our pip, acting on the environment of ``python`` (which has no pip of its own)."""
    return [BIN / "python", "-m", "pip", "--python", python, "--disable-pip-version-check"]


def pip_would_install(repo: Path, python: Path, env: dict[str, str]) -> dict[str, str]:
    """What pip, in the environment of ``python``, would install from the hashed lock:
    ``{canonical name: version}``. pip's own verdict (its lock parser, hash-checking
    mode, its resolver: a dependency the lock lacks is refused; every file's sha256 is
    checked), from files kept between sessions (tests/suite_tools.py, ``LOCK_FILES``):
    the index is asked only for the files of a version no session has seen yet. A file
    fetched once is checked again against the lock on every run."""
    pip = pip_for(python)
    report = repo.parent / "pip-report.json"
    lock = repo / "requirements/lock.txt"
    check = [*pip, "install", "-q", "--dry-run", "--require-hashes", "--no-index"]
    check += ["--find-links", LOCK_FILES, "--report", report, "-r", lock]
    with lock_files_lock():
        done = run(check, cwd=repo, env=users_pip(env), check=False)
        if done.returncode != 0 and "No matching distribution" in done.stderr:
            # A version not seen before: pip downloads it (and checks its hash).
            fetched = fetch_lock_files(pip, lock, env)
            assert fetched.returncode == 0, fetched.stdout + fetched.stderr[-6000:]
            done = run(check, cwd=repo, env=users_pip(env), check=False)
    assert done.returncode == 0, done.stdout + done.stderr[-6000:]
    found = json.loads(report.read_text(encoding="utf-8"))["install"]
    return {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in found}


@pytest.mark.slow  # installs ~200 packages (uv, from its cache) and runs the pipeline
def test_the_lock_installs_the_project_in_a_fresh_venv_and_its_tests_and_pipeline_run(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], tmp_path: Path
) -> None:
    """The README's two routes. pip's: pip accepts the hashed lock and would install
    exactly its packages (``pip_would_install``; installing them with pip as well
    would only repeat uv's work at many times its CPU). uv's, the fast one, installs
    them; then pip finds nothing broken or unlocked, and the project's tests and
    pipeline run in that environment."""
    repo = copy_repo(generate())
    env_dir = tmp_path / "venv"
    env = base_env()
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin"
    env["VIRTUAL_ENV"] = str(env_dir)
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    uv = [BIN / "uv", "-q"]
    run([*uv, "venv", "--python", sys.executable, env_dir], cwd=repo, env=env)
    python = env_dir / "bin" / "python"
    by_pip = pip_would_install(repo, python, env)  # into this environment, still empty
    lock = lockfile.parse((repo / "requirements/lock.txt").read_text(encoding="utf-8"))
    here = {e.name: e.version for e in lock if not e.marker or Marker(e.marker).evaluate()}
    assert by_pip == here, set(by_pip.items()) ^ set(here.items())
    run([*uv, "pip", "sync", "--require-hashes", "requirements/lock.txt"], cwd=repo, env=env)
    run([*uv, "pip", "install", "--no-deps", "-e", "."], cwd=repo, env=env)
    # exactly the locked versions, nothing else resolved behind the lock's back
    pip = pip_for(python)
    check = run([*pip, "check"], cwd=repo, env=env, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    frozen = run([*pip, "freeze", "--all", "--exclude-editable"], cwd=repo, env=env)
    installed = {}
    for line in frozen.stdout.splitlines():
        name, _, version = line.partition("==")
        installed[canonicalize_name(name)] = version
    assert installed == by_pip, set(installed.items()) ^ set(by_pip.items())
    run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo, env=env, timeout=900)
    run(["demo", "repro"], cwd=repo, env=env, timeout=1800)  # the warm runner, in this env
    assert (repo / "models" / "model").is_dir()
    assert shutil.which("uv", path=env["PATH"])  # the README's fast route: in the lock
