"""Shared fixtures: generate each repository once per session, copy it to mutate it,
and build the generated projects' environment once.

The generated project's environment is a virtual environment whose ``.pth`` file
points at this test environment's site-packages, where the test extras installed
exactly the versions the template pins (tests/test_pins.py keeps them equal). So
"the environment a user gets from environment.yml" is built once, and each
generated repository is only ``pip install -e --no-deps``'d into it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pytest
from filelock import FileLock
from suite_tools import (
    PYCACHE,
    provide_npm_tools,
    prune_pycache,
    start_peer_installs,
    stop_peer_installs,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# The tools the test extras install as wheels (shellcheck, node and npm, actionlint,
# hadolint) live beside this Python: visible to the tests and to the code they call
# in-process (`dsops validate --external` looks them up on PATH), activated or not.
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
# Bytecode goes to one cache folder, never into a source tree (no __pycache__ in the
# generated repositories the tests compare), and is reused: by this process (pytest
# rewrites every test module's asserts: cached, collection is 2-3 times faster) and by
# every command the tests run (our package is compiled once, not once per `putup`).
sys.pycache_prefix = str(PYCACHE)
sys.dont_write_bytecode = False
os.environ["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


# The fast tier is `pytest -m "not slow"`. A test is slow by what it uses, so tests
# written later are marked without a list to keep up: any test whose fixtures (direct
# or indirect) build or run a generated project's environment, start a service or run
# a pipeline; tests marked e2e; and tests marked slow by hand, in their files.
SLOW_FIXTURES = frozenset(
    {
        "project_env",  # installs generated projects, runs their tools
        "mlflow_server",
        "sftp",
        "old_template",  # builds an old template's repository to upgrade from
        "release_dist",  # builds this package (its build backend comes from the index)
    }
)


# Where the xdist workers tell the controller each test's group (see pytest_xdist_make_scheduler).
GROUPS_ENV = "DSOPS_XDIST_GROUPS"


def pytest_configure(config: pytest.Config) -> None:
    provide_npm_tools()
    if "PYTEST_XDIST_WORKER" not in os.environ:
        prune_pycache()
        if getattr(config.option, "numprocesses", None):
            os.environ[GROUPS_ENV] = tempfile.mkdtemp(prefix="dsops-xdist-groups-")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` that works with pytest 9: xdist 3.8 groups by a suffix it
    writes into ``item._nodeid``, which pytest 9 no longer reads, so every xdist_group
    was ignored (each worker built every module fixture). The workers write each
    test's group to a file at collection; the controller's scheduler reads it."""
    if config.getvalue("dist") != "loadgroup" or GROUPS_ENV not in os.environ:
        return None
    from xdist.scheduler import LoadGroupScheduling

    folder = Path(os.environ[GROUPS_ENV])
    groups: dict[str, str] = {}

    class Scheduling(LoadGroupScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            if not groups:
                for written in sorted(folder.glob("*.json")):  # every worker's is the same
                    groups.update(json.loads(written.read_text(encoding="utf-8")))
                    break
            return groups.get(nodeid) or super()._split_scope(nodeid)

    return Scheduling(config, log)


def _tell_the_scheduler(items: list[pytest.Item]) -> None:
    worker, folder = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get(GROUPS_ENV)
    if worker is None or folder is None:
        return
    groups = {item.nodeid: f"group:{name}" for item in items if (name := _group(item))}
    partial = Path(folder, f"{worker}.json.partial")
    partial.write_text(json.dumps(groups), encoding="utf-8")
    partial.rename(partial.with_suffix(""))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if uses & SLOW_FIXTURES or item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.slow)
            if _uses_module_fixtures(item):
                # With `-n`, a module's expensive module-scoped fixtures (a trained
                # pipeline, a running server) are built once: its slow tests share a
                # worker (`--dist loadgroup`); every other test goes wherever is free.
                item.add_marker(pytest.mark.xdist_group(_module_group(item)))
        group = SESSION_GROUPS.get(next((f for f in SESSION_GROUPS if f in uses), ""))
        if group is not None and not item.get_closest_marker("xdist_group"):
            # A session fixture that is expensive and made once per worker: the tests
            # that share one of its values share a worker, so it is made once.
            item.add_marker(pytest.mark.xdist_group(group(item)))
    if any("corpus" in getattr(item, "fixturenames", ()) for item in items):
        # The peer tools (~3 min on a cold machine) install in the background while
        # the other tests run; the corpus tests wait for them only if they get there first.
        start_peer_installs()
    items[:] = _schedule_order(items)
    _tell_the_scheduler(items)


def _schedule_order(items: list[pytest.Item]) -> list[pytest.Item]:
    """The order xdist hands work out in (``--no-loadscope-reorder``: this one): the
    groups first, largest first, so no large group starts last and sets the wall time;
    the corpus groups after them (their peer tools may still be installing); then the
    other slow tests; the many short tests last, to even out the workers' finish."""
    groups: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        name = _group(item)
        if name is not None:
            groups.setdefault(name, []).append(index)

    def key(pair: tuple[int, pytest.Item]) -> tuple[int, int, int, int]:
        index, item = pair
        name = _group(item)
        if name is not None:
            members = groups[name]
            return (1 if name.startswith("corpus-") else 0, -len(members), members[0], index)
        return (2 if item.get_closest_marker("slow") else 3, 0, index, index)

    return [item for _, item in sorted(enumerate(items), key=key)]


def _group(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("xdist_group")
    if marker is None:
        return None
    return str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))


def _param(item: pytest.Item, name: str, default: str) -> str:
    callspec = getattr(item, "callspec", None)
    return str(callspec.params.get(name, default)) if callspec is not None else default


# Session fixtures whose values are worth making once per run, not once per worker:
# fixture name -> the xdist group of a test that uses it.
SESSION_GROUPS: dict[str, Callable[[pytest.Item], str]] = {
    "corpus": lambda item: f"corpus-{_param(item, 'kind', 'dsproject')}",
    "release_dist": lambda item: "release-dist",
}


def pytest_unconfigure(config: pytest.Config) -> None:
    stop_peer_installs()
    if "PYTEST_XDIST_WORKER" not in os.environ and GROUPS_ENV in os.environ:
        shutil.rmtree(os.environ.pop(GROUPS_ENV), ignore_errors=True)


def _module_fixtures(item: pytest.Item) -> list[Any]:
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.values() if info is not None else ()
    return [d for group in defs for d in group if d.scope in ("module", "package")]


def _uses_module_fixtures(item: pytest.Item) -> bool:
    return bool(_module_fixtures(item))


def _module_group(item: pytest.Item) -> str:
    """The module, and the value of each parametrized module fixture: a module fixture
    with ``params`` is built once per value anyway (pytest tears one value down before
    it builds the next), so each value's tests are a group of their own and the values
    are built side by side on two workers, not one after the other on one."""
    callspec = getattr(item, "callspec", None)
    values = [
        f"{d.argname}={callspec.params[d.argname]}"
        for d in _module_fixtures(item)
        if d.params is not None and callspec is not None and d.argname in callspec.params
    ]
    return "::".join([item.nodeid.split("::")[0], *sorted(values)])


def base_env(home: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DVC_NO_ANALYTICS="1",
        MLFLOW_DISABLE_TELEMETRY="1",
        DO_NOT_TRACK="1",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("PYTHONPATH", None)
    if home is not None:
        env["HOME"] = str(home)
    return env


def run(
    cmd: Sequence[str | os.PathLike[str]],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 600,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a real command; on an unexpected exit show everything it printed."""
    done = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env or base_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )
    if check and done.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, cmd))} exited {done.returncode} in {cwd}\n"
            f"--- stdout ---\n{done.stdout[-8000:]}\n--- stderr ---\n{done.stderr[-8000:]}"
        )
    return done


def putup(
    target: Path, *options: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run(
        [BIN / "putup", "--dsproject-ops", *options, target.name],
        cwd=target.parent,
        env=env,
        check=check,
    )


@dataclass(frozen=True)
class ProjectEnv:
    """The generated projects' environment: built once, shared by the session."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def env(self, **extra: str) -> dict[str, str]:
        env = base_env()
        env["PATH"] = f"{self.bin}{os.pathsep}{env['PATH']}"
        env["VIRTUAL_ENV"] = str(self.root)
        env.update(extra)
        return env

    def install(self, repo: Path) -> None:
        """``pip install -e`` the generated package (its dependencies are already here)."""
        run(
            [
                self.python,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "-e",
                repo,
            ],
            cwd=repo,
            env=self.env(),
        )

    def run(
        self,
        cmd: Sequence[str | os.PathLike[str]],
        cwd: Path,
        check: bool = True,
        timeout: float = 600,
        **extra: str,
    ) -> subprocess.CompletedProcess[str]:
        return run(cmd, cwd=cwd, env=self.env(**extra), check=check, timeout=timeout)


def set_reading(repo: Path, line: int, column: str, value: str) -> None:
    """Put ``value`` into ``column`` of line ``line`` (0 = the header) of the example's
    raw readings, as a bad export would."""
    raw = repo / "data/raw/sensors.csv"
    lines = raw.read_text(encoding="utf-8").splitlines()
    cells = lines[line].split(",")
    cells[lines[0].split(",").index(column)] = value
    lines[line] = ",".join(cells)
    raw.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def project_env(tmp_path_factory: pytest.TempPathFactory) -> ProjectEnv:
    root = tmp_path_factory.mktemp("project-env") / "venv"
    venv.create(root, with_pip=False, symlinks=True)  # pip, setuptools: the parent's
    site = Path(sysconfig.get_paths()["purelib"])
    child_site = next(root.glob("lib/python*/site-packages"))
    (child_site / "_dsops_parent.pth").write_text(f"{site}\n", encoding="utf-8")
    return ProjectEnv(root)


@pytest.fixture(scope="session")
def validate_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``XDG_CACHE_HOME`` for in-process validation: new each session (never the user's),
    shared by the session's tests. validate remembers results by the content's size and
    checksums (a schema's findings, PC001's and SYN006's passes), so a hit answers as a
    fresh run would, and what a test breaks is new content, checked for real. Shared, the
    validate tests' hundreds of runs check each unchanged file once, not once each."""
    return tmp_path_factory.mktemp("validate-cache")


Options = tuple[str, ...]


@pytest.fixture(scope="session")
def generate(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``generate(*putup options, name="demo")``: a pristine repository, made once
    per set of options in this session. Never modify it: use ``copy_repo``."""
    made: dict[tuple[str, Options], Path] = {}

    def _generate(*options: str, name: str = "demo") -> Path:
        key = (name, tuple(options))
        if key not in made:
            parent = tmp_path_factory.mktemp("generated")
            putup(parent / name, *options)
            made[key] = parent / name
        return made[key]

    return _generate


@pytest.fixture()
def copy_repo(tmp_path: Path) -> Callable[[Path], Path]:
    """A private copy of a generated repository (git history included) to change."""

    def _copy(source: Path) -> Path:
        target = tmp_path / source.name
        shutil.copytree(source, target, symlinks=True)
        return target

    return _copy


@pytest.fixture()
def demo(generate: Callable[..., Path]) -> Path:
    """The default repository (read-only)."""
    return generate()


@dataclass(frozen=True)
class Dist:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="session")
def release_dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """This package's sdist and wheel, built once as a release builds them
    (``python -m build``: the wheel is made from the sdist, in isolated environments)."""
    dist = tmp_path_factory.mktemp("dist")
    run([BIN / "python", "-m", "build", "--outdir", dist, ROOT], cwd=dist, timeout=900)
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    return Dist(sdist, wheel)


@pytest.fixture()
def no_git_identity(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment where git knows no user (a fresh machine)."""
    home = tmp_path / "home"
    home.mkdir()
    env = base_env(home)
    env["GIT_CONFIG_GLOBAL"] = str(home / ".gitconfig-none")
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    for key in list(env):
        if key.startswith(("GIT_AUTHOR", "GIT_COMMITTER")):
            del env[key]
    yield env


# --- the default repository after its first pipeline run, made once per session -------


GIT_ID = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]


def log_rows(repo: Path) -> int:
    """How many rows the experiment log (reports/experiments.csv) holds."""
    with open(repo / "reports/experiments.csv", newline="", encoding="utf-8") as fh:
        return len(list(csv.DictReader(fh)))


def processes_in(folder: Path) -> list[int]:
    """Processes whose working directory is ``folder`` or below (the warm runner's
    server and its forks chdir there; nothing of ours may outlive the command)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue  # gone, or not ours to read
        if cwd == folder or folder in cwd.parents:
            found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class Ran:
    """What a command did (a CompletedProcess, kept as JSON for the other workers)."""

    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class ReproducedDemo:
    """The default repository right after its first pipeline run from scratch, by the
    README's warm route (`demo repro`), then committed. Never change ``snapshot``:
    copy it (``copy_to``). test_pipeline and test_warm_repro check the runs below."""

    snapshot: Path
    head: str  # the commit the pipeline ran on
    first: Ran  # `demo repro` from scratch, with TMPDIR=temp
    plain_again: Ran  # then plain `dvc repro`: nothing to do
    warm_again: Ran  # then `demo repro` again (TMPDIR=temp): nothing to do
    rows: tuple[int, int, int, int]  # log rows: before, after each of the three runs
    lock_after_first: str  # dvc.lock as the first run left it
    left_after: tuple[list[int], list[int]]  # processes in the repo after each warm run
    temp: Path  # TMPDIR of the warm runs

    def copy_to(self, target: Path) -> Path:
        """A private copy (git history and DVC cache included) at ``target``."""
        shutil.copytree(self.snapshot, target, symlinks=True)
        return target


def _reproduce(folder: Path, source: Path, project_env: ProjectEnv) -> dict[str, Any]:
    repo, temp = folder / "demo", folder / "tmp"
    for leftover in (repo, temp):  # a build that failed before it was recorded
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.copytree(source, repo, symlinks=True)
    temp.mkdir()
    project_env.install(repo)
    head = run(["git", "rev-parse", "HEAD"], cwd=repo).stdout.strip()
    demo = [project_env.bin / "demo", "repro"]
    counts = [log_rows(repo)]
    first = project_env.run(demo, cwd=repo, TMPDIR=str(temp))
    left_first = processes_in(repo)
    lock = (repo / "dvc.lock").read_text(encoding="utf-8")
    counts.append(log_rows(repo))
    plain = project_env.run(["dvc", "repro"], cwd=repo)
    counts.append(log_rows(repo))
    warm = project_env.run(demo, cwd=repo, TMPDIR=str(temp))
    left_warm = processes_in(repo)
    counts.append(log_rows(repo))
    run(["git", "add", "-A"], cwd=repo)
    run(["git", *GIT_ID, "commit", "-q", "--no-verify", "-m", "First training run"], cwd=repo)

    def ran(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
        return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}

    return {
        "head": head,
        "first": ran(first),
        "plain_again": ran(plain),
        "warm_again": ran(warm),
        "rows": counts,
        "lock_after_first": lock,
        "left_after": [left_first, left_warm],
    }


@pytest.fixture(scope="session")
def reproduced_demo(
    generate: Callable[..., Path],
    project_env: ProjectEnv,
    tmp_path_factory: pytest.TempPathFactory,
) -> ReproducedDemo:
    """Made once per session, not once per xdist worker: the first worker that needs it
    makes it in the session's shared temporary folder while holding a file lock; the
    others wait for it (they would spend the same CPU making their own) and read what
    the runs printed from the record the first one wrote."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / "reproduced-demo"
    folder.mkdir(exist_ok=True)
    record = folder / "record.json"
    with FileLock(str(folder) + ".lock", timeout=1800):
        if not record.exists():
            partial = folder / "record.json.partial"
            partial.write_text(json.dumps(_reproduce(folder, generate(), project_env)), "utf-8")
            partial.rename(record)
    data = json.loads(record.read_text(encoding="utf-8"))
    left_first, left_warm = data["left_after"]
    before, first, plain, warm = data["rows"]
    return ReproducedDemo(
        snapshot=folder / "demo",
        head=data["head"],
        first=Ran(**data["first"]),
        plain_again=Ran(**data["plain_again"]),
        warm_again=Ran(**data["warm_again"]),
        rows=(before, first, plain, warm),
        lock_after_first=data["lock_after_first"],
        left_after=(left_first, left_warm),
        temp=folder / "tmp",
    )
