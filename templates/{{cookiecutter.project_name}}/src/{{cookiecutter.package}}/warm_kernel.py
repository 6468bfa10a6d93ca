"""A notebook's kernel forked from the warm stage runner instead of started afresh.

papermill starts each notebook's kernel as a new process (`python -m ipykernel_launcher
-f kernel.json`), which imports ipykernel, pandas, matplotlib... again. Under
`{{ cookiecutter.project_name }} repro` the stage's process is a fork of the warm server, which
imported them already: `forked_kernel()` gives papermill a kernel manager whose kernel
process is a fork of this one, taken before papermill starts (no event loop, thread or
ZeroMQ socket of its own yet), that then runs exactly what ipykernel_launcher runs, with
the command line, environment and folder jupyter_client chose. Everything else (the
connection file, its keys, interrupts, shutdown) is jupyter_client's own. A kernel of
another Python or language (a kernelspec whose command is not ipykernel_launcher of
this interpreter) starts as a new process, as it would without the runner.

What the fork inherits was imported outside any kernel; the few libraries known to
decide something then from that (matplotlib's backend, pandas' width, tqdm.auto) are
set as a new kernel sets them (`as_in_a_new_kernel`). Plain `dvc repro` stays the
reference: a notebook whose output differs under the runner is a bug of this module.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import signal
import subprocess
import sys
import traceback
import uuid
from contextlib import contextmanager
from typing import Any, Iterator, NoReturn, cast

from jupyter_client.manager import KernelManager
from jupyter_client.provisioning import LocalProvisioner


class ForkedKernel:
    """The forked kernel, with the part of `subprocess.Popen` jupyter_client uses."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkProvisioner(LocalProvisioner):
    """Launches the kernel by handing its command to the waiting fork."""

    def __init__(self, spare: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spare: tuple[int, int] | None = spare  # (pid, write end of its pipe)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        if self.spare is None or not is_this_ipykernel(cmd):
            self.release()
            return await super().launch_kernel(cmd, **kwargs)
        pid, pipe = self.spare
        self.spare = None
        env = kwargs.get("env") or dict(os.environ)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        with os.fdopen(pipe, "w", encoding="utf-8") as writer:
            json.dump({"cmd": cmd, "env": env, "cwd": cwd}, writer)
        # Typed as a Popen: jupyter_client calls only what ForkedKernel has.
        self.process = cast("subprocess.Popen[bytes]", ForkedKernel(pid))
        self.pid = self.pgid = pid  # the fork leads its own session, as a kernel does
        self.cwd = cwd
        return self.connection_info

    def kill_now(self) -> None:
        """Kill the kernel's process group and collect the kernel, synchronously."""
        process = self.process
        if process is not None and process.poll() is None:
            try:
                os.killpg(self.pgid or process.pid, signal.SIGKILL)
            except OSError:
                process.kill()
            process.wait()

    def release(self) -> None:
        """Let an unused fork end (its pipe closes empty) and collect it."""
        if self.spare is not None:
            pid, pipe = self.spare
            self.spare = None
            os.close(pipe)
            os.waitpid(pid, 0)


def is_this_ipykernel(cmd: list[str]) -> bool:
    """Is ``cmd`` ipykernel_launcher run by this very interpreter?"""
    return (
        len(cmd) >= 3
        and cmd[1:3] == ["-m", "ipykernel_launcher"]
        and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable)
    )


@contextmanager
def forked_kernel(kernel_name: str, **traits: Any) -> Iterator[KernelManager]:
    """A kernel manager for papermill (``km=``) whose kernel is forked from here;
    the kernel is shut down on leaving (papermill stops only kernels it started).

    Enter it before anything starts an event loop or a ZeroMQ context."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(write)
        run_kernel_when_asked(read)
    os.close(read)
    provisioner: ForkProvisioner | None = None
    try:
        manager = KernelManager(kernel_name=kernel_name, **traits)
        manager.kernel_id = str(uuid.uuid4())
        # Set before the kernel starts, the provisioner is the one jupyter_client uses.
        provisioner = ForkProvisioner(
            (pid, write),
            kernel_id=manager.kernel_id,
            kernel_spec=manager.kernel_spec,
            parent=manager,
        )
        manager.provisioner = provisioner
        yield manager
        if manager.has_kernel:
            # The notebook has run: no cell to interrupt. (shutdown_kernel() sends
            # SIGINT first, which a kernel still answering a message logs as an error.)
            manager.request_shutdown()
            manager.finish_shutdown()
            manager.cleanup_resources()
    except BaseException:
        # A failure or Ctrl-C mid-notebook leaves papermill's tasks in its event loop,
        # waiting for the kernel: stop the kernel without running that loop again.
        if provisioner is not None:
            provisioner.kill_now()
            manager.cleanup_connection_file()
        raise
    finally:
        if provisioner is not None:
            provisioner.release()
        else:  # no kernel manager (an unknown kernel name): the fork ends unused
            os.close(write)
            os.waitpid(pid, 0)


def run_kernel_when_asked(pipe: int) -> NoReturn:
    """In the fork: wait for the kernel's command, then be that kernel."""
    code = 0
    try:
        os.setsid()  # as jupyter_client starts kernels: Ctrl-C reaches it when sent
        with os.fdopen(pipe, encoding="utf-8") as reader:
            text = reader.read()
        if not text:  # the kernel was started otherwise, or not at all
            os._exit(0)
        request = json.loads(text)
        for signum in (signal.SIGTERM, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        cmd = request["cmd"]
        launcher = importlib.util.find_spec("ipykernel_launcher")
        program = launcher.origin if launcher and launcher.origin else cmd[0]
        sys.argv = [program, *cmd[3:]]  # as the kernel's `python -m` would set it
        # As ipykernel_launcher: the folder is not on sys.path while ipykernel loads.
        if sys.path and sys.path[0] in ("", os.getcwd()):
            del sys.path[0]
        from ipykernel.kernelapp import IPKernelApp

        # ipykernel read JPY_PARENT_PID when the server imported it: pass it on, so
        # the kernel ends when the stage's process does (killed, say), as usual.
        app = IPKernelApp.instance(parent_handle=os.getppid())
        app.initialize(cmd[3:])
        as_in_a_new_kernel()
        app.start()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()  # IPython saves and closes its history there
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def as_in_a_new_kernel() -> None:
    """Redo what libraries imported before the fork decided, when imported, from not
    running in a kernel, as a new kernel process would decide it (the executed notebook
    is the same as under plain `dvc repro`: tests/test_warm_repro.py checks it)."""
    if "matplotlib" in sys.modules:
        # Its backend, read from MPLBACKEND on import: ipykernel has just chosen it
        # (inline, unless set). pyplot loads it when the first figure is made.
        backend = os.environ.get("MPLBACKEND")
        if backend:
            sys.modules["matplotlib"].rcParams["backend"] = backend
    if "pandas" in sys.modules:
        # Columns shown: 0 (fit the terminal) outside a kernel, 20 in one.
        sys.modules["pandas"].set_option("display.max_columns", 20)
    for name in ("tqdm.auto", "tqdm.autonotebook"):
        sys.modules.pop(name, None)  # console or notebook progress bars: imported again
