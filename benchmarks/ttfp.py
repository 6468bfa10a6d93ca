"""Time to first prediction: a newcomer's whole loop, step by step, against Kedro's.

Ours: ``putup --dsproject-ops demo`` -> the install commands the generated README
documents for the route (read from it: a virtual environment, the hashed lock
``requirements/lock.txt``, the project itself ``--no-deps -e .``) -> ``demo repro``
-> ``demo serve`` answering ``/ready`` -> the first answered ``POST /predict``
(the generated ``scripts/loadtest.py``, one request).
The peer: Kedro's spaceflights-pandas starter (/work/shared/peers): ``kedro new
--starter=<folder> --name spaceflights`` -> a virtual environment -> its
``requirements.txt`` -> ``kedro run`` (time to the first trained model).

Both follow their README's two install routes: pip, and uv (``uv venv`` + ``uv pip``).
Each (route, project) gets its own empty package cache: the first install is the
cold-cache one (everything downloaded), the second, into a fresh venv with the same
cache, the warm one; the other steps run once, in the warm flow. The cold time to
first prediction is the warm flow with its install step replaced by the cold one.
The generators (``putup``, ``kedro``) come from environments made beforehand, as a
user has them installed already. Steps are whole processes: wall clock and CPU of
the process and its children (for the server, read from /proc when it answers).
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import serving  # benchmarks/serving.py, beside this script

PEER_STARTER = Path("/work/shared/peers/kedro-spaceflights-pandas")
KEDRO = "kedro==1.7.0"
STEP_TIMEOUT = 3600.0
ROUTES = ("uv", "pip")
Log = Callable[[str], None]


@dataclass
class Step:
    name: str
    wall: float = 0.0
    cpu: float = 0.0
    problem: str = ""


@dataclass
class Flow:
    """One project's loop on one install route: the warm steps and the cold install."""

    who: str  # "ours" or "kedro"
    route: str
    steps: list[Step] = field(default_factory=list)
    cold_install: Step | None = None

    @property
    def problem(self) -> str:
        return next((f"{s.name}: {s.problem}" for s in self.steps if s.problem), "")

    def total(self, cold: bool = False, cpu: bool = False) -> float | None:
        if self.problem or not self.steps:
            return None
        total = 0.0
        for step in self.steps:
            if cold and step.name.startswith("install") and self.cold_install is not None:
                if self.cold_install.problem:
                    return None
                step = self.cold_install
            total += step.cpu if cpu else step.wall
        return total


def timed(
    name: str, argv: Sequence[str | os.PathLike[str]], cwd: Path, env: dict[str, str]
) -> Step:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [str(a) for a in argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return Step(name, problem=f"timed out after {STEP_TIMEOUT:.0f} s")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["?"]
        return Step(name, wall, cpu, f"exit {done.returncode}: {tail[0][:150]}")
    return Step(name, wall, cpu)


def _proc_cpu(pid: int) -> float:
    """CPU seconds of a running process and its waited-for children (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def serve_and_predict(venv: Path, repo: Path, env: dict[str, str], log_to: Path) -> list[Step]:
    """``demo serve`` until /ready answers, then one POST /predict (loadtest.py)."""
    port = serving.free_port()
    argv = [str(venv / "bin" / "demo"), "serve", "--port", str(port), "--log-level", "warning"]
    start = time.perf_counter()
    with open(log_to, "wb") as out:
        proc = subprocess.Popen(argv, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        ready = Step("serve: until /ready answers")
        if not serving.wait_until_answers(port, proc, "/ready"):
            ready.problem = "did not become ready (see the server log)"
            return [ready]
        ready.wall = time.perf_counter() - start
        ready.cpu = _proc_cpu(proc.pid)
        load = [str(venv / "bin" / "python"), "scripts/loadtest.py", "--json"]
        load += ["--url", f"http://127.0.0.1:{port}", "--requests", "1", "--concurrency", "1"]
        return [ready, timed("first prediction (POST /predict)", load, repo, env)]
    finally:
        serving.stop(proc)


def uv_command() -> list[str]:
    here = Path(sys.executable).parent / "uv"
    if here.exists():
        return [str(here)]
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _env(base: dict[str, str], venv: Path, cache: Path) -> dict[str, str]:
    env = dict(base)
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{base.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PIP_CACHE_DIR=str(cache / "pip"),
        UV_CACHE_DIR=str(cache / "uv"),
        KEDRO_DISABLE_TELEMETRY="true",
    )
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    return env


def install_steps(
    route: str, venv: Path, requirements: Sequence[str], cwd: Path, env: dict[str, str]
) -> tuple[Step, Step]:
    """(make the venv, install the requirements) on ``route``."""
    if route == "uv":
        # the interpreter of the pip route (no managed Python download)
        make = [*uv_command(), "venv", "-q", "--python", sys.executable, venv]
        made = timed("venv (uv venv)", make, cwd, env)
        sync = "sync" if requirements[0] == "-r" and "lock" in requirements[1] else "install"
        files = [r for r in requirements if r != "-r"] if sync == "sync" else requirements
        # --python: this venv, never the environment running the benchmark
        argv = [*uv_command(), "pip", sync, "-q", "--python", venv / "bin" / "python", *files]
        return made, timed(f"install (uv pip {sync})", argv, cwd, env)
    make = timed("venv (python -m venv)", [sys.executable, "-m", "venv", venv], cwd, env)
    argv = [venv / "bin" / "python", "-m", "pip", "install", "-q", *requirements]
    return make, timed("install (pip install)", argv, cwd, env)


# The generated README's install routes: the fenced block that makes .venv each way.
ROUTE_MARKERS = {"uv": "uv venv", "pip": "python -m venv"}
LOCK = "requirements/lock.txt"


def readme_route(readme: str, route: str) -> list[list[str]]:
    """The commands the generated README documents for ``route``, in order (activating
    the environment is what the steps' environment does)."""
    marker = ROUTE_MARKERS[route]
    for block in re.findall(r"```[a-z]*\n(.*?)```", readme, re.S):
        if marker not in block:
            continue
        commands = []
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words and words[0] not in (".", "source"):
                    commands.append(words)
        return commands
    raise ValueError(f"the generated README documents no {route} route ({marker!r})")


def step_name(words: Sequence[str]) -> str:
    """How the report names a README command: venv, install (the lock) or project."""
    shown = " ".join(w for w in words if w != "-q")
    if "venv" in words[:3]:
        return f"venv ({' '.join(words[:-1])})"
    if any(LOCK in w for w in words):
        return f"install ({' '.join(w for w in words if not w.startswith('-') and LOCK not in w)})"
    if "-e" in words:
        return f"project ({shown})"
    return shown


def argv_for(words: Sequence[str], venv: Path) -> list[str | os.PathLike[str]]:
    """A README command as this benchmark runs it: quiet, the venv made from the
    interpreter of the pip route (no managed Python download), into ``venv``."""
    tool, args = words[0], list(words[1:])
    if tool == "uv":
        if args[0] == "venv":
            return [*uv_command(), "venv", "-q", "--python", sys.executable, venv]
        # --python: this venv, never the environment running the benchmark
        return [*uv_command(), *args[:2], "-q", "--python", venv / "bin" / "python", *args[2:]]
    if tool in ("python", "python3") and args[:2] == ["-m", "venv"]:
        return [sys.executable, "-m", "venv", venv]
    if tool == "pip":
        return [venv / "bin" / "python", "-m", "pip", args[0], "-q", *args[1:]]
    found = venv / "bin" / tool
    return [found if found.exists() else tool, *args]


def ours(route: str, putup: Path, work: Path, base: dict[str, str], log: Log) -> Flow:
    flow = Flow("ours", route)
    cache = work / f"cache-ours-{route}"
    parent = work / f"ours-{route}"
    parent.mkdir(parents=True)
    log(f"ttfp ours/{route}: putup")
    flow.steps.append(
        timed("generate (putup --dsproject-ops)", [putup, "--dsproject-ops", "demo"], parent, base)
    )
    repo = parent / "demo"
    if flow.problem:
        return flow
    try:
        commands = readme_route((repo / "README.md").read_text(encoding="utf-8"), route)
    except (OSError, ValueError) as error:
        flow.steps.append(Step("install", problem=str(error)))
        return flow
    # cold: an empty cache, the commands up to the lock's install; the venv is thrown away
    cold_venv = work / f"cold-ours-{route}"
    log(f"ttfp ours/{route}: install, cold cache")
    cold_env = _env(base, cold_venv, cache)
    for words in commands:
        step = timed(step_name(words), argv_for(words, cold_venv), repo, cold_env)
        if step.name.startswith("install") or step.problem:
            flow.cold_install = step
            break
    shutil.rmtree(cold_venv, ignore_errors=True)
    venv = repo / ".venv"
    env = _env(base, venv, cache)
    log(f"ttfp ours/{route}: install, warm cache")
    for words in commands:  # the README's route, as documented
        flow.steps.append(timed(step_name(words), argv_for(words, venv), repo, env))
        if flow.problem:
            return flow
    # The README's pipeline command: `demo repro` (stages sharing warm imports) where
    # the project has it, else `dvc repro`.
    helps = subprocess.run([venv / "bin" / "demo", "--help"], capture_output=True, text=True)
    repro = ["demo", "repro"] if "repro" in helps.stdout else ["dvc", "repro"]
    log(f"ttfp ours/{route}: {' '.join(repro)}")
    flow.steps.append(timed(" ".join(repro), [venv / "bin" / repro[0], repro[1]], repo, env))
    if flow.problem:
        return flow
    log(f"ttfp ours/{route}: serve, first prediction")
    flow.steps += serve_and_predict(venv, repo, env, work / f"serve-{route}.log")
    return flow


def kedro(route: str, kedro_bin: Path, work: Path, base: dict[str, str], log: Log) -> Flow:
    flow = Flow("kedro", route)
    cache = work / f"cache-kedro-{route}"
    parent = work / f"kedro-{route}"
    parent.mkdir(parents=True)
    env0 = {**base, "KEDRO_DISABLE_TELEMETRY": "true"}
    log(f"ttfp kedro/{route}: kedro new")
    new = [kedro_bin / "kedro", "new", f"--starter={PEER_STARTER}", "--name", "spaceflights"]
    flow.steps.append(timed("generate (kedro new --starter)", new, parent, env0))
    repo = parent / "spaceflights"
    if flow.problem:
        return flow
    reqs = ["-r", "requirements.txt"]
    cold_venv = work / f"cold-kedro-{route}"
    log(f"ttfp kedro/{route}: install, cold cache")
    _, flow.cold_install = install_steps(route, cold_venv, reqs, repo, _env(base, cold_venv, cache))
    shutil.rmtree(cold_venv, ignore_errors=True)
    venv = repo / ".venv"
    env = _env(base, venv, cache)
    log(f"ttfp kedro/{route}: install, warm cache")
    flow.steps += install_steps(route, venv, reqs, repo, env)
    if flow.problem:
        return flow
    log(f"ttfp kedro/{route}: kedro run")
    flow.steps.append(
        timed("kedro run (first trained model)", [venv / "bin" / "kedro", "run"], repo, env)
    )
    return flow


def kedro_tool(cache: Path, log: Log) -> Path:
    """Kedro itself, installed beforehand (untimed), as putup is for us."""
    folder = cache / "kedro-tool-venv"
    marker = folder / ".bench-installed"
    if not (marker.is_file() and marker.read_text() == KEDRO):
        log(f"installing {KEDRO} into {folder} ...")
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", folder], check=True)
        subprocess.run([folder / "bin" / "python", "-m", "pip", "install", "-q", KEDRO], check=True)
        marker.write_text(KEDRO)
    return folder / "bin"


def measure(
    putup: Path, cache: Path, work: Path, base: dict[str, str], routes: Sequence[str], log: Log
) -> list[Flow]:
    """Ours and Kedro, alternating, on each route."""
    kedro_bin = kedro_tool(cache, log) if PEER_STARTER.is_dir() else None
    flows: list[Flow] = []
    for route in routes:
        flows.append(_logged(ours(route, putup, work, base, log), log))
        if kedro_bin is not None:
            flows.append(_logged(kedro(route, kedro_bin, work, base, log), log))
    return flows


def _logged(flow: Flow, log: Log) -> Flow:
    """Each flow's steps as soon as it ends (a long run shows its figures early)."""
    for step in [*flow.steps, *([flow.cold_install] if flow.cold_install else [])]:
        said = step.problem or f"{step.wall:.1f} s wall, {step.cpu:.1f} s CPU"
        log(f"ttfp {flow.who}/{flow.route}: {step.name}: {said}")
    return flow


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def report(flows: Sequence[Flow]) -> list[str]:
    lines = [
        "",
        "## Time to first prediction",
        "",
        "A newcomer's loop, once per install route (benchmarks/ttfp.py): ours from `putup`",
        "to the first answered `POST /predict`; Kedro's spaceflights-pandas starter from",
        "`kedro new` to the end of `kedro run` (its first trained model). Warm cache: the",
        "packages were downloaded before (same cache, fresh venv); cold: an empty cache",
        "(the warm flow's other steps, with the cold install).",
        "",
    ]
    for flow in flows:
        who = "ours" if flow.who == "ours" else "Kedro spaceflights-pandas"
        lines += [f"### {who}, {flow.route} route", "", "| step | wall | CPU |", "|---|---:|---:|"]
        for step in flow.steps:
            if step.problem:
                lines.append(f"| {step.name} | {step.problem} | |")
            else:
                lines.append(f"| {step.name} | {_s(step.wall)} | {_s(step.cpu)} |")
        cold = flow.cold_install
        if cold is not None:
            text = cold.problem or f"{_s(cold.wall)} | {_s(cold.cpu)}"
            lines.append(
                f"| {cold.name}, cold cache | {text} |" + ("" if not cold.problem else " |")
            )
        lines.append(
            f"| **total, warm cache** | **{_s(flow.total())}** | {_s(flow.total(cpu=True))} |"
        )
        lines.append(
            f"| **total, cold cache** | **{_s(flow.total(cold=True))}**"
            f" | {_s(flow.total(cold=True, cpu=True))} |"
        )
        lines.append("")
    lines += ["Ratios (ours / Kedro, wall):", ""]
    for route in ROUTES:
        mine = next((f for f in flows if f.who == "ours" and f.route == route), None)
        peer = next((f for f in flows if f.who == "kedro" and f.route == route), None)
        if mine is None:
            continue
        for cold in (False, True):
            a = mine.total(cold=cold)
            b = peer.total(cold=cold) if peer else None
            ratio = f"{a / b:.2f}×" if a is not None and b else "–"
            label = "cold" if cold else "warm"
            lines.append(f"- {route} route, {label} cache: {_s(a)} / {_s(b)} = {ratio}")
    routes = {f.route: f for f in flows if f.who == "ours"}
    if "uv" in routes and "pip" in routes:
        a, b = routes["uv"].total(), routes["pip"].total()
        if a is not None and b:
            lines.append(f"- ours, uv route / pip route (warm): {a / b:.2f}×")
    return lines + goals(flows)


def goals(flows: Sequence[Flow]) -> list[str]:
    """Issue 18's goals for the loop, on the fastest route measured (warm cache)."""
    mine = [f for f in flows if f.who == "ours" and f.total() is not None]
    if not mine:
        return []
    best = min(mine, key=lambda f: f.total() or 0.0)
    peer = next((f for f in flows if f.who == "kedro" and f.route == best.route), None)
    total, theirs = best.total(), peer.total() if peer else None
    ready = next((s.wall for s in best.steps if s.name.startswith("serve")), None)
    rows = [
        (f"time to first prediction, warm cache ({best.route}) ≤ 45 s", total, 45.0, " s"),
        (
            f"… ≤ 1.0× Kedro's time to first trained model ({best.route}, warm)",
            total / theirs if total is not None and theirs else None,
            1.0,
            "×",
        ),
        ("the server ready ≤ 2 s after start", ready, 2.0, " s"),
    ]
    lines = ["", "Goals:", "", "| goal | measured | met |", "|---|---:|:---:|"]
    for text, value, limit, unit in rows:
        shown = "–" if value is None else f"{value:.{1 if unit == ' s' else 2}f}{unit}"
        met = "–" if value is None else ("yes" if value <= limit else "**no**")
        lines.append(f"| {text} | {shown} | {met} |")
    return lines
