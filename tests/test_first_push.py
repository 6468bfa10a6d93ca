"""Issue 14: the generated CI passes on the first push.

The GitLab jobs ``lint``, ``validate`` and ``test`` really run in gitlab-ci-local's
shell executor, in an environment that has everything except dsops itself, so the
``validate`` job must install this project's wheel the way a team would: from a
package index (``DSOPS_PIP_INDEX_URL``, here a PEP 503 index that ``python -m
http.server`` serves on 127.0.0.1) or from a wheel (``DSOPS_WHEEL``). Without
either, and with an index that lacks dsops, ``validate`` fails with one line that
names both variables, while ``lint`` and ``test`` still pass. The option
combinations are pairwise (CI system x remote x example x install route); every
remote scheme is covered by tests/test_remotes.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path
from typing import Callable, Iterator

import pytest
from conftest import BIN, ROOT, Dist, ProjectEnv, run
from suite_tools import need_tool
from test_cicd import gcl

from pyscaffoldext.dsproject_ops.answers import cookiecutter_json

VERSION = cookiecutter_json()["_template_version"]
DIST = "pyscaffoldext-dsproject-ops"


@pytest.fixture(scope="session")
def wheel(release_dist: Dist) -> Path:
    """This project's wheel: the release's, built once per session (conftest)."""
    found = release_dist.wheel
    assert found.name.startswith("pyscaffoldext_dsproject_ops-") and f"-{VERSION}-" in found.name
    return found


@pytest.fixture(scope="session")
def index(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT``: ``/simple/`` serves the wheel, ``/empty/`` nothing."""
    root = tmp_path_factory.mktemp("index")
    project = root / "simple" / DIST
    project.mkdir(parents=True)
    shutil.copy2(wheel, project / wheel.name)
    (root / "empty").mkdir()
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N ..."
        port = re.search(r"port (\d+)", line)
        assert port, line
        yield f"http://127.0.0.1:{port.group(1)}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture()
def without_dsops(tmp_path: Path) -> ProjectEnv:
    """The generated projects' environment minus dsops: a venv that sees this test
    environment's packages (pyscaffold, pytest, pre-commit, ...) except this one.
    One per test: the validate job installs dsops into it."""
    base = tmp_path / "no-dsops"
    shared = base / "shared-site"
    shared.mkdir(parents=True)
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        name = entry.name.lower()
        if "dsproject_ops" in name or "dsproject-ops" in name or name == "pyscaffoldext":
            continue
        (shared / entry.name).symlink_to(entry)
    root = base / "venv"
    venv.create(root, with_pip=False, symlinks=True)
    child_site = next(root.glob("lib/python*/site-packages"))
    (child_site / "_shared.pth").write_text(f"{shared}\n", encoding="utf-8")
    env = ProjectEnv(root)
    probe = run([env.python, "-c", "import pyscaffold, pytest"], cwd=base, env=env.env())
    assert probe.returncode == 0
    return env


def job_env(env: ProjectEnv, tools: Path) -> dict[str, str]:
    """The environment's bin/, then this test environment's tools except dsops."""
    values = env.env()
    parts = [p for p in values["PATH"].split(os.pathsep) if Path(p) != BIN]
    node = ROOT / ".ci" / "node" / "node_modules" / ".bin"
    values["PATH"] = os.pathsep.join([str(env.bin), str(tools), str(node), *parts])
    return values


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This test environment's commands (pre-commit, pytest, ...) without dsops."""
    folder = tmp_path_factory.mktemp("tools")
    for entry in BIN.iterdir():
        if entry.name not in ("dsops", "putup") and not entry.name.startswith("python"):
            (folder / entry.name).symlink_to(entry)
    return folder


def run_jobs(
    repo: Path, env: ProjectEnv, tools: Path, jobs: list[str], variables: dict[str, str]
) -> tuple[int, str]:
    need_tool("rsync")
    # The hook environments are the ones pre-commit already built in the user's cache.
    hooks = os.environ.get("PRE_COMMIT_HOME") or str(Path.home() / ".cache" / "pre-commit")
    args = ["--force-shell-executor", "--variable", f"PRE_COMMIT_HOME={hooks}"]
    for key, value in variables.items():
        args += ["--variable", f"{key}={value}"]
    done = gcl(repo, *args, *jobs, env=job_env(env, tools), check=False, timeout=1500)
    return done.returncode, done.stdout + done.stderr


COMBINATIONS = [
    # (putup options, how validate gets dsops). The first is also the check that the
    # lint and test jobs of a `--ci gitlab` repository pass in the shell executor.
    (("--ci", "gitlab"), "index"),
    (("--ci", "both", "--no-example", "--dvc-remote", "s3://bucket/dvc"), "wheel"),
]


@pytest.mark.e2e
@pytest.mark.parametrize(
    "options,route", COMBINATIONS, ids=["gitlab-folder-index", "both-s3-noexample-wheel"]
)
def test_first_push_is_green_when_ci_can_reach_dsops(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    without_dsops: ProjectEnv,
    tools: Path,
    index: str,
    wheel: Path,
    options: tuple[str, ...],
    route: str,
) -> None:
    repo = copy_repo(generate(*options))
    variables = (
        {"DSOPS_PIP_INDEX_URL": f"{index}/simple/"}
        if route == "index"
        else {"DSOPS_WHEEL": str(wheel)}
    )
    code, out = run_jobs(repo, without_dsops, tools, ["lint", "validate", "test"], variables)
    assert code == 0, out[-6000:]
    for job in ("lint", "validate", "test"):
        assert f"PASS  {job}" in out, out[-6000:]
    assert "FAIL" not in out, out[-6000:]
    assert re.search(r"test +> =+ \d+ passed", out), out[-3000:]
    # validate installed dsops into the job's environment and ran it.
    assert (without_dsops.bin / "dsops").is_file()
    assert re.search(r"validate +> dsops validate: \d+ checks passed", out), out[-3000:]


@pytest.mark.e2e
def test_without_dsops_validate_fails_in_one_line_and_the_tests_still_run(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    without_dsops: ProjectEnv,
    tools: Path,
    index: str,
) -> None:
    repo = copy_repo(generate("--ci", "gitlab", "--dvc-remote", "ssh://me@host/srv/dvc"))
    # The runner's index lacks dsops (as PyPI did before the first release).
    variables = {"PIP_INDEX_URL": f"{index}/empty/"}
    code, out = run_jobs(repo, without_dsops, tools, ["validate"], variables)
    assert code != 0 and "FAIL  validate" in out, out[-6000:]
    said = [line for line in out.splitlines() if "cannot install" in line]
    message = (
        f"validate: cannot install {DIST}=={VERSION} (pip's output: dsops-install.log): "
        "set the CI/CD variable DSOPS_PIP_INDEX_URL to a package index that serves it, "
        "or DSOPS_WHEEL to its wheel"
    )
    # gitlab-ci-local echoes the script line too; the job's own output is one line.
    assert any(line.endswith(message) and "echo" not in line for line in said), out[-4000:]
    assert "No matching distribution" not in out  # pip's noise stays in the log file
    # `test` needs only `lint`: it runs although validate failed.
    preview = gcl(repo, "--list-json").stdout
    assert '"needs":["lint"]' in preview.replace(" ", "") or "lint" in preview


@pytest.mark.parametrize(
    "options",
    [
        ("--ci", "github"),
        ("--ci", "both", "--no-example", "--dvc-remote", "gs://bucket/dvc"),
        ("--ci", "github", "--python-version", "3.13", "--dvc-remote", "https://h.example/dvc"),
    ],
    ids=["github", "both-gs-noexample", "github-https-3.13"],
)
def test_github_test_job_does_not_wait_for_validate_and_actionlint_is_clean(
    generate: Callable[..., Path], options: tuple[str, ...]
) -> None:
    import yaml

    repo = generate(*options)
    assert shutil.which("shellcheck"), "shellcheck not found: apt-get install shellcheck"
    done = run([BIN / "actionlint", "-no-color"], cwd=repo, check=False)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    jobs = yaml.safe_load((repo / ".github/workflows/ci.yml").read_text())["jobs"]
    assert set(jobs) == {"lint", "validate", "test"}
    assert jobs["test"]["needs"] == "lint" and "needs" not in jobs["validate"]
    step = next(s for s in jobs["validate"]["steps"] if "DSOPS_WHEEL" in str(s.get("env")))
    assert f"{DIST}=={VERSION}" in step["run"] and "::error::" in step["run"]
