"""Run each repository of a fleet in its own short-lived process, at most N at once.

Most of a lone ``dsops upgrade``'s time is not the merge: it is Python starting,
importing the upgrade and the validator, and compiling the template's Jinja sources
(twice: the recorded version and the target). So the fleet does that once, here
(:func:`warm`), and *forks* one child per repository from this warm process: a child
starts in milliseconds with the modules imported and the templates compiled, and
runs :func:`.worker.process` (git, the upgrade in a temporary worktree, the commit).

Isolation is that of a process per repository, as before: a child that raises,
crashes, is killed or runs past ``--timeout`` is one "failed" row, and its temporary
worktree is removed here. Nothing a child changes in memory reaches another child.
Where ``fork`` does not exist (Windows) children are spawned: the same results, at a
lone upgrade's start-up cost each.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Callable

from .outcome import FAILED, Result
from .targets import Target
from .worker import Options, process

# The name given to the answers that compile the templates in the parent (any valid one).
_WARM_NAME = "fleet-warm-up"


def start_method() -> str:
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


@dataclass
class _Job:
    target: Target
    child: BaseProcess
    conn: Connection
    scratch: Path
    started: float


class Warmth:
    """What the parent has prepared for its children: the modules an upgrade imports,
    every archived template version extracted (by the parent, so that its clean-up at
    exit is the parent's: a forked child leaves without running ``atexit``), and the
    Jinja sources of each template version compiled, the target one before the first
    child, a recorded one as soon as a child reports it. Warming is only for speed:
    a failure here is ignored (the child does the same work itself)."""

    def __init__(self) -> None:
        self.compiled: set[str] = set()

    def start(self, to: str | None) -> None:
        try:
            from ..repository import Repository  # noqa: F401 - imported for the children
            from ..upgrade import apply, cli, fitting, history, preflight, report  # noqa: F401
            from ..validate import cli as validate_cli  # noqa: F401
            from ..validate.registry import all_checks

            all_checks()
            for version in history.known_versions():
                history.template_for(version)
        except Exception:  # noqa: BLE001 - speed only
            return
        self.version(to or history.current_version())

    def version(self, version: str | None) -> None:
        if not version or version in self.compiled:
            return
        self.compiled.add(version)
        try:
            from ..answers import build
            from ..render import render
            from ..upgrade import history

            render(build(_WARM_NAME), root=history.template_for(version))
        except Exception:  # noqa: BLE001 - speed only
            pass


def run(
    targets: list[Target],
    opts: Options,
    jobs: int,
    finished: Callable[[Result], None] = lambda result: None,
) -> list[Result]:
    """Every target's result, in the order they finished; ``finished`` is called with
    each as it comes in (the progress display)."""
    context = multiprocessing.get_context(start_method())
    jobs = max(1, jobs)
    warmth = Warmth()
    if start_method() == "fork":
        warmth.start(opts.to)
    pending = list(reversed(targets))
    running: dict[Connection, _Job] = {}
    results: list[Result] = []

    def done(result: Result) -> None:
        results.append(result)
        if start_method() == "fork":
            warmth.version(result.from_version)
        finished(result)

    try:
        while pending or running:
            while pending and len(running) < jobs:
                target = pending.pop()
                try:
                    job = _start(context, target, opts)
                except OSError as exc:  # no process to be had (a limit): this row fails
                    done(_failed(target, f"cannot start its process: {exc.strerror or exc}"))
                    continue
                running[job.conn] = job
            if not running:
                continue
            deadline = min(j.started for j in running.values()) + opts.timeout
            for ready in wait(list(running), timeout=max(0.0, deadline - time.monotonic())):
                assert isinstance(ready, Connection)
                done(_finish(running.pop(ready)))
            now = time.monotonic()
            for conn, job in list(running.items()):
                if now - job.started >= opts.timeout:
                    del running[conn]
                    done(_timed_out(job, opts.timeout))
    except BaseException:  # Ctrl-C included: no child, and no worktree, is left behind
        for job in running.values():
            _kill(job)
            job.child.join()
            job.conn.close()
            _clean(job)
        raise
    return results


def _start(context: Any, target: Target, opts: Options) -> _Job:
    scratch = Path(tempfile.mkdtemp(prefix="dsops-fleet-"))
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(target, opts, scratch, writer), name=f"dsops fleet: {target.name}"
    )
    try:
        child.start()
    except BaseException:
        reader.close()
        writer.close()
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    # Only the child holds the writing end now: its exit, however abrupt, is an
    # end-of-file here.
    writer.close()
    return _Job(target, child, reader, scratch, time.monotonic())


def _child(target: Target, opts: Options, scratch: Path, conn: Connection) -> None:
    """In the child: one repository, its result sent back as a dict. The terminal is
    the parent's: the upgrade's output is captured by the worker; anything else (a
    stray print, a traceback) goes nowhere rather than into the table. The child leads
    a session of its own: a timeout ends its git commands (and their hooks) with it,
    and without a terminal nothing (ssh asking about a host key) waits for a person."""
    if hasattr(os, "setsid"):
        os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    try:
        conn.send(process(target, opts, scratch).as_json())
    finally:
        conn.close()


def _finish(job: _Job) -> Result:
    try:
        data: dict[str, Any] | None = job.conn.recv()
    except (EOFError, OSError):
        data = None
    job.conn.close()
    job.child.join(timeout=60)
    if data is None or job.child.exitcode is None:  # died, or hung on its way out
        _kill(job)
        job.child.join()
    _clean(job)
    if data is not None:
        return Result(**data)
    return _failed(job.target, _death(job.child.exitcode), job.started)


def _timed_out(job: _Job, timeout: float) -> Result:
    _kill(job)
    job.child.join()
    job.conn.close()
    _clean(job)
    return _failed(job.target, f"timed out after {timeout:.0f} s", job.started)


def _failed(target: Target, reason: str, started: float | None = None) -> Result:
    result = Result(target.name, str(target.url or target.path), FAILED, reason=reason)
    if started is not None:
        result.seconds = round(time.monotonic() - started, 2)
    return result


def _kill(job: _Job) -> None:
    """The child and whatever it started (git, a remote's hook): its session's group."""
    pid = job.child.pid
    if pid is not None and hasattr(os, "killpg"):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:  # not its own group yet, or gone already
            pass
    job.child.kill()


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the upgrade's process was killed ({name}) before it finished"
    return f"the upgrade's process exited {code} without a result"


def _clean(job: _Job) -> None:
    """A child that died leaves its worktree: remove it and git's note of it (a child
    that finished has done so itself; then this finds nothing to do)."""
    if not job.scratch.exists():
        return
    tree = job.scratch / job.target.name
    leftover = tree.exists()
    if leftover and job.target.path.is_dir():
        # twice --force: also a worktree killed while `git worktree add` had it locked
        _git(job.target.path, "worktree", "remove", "--force", "--force", str(tree))
    shutil.rmtree(job.scratch, ignore_errors=True)
    if leftover and job.target.path.is_dir():
        _git(job.target.path, "worktree", "prune")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=120)
