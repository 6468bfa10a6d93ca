"""Issue 7: ``dsops doctor`` finds what a machine and a checkout still need.

Each test starts from a checkout where everything is in place (identity, hooks,
installed package, remote folder, writable tracking store), takes one piece away
for real, and expects the doctor to name it with its fix and exit 1.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import sqlite3
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from conftest import BIN, ProjectEnv, run

DSOPS = BIN / "dsops"


@dataclass
class Checkout:
    repo: Path
    env: dict[str, str]

    @property
    def remote(self) -> Path:
        return self.repo.parent / f"{self.repo.name}-dvc-remote"

    def doctor(
        self, *wrapper: str | Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run(
            [*wrapper, DSOPS, "doctor", self.repo], cwd=self.repo, env=env or self.env, check=False
        )


def statuses(output: str) -> dict[str, str]:
    return dict(
        (name, status) for status, name in re.findall(r"^  \[(\w+)\] +([^:]+):", output, re.M)
    )


def fix_for(output: str, check: str) -> str:
    match = re.search(rf"^  \[\w+\] +{re.escape(check)}:.*\n +fix: (.*)$", output, re.M)
    assert match, output
    return match.group(1)


@pytest.fixture(scope="module")
def prepared(
    generate: Callable[..., Path],
    project_env: ProjectEnv,
    tmp_path_factory: pytest.TempPathFactory,
) -> Checkout:
    """One checkout with everything in place (installing it is the slow part)."""
    base = tmp_path_factory.mktemp("doctor")
    repo = base / "demo"
    shutil.copytree(generate(), repo, symlinks=True)
    gitconfig = base / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Ada Newcomer\n\temail = ada@example.com\n")
    env = project_env.env(GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1")
    for key in list(env):
        if key.startswith(("GIT_AUTHOR", "GIT_COMMITTER")):
            del env[key]
    found = Checkout(repo, env)
    found.remote.mkdir()
    return found


@pytest.fixture()
def checkout(prepared: Checkout, project_env: ProjectEnv) -> Iterator[Checkout]:
    """The prepared checkout, whole again for every test (other modules share the
    project environment, so the package is reinstalled when it points elsewhere)."""
    probe = "import demo, sys; sys.stdout.write(demo.__file__)"
    where = run([project_env.python, "-c", probe], env=prepared.env, check=False).stdout
    if not where.startswith(str(prepared.repo)):
        project_env.install(prepared.repo)
    run(["pre-commit", "install"], cwd=prepared.repo, env=prepared.env)
    prepared.remote.mkdir(exist_ok=True)
    yield prepared


AS_ROOT = os.geteuid() == 0


def read_only(path: Path) -> list[str]:
    """A command prefix that runs a command with ``path`` on a read-only file system.

    Permissions stop nothing for root, so as root the folder is bind-mounted
    read-only in a private mount namespace (the rest of the machine never sees it)."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare not found: install util-linux", pytrace=False)
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", str(path)]


@contextmanager
def without_write_permission(*paths: Path) -> Iterator[None]:
    """The paths' write bits taken away for the block (what stops a non-root user)."""
    modes = {path: path.stat().st_mode for path in paths}
    try:
        for path, mode in modes.items():
            path.chmod(mode & ~0o222)
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def test_doctor_passes_when_everything_is_in_place(checkout: Checkout) -> None:
    done = checkout.doctor()
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(statuses(done.stdout).values()) == {"ok"}, done.stdout
    assert set(statuses(done.stdout)) == {
        "git repository",
        "git identity",
        "pre-commit hooks",
        "environment",
        "DVC remote",
        "MLflow store",
    }
    assert "Ada Newcomer <ada@example.com>" in done.stdout


def test_doctor_finds_no_git_identity(checkout: Checkout, tmp_path: Path) -> None:
    home = tmp_path / "empty-home"
    home.mkdir()
    (home / ".gitconfig-none").write_text("")
    env = dict(
        checkout.env,
        HOME=str(home),
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig-none"),
        GIT_CONFIG_NOSYSTEM="1",
    )
    assert (
        run(
            ["git", "config", "--get", "user.name"], cwd=checkout.repo, env=env, check=False
        ).returncode
        != 0
    )
    done = checkout.doctor(env=env)
    assert done.returncode == 1
    assert statuses(done.stdout)["git identity"] == "missing"
    fix = fix_for(done.stdout, "git identity")
    assert fix.startswith('git config --global user.name "')
    # The fix works: after it, the doctor is content.
    run(["sh", "-c", fix], cwd=checkout.repo, env=env)
    assert checkout.doctor(env=env).returncode == 0


def test_doctor_finds_hooks_not_installed(checkout: Checkout) -> None:
    run(["pre-commit", "uninstall"], cwd=checkout.repo, env=checkout.env)
    done = checkout.doctor()
    assert done.returncode == 1 and statuses(done.stdout)["pre-commit hooks"] == "missing"
    assert fix_for(done.stdout, "pre-commit hooks") == "pre-commit install"


def test_doctor_finds_a_remote_folder_that_does_not_exist(checkout: Checkout) -> None:
    checkout.remote.rmdir()
    done = checkout.doctor()
    assert done.returncode == 1 and statuses(done.stdout)["DVC remote"] == "missing"
    fix = fix_for(done.stdout, "DVC remote")
    assert fix == f"mkdir -p {shlex.quote(str(checkout.remote))}"
    run(["sh", "-c", fix], cwd=checkout.repo, env=checkout.env)
    assert checkout.doctor().returncode == 0


def test_doctor_finds_a_remote_folder_that_is_not_writable(checkout: Checkout) -> None:
    if AS_ROOT:  # a read-only file system: the fix is a remote elsewhere
        done = checkout.doctor(*read_only(checkout.remote))
        assert done.returncode == 1 and statuses(done.stdout)["DVC remote"] == "missing"
        assert "read-only" in done.stdout
        assert fix_for(done.stdout, "DVC remote").startswith("dvc remote modify default url ")
        return
    with without_write_permission(checkout.remote):  # no permission: the fix gives it
        done = checkout.doctor()
        assert done.returncode == 1 and statuses(done.stdout)["DVC remote"] == "missing"
        assert "not writable" in done.stdout
        fix = fix_for(done.stdout, "DVC remote")
        assert fix == f"chmod u+w {shlex.quote(str(checkout.remote))}"
        run(["sh", "-c", fix], cwd=checkout.repo, env=checkout.env)
        assert checkout.doctor().returncode == 0


def test_doctor_finds_a_read_only_tracking_store(checkout: Checkout) -> None:
    store = checkout.repo / "mlflow.db"
    sqlite3.connect(store).close()
    # The store really is read-only there: SQLite cannot write to it.
    write = "import sqlite3, sys; " "sqlite3.connect(sys.argv[1]).execute('create table t (x int)')"
    if AS_ROOT:  # a read-only file system: the fix is a store elsewhere
        tried = run(
            [*read_only(checkout.repo), BIN / "python", "-c", write, store],
            env=checkout.env,
            check=False,
        )
        assert tried.returncode != 0 and "readonly database" in tried.stderr
        done = checkout.doctor(*read_only(checkout.repo))
        assert done.returncode == 1 and statuses(done.stdout)["MLflow store"] == "missing"
        assert "read-only" in done.stdout
        assert fix_for(done.stdout, "MLflow store").startswith("export MLFLOW_TRACKING_URI=")
        return
    with without_write_permission(store):  # no permission: the fix gives it
        tried = run([BIN / "python", "-c", write, store], env=checkout.env, check=False)
        assert tried.returncode != 0 and "readonly database" in tried.stderr
        done = checkout.doctor()
        assert done.returncode == 1 and statuses(done.stdout)["MLflow store"] == "missing"
        assert "read-only" in done.stdout
        fix = fix_for(done.stdout, "MLflow store")
        assert fix == f"chmod u+w {shlex.quote(str(store))}"
        run(["sh", "-c", fix], cwd=checkout.repo, env=checkout.env)
        assert checkout.doctor().returncode == 0


def test_doctor_finds_a_tracking_server_that_does_not_answer(checkout: Checkout) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = checkout.doctor(env=dict(checkout.env, MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}"))
    assert done.returncode == 1 and statuses(done.stdout)["MLflow store"] == "missing"
    assert fix_for(done.stdout, "MLflow store") == (
        f"mlflow server --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port {port}"
    )


def test_doctor_finds_the_package_not_installed_from_this_checkout(
    checkout: Checkout, tmp_path: Path
) -> None:
    other = tmp_path / "second" / "demo"
    shutil.copytree(checkout.repo, other, symlinks=True)
    (other.parent / "demo-dvc-remote").mkdir()
    done = run([DSOPS, "doctor", other], cwd=other, env=checkout.env, check=False)
    assert done.returncode == 1 and statuses(done.stdout)["environment"] == "missing"
    assert "not this checkout" in done.stdout
    assert fix_for(done.stdout, "environment") == "pip install -e ."


def test_doctor_on_an_adopted_repository_names_what_it_lacks(
    tmp_path: Path, project_env: ProjectEnv
) -> None:
    """A hand-made repository: a dvc.yaml without DVC, requirements pinning another
    pandas, a pre-commit config never installed. No crash, each with its fix."""
    repo = tmp_path / "handmade"
    repo.mkdir()
    (repo / "requirements.txt").write_text("pandas==1.0.0\n-r more.txt\ngit+https://x/y.git\n")
    (repo / "dvc.yaml").write_text("stages:\n  clean:\n    cmd: python clean.py\n")
    (repo / ".pre-commit-config.yaml").write_text("repos: [ {repo: local, hooks: [\n")
    run(["git", "init", "-q", repo])
    env = project_env.env(GIT_AUTHOR_NAME="Ada", GIT_AUTHOR_EMAIL="ada@example.com")
    done = run([DSOPS, "doctor", repo], cwd=repo, env=env, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    found = statuses(done.stdout)
    assert found["git identity"] == "ok" and found["MLflow store"] == "skipped"
    assert fix_for(done.stdout, "DVC remote") == "dvc init"
    assert fix_for(done.stdout, "pre-commit hooks") == "pre-commit install"
    assert "pandas 3" in done.stdout and "(pinned 1.0.0)" in done.stdout
    assert fix_for(done.stdout, "environment") == "pip install -r requirements.txt"
