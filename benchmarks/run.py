"""Benchmark dsproject-ops against its peers, in one run, and write docs/benchmarks.md.

    python benchmarks/run.py            # everything, ~10 min on 2 cores (mostly dvc repro)
    python benchmarks/run.py --quick    # our own commands only, 3 runs, small data
    python benchmarks/run.py --only "putup " --runs 25 --output /tmp/putup.md   # a closer look
    python benchmarks/run.py --quick --only service   # only the model service section
    python benchmarks/run.py --quick --only ttfp      # only time to first prediction (vs Kedro)

Every command is a whole process, timed by wall clock and by the CPU time of the
process and its children (``getrusage(RUSAGE_CHILDREN)`` deltas). The commands are
interleaved: run 1 of every command, then run 2 of every command, ... (starting
each round at a different command), so a noisy neighbour hits all of them alike.
Each command runs once unmeasured first (imports compiled, caches warm).

Environments, kept under ``--cache-dir`` (default ``~/.cache/dsproject-ops-benchmarks``):
- ``ours``: a virtual environment with only this package (editable) and its
  dependencies, as a user gets it from ``pip install pyscaffoldext-dsproject-ops``;
- ``peer``: PyScaffold 4.6 + pyscaffoldext-dsproject 0.7.2 from PyPI;
- the generated repository's pipeline, tests and server run in its own environment,
  made from its hashed lock as its README's uv route makes it (bytecode compiled).
With ``--quick`` the environment running this script is used for our commands and the
peer and ``dvc repro`` are left out. A command that does not exist yet (a ``dsops``
subcommand not written) or that fails is reported as such; the script goes on.

The model service section (full mode, or ``--only service``) trains the generated
project's model once, then load-tests, one after the other on 127.0.0.1, the old
standard-library server (benchmarks/stdlib_server.py) and ``<project> serve`` with 1
and 8 workers, each with the generated ``scripts/loadtest.py`` (same requests, same
clients): throughput and p50/p99 latency side by side.

The time-to-first-prediction section (full mode, or ``--only ttfp``; benchmarks/ttfp.py)
follows a newcomer from ``putup`` to the first answered prediction on the uv and the
pip route, cold and warm package cache, step by step, beside Kedro's spaceflights
starter from ``kedro new`` to its first trained model.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import serving  # benchmarks/serving.py, beside this script
import ttfp

ROOT = Path(__file__).resolve().parents[1]
PEER = ("pyscaffold==4.6", "pyscaffoldext-dsproject==0.7.2")
TIMEOUT = 900.0


@dataclass
class Bench:
    """One command to time. ``prepare`` runs before each measurement, untimed, and
    returns the folder to run in."""

    name: str
    argv: list[str]
    prepare: Callable[[int], Path]
    env: dict[str, str] = field(default_factory=dict)
    max_runs: int | None = None  # a long command joins only the first rounds
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    problem: str = ""


@dataclass
class Goal:
    text: str
    measured: Callable[[dict[str, Bench]], float | None]
    limit: float
    unit: str


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DVC_NO_ANALYTICS="1",
        MLFLOW_DISABLE_TELEMETRY="1",
        DO_NOT_TRACK="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("PYTHONPATH", None)
    # A user's `pip install` compiles the bytecode; a development shell that forbids
    # writing it would time the compiler on every run instead of the command.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # putup needs a git identity; only where git has none is one given (it would
    # also spare PyScaffold's and our own `git config` calls, favouring nobody).
    found = subprocess.run(["git", "config", "--get", "user.name"], capture_output=True, text=True)
    if not found.stdout.strip() and not env.get("GIT_AUTHOR_NAME"):
        for role in ("AUTHOR", "COMMITTER"):
            env[f"GIT_{role}_NAME"] = "Benchmark"
            env[f"GIT_{role}_EMAIL"] = "benchmark@example.com"
    return env


def sh(
    argv: Sequence[str | os.PathLike[str]],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Setup steps (untimed): fail loudly."""
    done = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env or base_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if done.returncode != 0:
        raise SystemExit(
            f"benchmark setup failed: {' '.join(map(str, argv))}\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done


def measure(bench: Bench, cwd: Path) -> tuple[float, float, subprocess.CompletedProcess[bytes]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        bench.argv, cwd=cwd, env={**base_env(), **bench.env}, capture_output=True, timeout=TIMEOUT
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


# ---------------------------------------------------------------- environments


def venv(folder: Path, packages: Sequence[str], marker_text: str) -> Path:
    """A virtual environment holding ``packages``, made once per ``marker_text``."""
    marker = folder / ".bench-installed"
    if marker.is_file() and marker.read_text() == marker_text:
        return folder / "bin"
    log(f"installing {' '.join(packages)} into {folder} ...")
    shutil.rmtree(folder, ignore_errors=True)
    sh([sys.executable, "-m", "venv", folder])
    sh([folder / "bin" / "python", "-m", "pip", "install", "-q", *packages])
    marker.write_text(marker_text)
    return folder / "bin"


def ours_env(cache: Path) -> Path:
    # Editable, so the current source is measured; reinstalled when dependencies change.
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return venv(cache / "ours-venv", ["-e", str(ROOT)], f"{ROOT}\n{key}")


def peer_env(cache: Path) -> Path:
    return venv(cache / "peer-venv", PEER, "\n".join(PEER))


def project_env(work: Path, repo: Path) -> Path:
    """The generated project's own environment, made as its README's fast route makes
    it: a venv with the hashed lock (``uv pip sync``, bytecode compiled as pip would
    compile it) and the project installed editable. The pipeline, the generated tests
    and the server are timed where a user runs them, with the lock's packages only
    (a venv over this environment would add our test tools' pytest plugins)."""
    folder = work / f"project-venv-{repo.parent.name}"
    python = folder / "bin" / "python"
    log(f"the generated project's environment from its lock: {folder}")
    sh([*ttfp.uv_command(), "venv", "-q", "--python", sys.executable, folder])
    lock = repo / "requirements" / "lock.txt"
    sh([*ttfp.uv_command(), "pip", "sync", "-q", "--compile-bytecode", "--python", python, lock])
    sh([*ttfp.uv_command(), "pip", "install", "-q", "--no-deps", "--python", python, "-e", repo])
    return folder / "bin"


def exists(dsops: Path, command: str) -> bool:
    done = subprocess.run(
        [str(dsops), command, "--help"],
        capture_output=True,
        text=True,
        env=base_env(),
        timeout=TIMEOUT,
    )
    return done.returncode == 0


# ---------------------------------------------------------------- fixtures


def fresh_dir(work: Path, label: str) -> Callable[[int], Path]:
    def prepare(run: int) -> Path:
        folder = work / "runs" / f"{label}-{run}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    return prepare


def copy_of(source: Path, work: Path, label: str) -> Callable[[int], Path]:
    def prepare(run: int) -> Path:
        target = work / "runs" / f"{label}-{run}" / source.name
        shutil.rmtree(target.parent, ignore_errors=True)
        target.parent.mkdir(parents=True)
        shutil.copytree(source, target, symlinks=True)
        return target

    return prepare


def copies_of(source: Path, work: Path, label: str, count: int) -> Callable[[int], Path]:
    """A folder holding ``count`` copies of ``source`` (a fleet), made afresh each run."""

    def prepare(run: int) -> Path:
        folder = work / "runs" / f"{label}-{run}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for index in range(count):
            shutil.copytree(source, folder / f"{source.name}-{index:03d}", symlinks=True)
        return folder

    return prepare


def fixed(folder: Path) -> Callable[[int], Path]:
    return lambda run: folder


def write_untracked(folder: Path, count: int) -> None:
    """``count`` small files, as a real data folder would hold."""
    per_folder = 1000
    for index in range(count):
        sub = folder / f"{index // per_folder:04d}"
        if index % per_folder == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{index:06d}.csv").write_bytes(b"t,x\n0,1\n")


def lend_untracked(repo: Path, count: int, cache: Path | None) -> Callable[[], None]:
    """Put ``count`` untracked files under the repository's data/raw/bulk; return how
    to take them back. Writing and deleting 100,000 files takes minutes on a slow disk,
    so a full run keeps them in the cache and only renames the folder in and out."""
    target = repo / "data" / "raw" / "bulk"
    stored = cache / f"untracked-{count}" if cache else None
    if stored is not None and (stored / ".complete").is_file():
        try:
            os.rename(stored, target)
            return lambda: os.rename(target, stored)
        except OSError:  # another file system: write them afresh
            pass
    log(f"writing {count:,} untracked files ...")
    write_untracked(target, count)
    if stored is None:
        return lambda: None
    (target / ".complete").write_text("")

    def give_back() -> None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(target, stored)
        except OSError:
            pass

    return give_back


def older_template(work: Path, python: Path) -> Path | None:
    """A template archive one version older than the current one, with a changed
    README line, in a history folder ``dsops upgrade`` reads (DSOPS_TEMPLATE_HISTORY).
    Returns that folder, or None where this package has no template history yet."""
    import json

    old = work / "old-template"
    shutil.copytree(ROOT / "templates", old, ignore=shutil.ignore_patterns("__pycache__"))
    spec = json.loads((old / "cookiecutter.json").read_text(encoding="utf-8"))
    spec["_template_version"] = "0.0.1"
    (old / "cookiecutter.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    readme = old / "{{cookiecutter.project_name}}" / "README.md"
    readme.write_text(
        readme.read_text(encoding="utf-8") + "\nAn older template's line.\n", encoding="utf-8"
    )
    history = work / "history"
    done = subprocess.run(
        [
            str(python),
            "-m",
            "pyscaffoldext.dsproject_ops.upgrade.history",
            "snapshot",
            "--root",
            str(old),
            "--into",
            str(history),
        ],
        capture_output=True,
        text=True,
        env=base_env(),
    )
    return history if done.returncode == 0 else None


def generate_old(work: Path, python: Path) -> Path:
    """A repository as the older template made it (same writer, same single commit)."""
    target = work / "old" / "demo"
    target.parent.mkdir(parents=True)
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from pyscaffoldext.dsproject_ops import answers, render, writer\n"
        "a = answers.with_template_version(answers.build('demo'), '0.0.1')\n"
        "writer.write_project(Path(sys.argv[2]), render.render(a, Path(sys.argv[1])), a)\n"
    )
    sh([python, "-c", code, work / "old-template", target])
    return target


# ---------------------------------------------------------------- the run


REPRO = "dvc repro (generated repository, from scratch)"
WARM_REPRO = "demo repro (the same, stages sharing warm imports)"
NOOP_REPRO = "dvc repro (generated repository, nothing changed)"
GENERATED_TESTS = "pytest (generated repository's tests, after dvc repro)"


def build_benches(
    args: argparse.Namespace, work: Path, cleanups: list[Callable[[], None]]
) -> list[Bench]:
    cache = Path(args.cache_dir)
    ours = Path(sys.executable).parent if args.quick else ours_env(cache)
    putup, dsops, python = ours / "putup", ours / "dsops", ours / "python"
    benches: list[Bench] = [
        Bench(
            "putup --dsproject-ops x", [str(putup), "--dsproject-ops", "x"], fresh_dir(work, "ours")
        ),
    ]
    if not args.quick:
        peer = peer_env(cache)
        benches.append(
            Bench(
                "putup --dsproject x (peer)",
                [str(peer / "putup"), "--dsproject", "x"],
                fresh_dir(work, "peer"),
            )
        )
        benches.append(
            Bench("putup x (plain PyScaffold)", [str(putup), "x"], fresh_dir(work, "plain"))
        )

    base = work / "base" / "demo"
    base.parent.mkdir(parents=True)
    sh([putup, "--dsproject-ops", base.name], cwd=base.parent)

    if exists(dsops, "validate"):
        benches.append(Bench("dsops validate", [str(dsops), "validate"], fixed(base)))
    else:
        benches.append(Bench("dsops validate", [], fixed(base), problem="missing"))

    upgrade_names = (
        "dsops upgrade (no template change)",
        "dsops upgrade (template change)",
        f"dsops upgrade (no change, {args.untracked:,} untracked files in data/)",
    )
    if exists(dsops, "upgrade"):
        benches.append(
            Bench(upgrade_names[0], [str(dsops), "upgrade"], copy_of(base, work, "upgrade-noop"))
        )
        history = older_template(work, python)
        if history is None:
            benches.append(
                Bench(
                    upgrade_names[1], [], fixed(base), problem="no template history to upgrade from"
                )
            )
        else:
            old = generate_old(work, python)
            benches.append(
                Bench(
                    upgrade_names[1],
                    [str(dsops), "upgrade"],
                    copy_of(old, work, "upgrade-change"),
                    env={"DSOPS_TEMPLATE_HISTORY": str(history)},
                )
            )
        bulky = work / "bulky" / "demo"
        shutil.copytree(base, bulky, symlinks=True)
        cleanups.append(lend_untracked(bulky, args.untracked, None if args.quick else cache))
        benches.append(Bench(upgrade_names[2], [str(dsops), "upgrade"], fixed(bulky)))
    else:
        benches += [Bench(name, [], fixed(base), problem="missing") for name in upgrade_names]

    benches += fleet_benches(args, work, dsops, python)
    benches.append(Bench("dsops --help", [str(dsops), "--help"], fixed(work)))
    if exists(dsops, "learn"):
        # Where the learner stands: the catalogue and the progress file, nothing heavier.
        benches.append(Bench("dsops learn", [str(dsops), "learn"], fixed(base)))
    else:
        benches.append(Bench("dsops learn", [], fixed(base), problem="missing"))
    benches.append(Bench("putup --help", [str(putup), "--help"], fixed(work)))

    if not args.quick:
        if (base / "dvc.yaml").is_file():
            project = project_env(work, base)
            # The project's python first, then the tools of the running environment.
            path = os.pathsep.join(
                [str(project), str(Path(sys.executable).parent), os.environ.get("PATH", "")]
            )
            env = {"PATH": path, "VIRTUAL_ENV": str(project.parent)}
            benches.append(
                Bench(
                    REPRO,
                    [str(project / "python"), "-m", "dvc", "repro", "-q"],
                    copy_of(base, work, "repro"),
                    env=env,
                    max_runs=args.repro_runs,
                )
            )
            cli = [str(project / "python"), "-m", f"{base.name}.cli"]
            if "repro" in sh([*cli, "--help"], cwd=base, env={**base_env(), **env}).stdout:
                benches.append(
                    Bench(
                        WARM_REPRO,
                        [*cli, "repro", "-q"],
                        copy_of(base, work, "warm-repro"),
                        env=env,
                        max_runs=args.repro_runs,
                    )
                )
            # The loop after the first run: nothing changed, and the project's own tests.
            trained = copy_of(base, work, "trained")(0)
            log("training the model once for the no-op repro and the generated tests")
            sh([project / "python", "-m", "dvc", "repro", "-q"], trained, {**base_env(), **env})
            benches.append(
                Bench(
                    NOOP_REPRO,
                    [str(project / "python"), "-m", "dvc", "repro", "-q"],
                    fixed(trained),
                    env=env,
                )
            )
            benches.append(
                Bench(
                    GENERATED_TESTS,
                    # The README's `pytest`: its cache keeps the tests' small MLflow model.
                    [str(project / "python"), "-m", "pytest", "-q"],
                    fixed(trained),
                    env=env,
                )
            )
        else:
            benches += [
                Bench(name, [], fixed(base), problem="missing (no dvc.yaml generated)")
                for name in (REPRO, NOOP_REPRO, GENERATED_TESTS)
            ]
    return benches


# ---------------------------------------------------------------- the model service

SERVERS = (
    ("standard-library server (before issue 16)", "stdlib", 1),
    ("FastAPI/uvicorn, 1 worker", "serve", 1),
    ("FastAPI/uvicorn, 8 workers", "serve", 8),
)


def measure_service(args: argparse.Namespace, work: Path) -> list[tuple[str, dict[str, object]]]:
    """Throughput and latency of each server under the same load, in this run."""
    putup = Path(sys.executable).parent / "putup"
    repo = work / "service" / "demo"
    repo.parent.mkdir(parents=True)
    sh([putup, "--dsproject-ops", repo.name], cwd=repo.parent)
    project = project_env(work, repo)
    path = os.pathsep.join(
        [str(project), str(Path(sys.executable).parent), os.environ.get("PATH", "")]
    )
    env = {**base_env(), "PATH": path, "VIRTUAL_ENV": str(project.parent)}
    log("training the model for the service benchmark (dvc repro train)")
    sh([project / "python", "-m", "dvc", "repro", "-q", "train"], cwd=repo, env=env)
    results: list[tuple[str, dict[str, object]]] = []
    for label, kind, workers in SERVERS:
        port = serving.free_port()
        if kind == "stdlib":
            argv = [str(project / "python"), str(ROOT / "benchmarks" / "stdlib_server.py")]
            argv += ["--port", str(port)]
            probe = "/health"
        else:
            argv = [str(project / "demo"), "serve", "--port", str(port)]
            argv += ["--workers", str(workers), "--log-level", "warning"]
            probe = "/ready"
        log(f"service: {label}")
        with open(work / f"server-{kind}-{workers}.log", "wb") as out:
            proc = subprocess.Popen(argv, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            if not serving.wait_until_answers(port, proc, probe):
                results.append((label, {"problem": "did not start"}))
                continue
            load = [str(project / "python"), "scripts/loadtest.py", "--json"]
            load += ["--url", f"http://127.0.0.1:{port}"]
            load += ["--concurrency", str(args.service_clients), "--duration", "120"]
            sh([*load, "--requests", "100"], cwd=repo, env=env)  # warm-up, unmeasured
            done = subprocess.run(
                [*load, "--requests", str(args.service_requests)],
                cwd=repo,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
            results.append((label, json.loads(done.stdout.strip().splitlines()[-1])))
        except (subprocess.SubprocessError, ValueError, IndexError) as error:
            results.append((label, {"problem": f"failed: {error}"[:120]}))
        finally:
            serving.stop(proc)
    return results


def service_report(
    results: list[tuple[str, dict[str, object]]], args: argparse.Namespace
) -> list[str]:
    lines = [
        "",
        "## Model service",
        "",
        f"`scripts/loadtest.py` of the generated project: {args.service_requests}"
        f" `POST /predict` (one record each) from {args.service_clients} keep-alive clients",
        "on 127.0.0.1, after 100 unmeasured requests; the servers run one after the other",
        "in this run. More workers than cores only add contention: compare on the machine",
        "that serves.",
        "",
        "| server | throughput | p50 | p99 | failed |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, result in results:
        if "problem" in result:
            lines.append(f"| {label} | {result['problem']} | | | |")
            continue
        lines.append(
            f"| {label} | {result['throughput']} req/s | {result['p50_ms']} ms"
            f" | {result['p99_ms']} ms | {result['failed']} |"
        )
    return lines


def measure_ttfp(args: argparse.Namespace, work: Path) -> list[ttfp.Flow]:
    """Time to first prediction, ours and Kedro's, on each install route (ttfp.py)."""
    cache = Path(args.cache_dir)
    putup = (Path(sys.executable).parent if args.quick else ours_env(cache)) / "putup"
    routes = [r for r in args.ttfp_routes.split(",") if r in ttfp.ROUTES]
    return ttfp.measure(putup, cache, work / "ttfp", base_env(), routes, log)


FLEET_NAMES = (
    "dsops fleet -j {jobs} (fleet of {n} repositories, template change)",
    "dsops upgrade one after another (fleet of {n} repositories, template change)",
)


def fleet_names(args: argparse.Namespace) -> tuple[str, str]:
    jobs = min(4, os.cpu_count() or 1)
    a, b = FLEET_NAMES
    return a.format(jobs=jobs, n=args.fleet), b.format(n=args.fleet)


def fleet_benches(args: argparse.Namespace, work: Path, dsops: Path, python: Path) -> list[Bench]:
    """``dsops fleet`` over N copies of an older repository (``--fleet``, default 100)
    against a shell loop of ``dsops upgrade`` over N copies, in the same rounds. The
    fleet does more per repository (a worktree, a commit on a branch); the loop only
    stages. Both run ``dsops validate`` on each result (the upgrade does)."""
    names = fleet_names(args)
    if not exists(dsops, "fleet") or not exists(dsops, "upgrade"):
        return [Bench(name, [], fixed(work), problem="missing") for name in names]
    history = work / "history"
    if not history.is_dir() and (
        (work / "old-template").exists() or older_template(work, python) is None
    ):
        return [Bench(n, [], fixed(work), problem="no template history") for n in names]
    old = work / "old" / "demo"
    if not old.is_dir():
        old = generate_old(work, python)
    env = {"DSOPS_TEMPLATE_HISTORY": str(history)}
    loop = f'for r in */; do "{dsops}" upgrade "$r" >/dev/null || exit 1; done'
    return [
        Bench(
            names[0],
            [str(dsops), "fleet", "-j", str(min(4, os.cpu_count() or 1)), "*"],
            copies_of(old, work, "fleet", args.fleet),
            env=env,
            max_runs=args.fleet_runs,
        ),
        Bench(
            names[1],
            ["sh", "-c", loop],
            copies_of(old, work, "fleet-loop", args.fleet),
            env=env,
            max_runs=args.fleet_runs,
        ),
    ]


def _fleet_ratio(benches: dict[str, Bench], cpu: bool = False) -> float | None:
    fleet = next((n for n in benches if n.startswith("dsops fleet")), "")
    loop = next((n for n in benches if n.startswith("dsops upgrade one after")), "")
    if not cpu:
        return ratio(benches, fleet, loop)
    a, b = benches.get(fleet), benches.get(loop)
    if not a or not b or not a.cpus or not b.cpus:
        return None
    return statistics.median(a.cpus) / statistics.median(b.cpus)


def run_all(benches: list[Bench], runs: int) -> None:
    active = [b for b in benches if not b.problem]
    for run in range(-1, runs):  # run -1: the unmeasured warm-up
        log(f"round {run + 1}/{runs}" if run >= 0 else "warm-up round")
        shift = max(run, 0) % max(len(active), 1)
        for bench in active[shift:] + active[:shift]:
            if bench.problem or (bench.max_runs is not None and run >= bench.max_runs):
                continue
            cwd = bench.prepare(run)
            wall, cpu, done = measure(bench, cwd)
            if done.returncode != 0:
                said = (done.stderr or done.stdout).decode(errors="replace").strip()
                last = (said.splitlines() or [""])[-1]
                bench.problem = f"failed (exit {done.returncode}): {last[:120]}"
                continue
            if run >= 0:
                bench.walls.append(wall)
                bench.cpus.append(cpu)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def by_name(benches: list[Bench]) -> dict[str, Bench]:
    return {b.name: b for b in benches}


def ratio(benches: dict[str, Bench], top: str, bottom: str) -> float | None:
    a, b = benches.get(top), benches.get(bottom)
    if not a or not b or not a.walls or not b.walls:
        return None
    return statistics.median(a.walls) / statistics.median(b.walls)


GOALS = [
    Goal(
        "`putup --dsproject-ops` ≤ 1.0× `putup --dsproject` (wall)",
        lambda b: ratio(b, "putup --dsproject-ops x", "putup --dsproject x (peer)"),
        1.0,
        "×",
    ),
    Goal("`dsops validate` ≤ 0.3 s", lambda b: _wall(b, "dsops validate"), 0.3, "s"),
    Goal(
        "`dsops upgrade` with nothing to do ≤ 0.5 s",
        lambda b: _wall(b, "dsops upgrade (no template change)"),
        0.5,
        "s",
    ),
    Goal(
        "`dsops upgrade` flat with untracked data (ratio to the plain no-op ≤ 1.2×)",
        lambda b: _untracked_ratio(b),
        1.2,
        "×",
    ),
    Goal(
        "`dsops fleet` ≤ 0.6× `dsops upgrade` one repository after another (wall)",
        lambda b: _fleet_ratio(b),
        0.6,
        "×",
    ),
    Goal("`dsops --help` ≤ 0.15 s", lambda b: _wall(b, "dsops --help"), 0.15, "s"),
    Goal("`dsops learn` ≤ 0.3 s", lambda b: _wall(b, "dsops learn"), 0.3, "s"),
    Goal("`dvc repro` from scratch ≤ 8 s CPU", lambda b: _cpu(b, REPRO), 8.0, "s"),
    Goal("`demo repro` from scratch ≤ 8 s CPU", lambda b: _cpu(b, WARM_REPRO), 8.0, "s"),
    Goal("`dvc repro` with nothing changed ≤ 1.0 s", lambda b: _wall(b, NOOP_REPRO), 1.0, "s"),
    Goal("the generated tests ≤ 8 s", lambda b: _wall(b, GENERATED_TESTS), 8.0, "s"),
]


def _wall(benches: dict[str, Bench], name: str) -> float | None:
    bench = benches.get(name)
    return median(bench.walls) if bench else None


def _cpu(benches: dict[str, Bench], name: str) -> float | None:
    bench = benches.get(name)
    return median(bench.cpus) if bench else None


def _untracked_ratio(benches: dict[str, Bench]) -> float | None:
    bulky = next((n for n in benches if "untracked" in n), "")
    return ratio(benches, bulky, "dsops upgrade (no template change)")


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * size / 2**30:.0f} GiB memory"
    except (ValueError, OSError, AttributeError):
        pass
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    try:
        load = "load average now {:.1f} {:.1f} {:.1f} (1, 5, 15 min)".format(*os.getloadavg())
    except OSError:
        load = "load average unknown"
    return [
        f"- Machine: {cpu}, {os.cpu_count()} cores{memory}; {platform.platform()}",
        f"- {load}: wall times above CPU times mean other processes shared the cores",
        f"- Python {platform.python_version()}; {git}",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
    ]


def fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "–"
    return f"{value:.3f} {unit}" if unit == "s" else f"{value:.2f}{unit}"


def report(
    benches: list[Bench],
    args: argparse.Namespace,
    service: list[tuple[str, dict[str, object]]] | None = None,
    flows: list[ttfp.Flow] | None = None,
) -> str:
    named = by_name(benches)
    mode = "quick (our own commands only)" if args.quick else "full"
    lines = [
        "# Benchmarks",
        "",
        "Written by `python benchmarks/run.py`"
        + (" --quick" if args.quick else "")
        + " (see its docstring). Whole processes, interleaved, after one unmeasured",
        "warm-up run of each; wall clock and CPU time (user + system of the process and its",
        "children). Numbers vary from run to run and machine to machine: compare the ratios.",
        "",
        *machine(),
        f"- Mode: {mode}; {args.runs} measured runs of each command"
        + ("" if args.quick else f" ({args.repro_runs} of `dvc repro`)"),
        "",
        "| command | wall median | wall min–max | CPU median | CPU min–max |",
        "|---|---:|---:|---:|---:|",
    ]
    for b in benches:
        if b.problem or not b.walls:
            lines.append(f"| {b.name} | {b.problem or 'no run'} | | | |")
            continue
        lines.append(
            f"| {b.name} | {fmt(median(b.walls))} | {min(b.walls):.3f}–{max(b.walls):.3f} s"
            f" | {fmt(median(b.cpus))} | {min(b.cpus):.3f}–{max(b.cpus):.3f} s |"
        )
    lines += ["", "## Ratios (wall medians)", ""]
    for top, bottom in (
        ("putup --dsproject-ops x", "putup --dsproject x (peer)"),
        ("putup --dsproject-ops x", "putup x (plain PyScaffold)"),
        ("putup --dsproject x (peer)", "putup x (plain PyScaffold)"),
    ):
        lines.append(f"- {top} / {bottom}: {fmt(ratio(named, top, bottom), '×')}")
    fleet, loop = fleet_names(args)
    lines.append(f"- {fleet} / {loop}: {fmt(_fleet_ratio(named), '×')}")
    # The fleet's parallel share of a shared machine moves its wall ratio; CPU does not.
    lines.append(f"- the same, CPU time: {fmt(_fleet_ratio(named, cpu=True), '×')}")
    lines += ["", "## Goals", "", "| goal | measured | met |", "|---|---:|:---:|"]
    for goal in GOALS:
        value = goal.measured(named)
        met = "–" if value is None else ("yes" if value <= goal.limit else "**no**")
        lines.append(f"| {goal.text} | {fmt(value, goal.unit)} | {met} |")
    if service is not None:
        lines += service_report(service, args)
    if flows is not None:
        lines += ttfp.report(flows)
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="our own commands only, in this environment (3 runs, 1,000 files)",
    )
    parser.add_argument("--runs", type=int, help="measured runs of each command (default 10)")
    parser.add_argument(
        "--repro-runs",
        type=int,
        default=3,
        help="measured runs of the (minutes long) dvc repro (default 3)",
    )
    parser.add_argument(
        "--untracked",
        type=int,
        help="untracked files under data/ for the upgrade case (default 100,000)",
    )
    parser.add_argument(
        "--fleet",
        type=int,
        help="repositories in the fleet case (default 100; --quick: 4)",
    )
    parser.add_argument(
        "--fleet-runs",
        type=int,
        default=1,
        help="measured runs of the (minutes long) fleet case (default 1)",
    )
    parser.add_argument(
        "--only",
        metavar="TEXT",
        help="time only the commands whose name contains TEXT (a closer look)",
    )
    parser.add_argument(
        "--service-requests",
        type=int,
        default=2000,
        help="measured requests per server in the model service section (default 2000)",
    )
    parser.add_argument(
        "--service-clients",
        type=int,
        default=8,
        help="concurrent clients in the model service section (default 8)",
    )
    parser.add_argument(
        "--ttfp-routes",
        default=",".join(ttfp.ROUTES),
        help="install routes of the time-to-first-prediction section (default: uv,pip)",
    )
    parser.add_argument(
        "--output",
        default=str(ROOT / "docs" / "benchmarks.md"),
        help="the Markdown report (default: docs/benchmarks.md)",
    )
    parser.add_argument(
        "--cache-dir",
        default=str(Path.home() / ".cache" / "dsproject-ops-benchmarks"),
        help="where the benchmark's virtual environments are kept",
    )
    args = parser.parse_args(argv)
    args.runs = args.runs or (3 if args.quick else 10)
    args.untracked = (
        args.untracked if args.untracked is not None else (1000 if args.quick else 100_000)
    )
    args.fleet = args.fleet if args.fleet is not None else (4 if args.quick else 100)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="dsops-bench-") as tmp:
        cleanups: list[Callable[[], None]] = []
        try:
            service = None
            flows = None
            only_service = bool(args.only) and args.only in "service"
            only_ttfp = bool(args.only) and args.only in "ttfp"
            if only_service or only_ttfp:
                benches = []
            else:
                benches = build_benches(args, Path(tmp), cleanups)
                if args.only:
                    benches = [b for b in benches if args.only in b.name]
                run_all(benches, args.runs)
            if (not args.quick and not args.only) or only_service:
                service = measure_service(args, Path(tmp))
            if (not args.quick and not args.only) or only_ttfp:
                flows = measure_ttfp(args, Path(tmp))
        finally:
            for cleanup in cleanups:
                cleanup()
    text = report(benches, args, service, flows)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
