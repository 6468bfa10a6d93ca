"""The warm stage runner: `dvc repro` whose stages share one Python process's imports.

Every stage of dvc.yaml runs `python -m <package>.cli COMMAND ...`: a new process
that imports pandas, scikit-learn, MLflow... again, which costs more CPU than the
work. The `repro` command starts a small fork server, runs `dvc repro` with
SOCKET_VARIABLE naming the server's socket, then stops the server and waits for it
(`exp-run` does the same for `dvc exp run`, whose stages DVC runs the same way).
DVC still decides which stages run and records each one in dvc.lock; only the process
that runs a stage's command changes: the command (cli.py) asks the server, which forks
a copy of itself (the libraries already imported) to run it with the stage's standard
streams, directory and environment. Plain `dvc repro` runs each stage in its own
process, as before.

The server imports a command's module (and what it imports lazily, PRELOAD) the first
time that command runs, so what nothing runs costs nothing (a no-op repro stays cheap).
A library that reads an environment variable when imported sees the server's (the one
`repro` started with); DVC's per-stage variables are read when the command runs.
A stage command never fails because of the runner: when the server cannot be reached
the command runs in its own process, as under plain `dvc repro`.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import signal
import socket
import struct
import sys
from typing import Any, NamedTuple, NoReturn

# Set by `repro` for dvc and so for every stage command; the server removes it from
# the commands it runs, so a command that calls another one runs that one itself.
SOCKET_VARIABLE = "{{ cookiecutter.package|upper }}_WARM_SOCKET"
# Commands that never go to the server: those that start it, and the long-running
# service.
COLD_COMMANDS = frozenset({"repro", "exp-run", "serve"})
# What a command's module imports inside its functions (to keep `--help` fast), by
# module: the server imports it once, before the first fork that needs it. A name
# missing here only costs that import in each stage that uses it.
PRELOAD: dict[str, tuple[str, ...]] = {
{%- if cookiecutter.example %}
    "quality": ("pandas", "pandera.pandas"),
    "train": ("mlflow.sklearn", "mlflow.models"),
    "evaluate": ("matplotlib.pyplot", "skops.io", "yaml"),
    "scoring": ("pandas", "skops.io", "yaml"),
    "drift": ("scipy.stats",),
    "registry": ("mlflow", "mlflow.pyfunc"),
{%- endif %}
    "tracking": ("mlflow",),
    # A notebook's kernel is forked from its stage (warm_kernel.py): ipykernel and
    # what notebooks usually import are imported once, for all the notebook stages.
    "notebook_stage": (
        "yaml",
        "papermill",
        "zmq",
        "traitlets.config",
        "{{ cookiecutter.package }}.warm_kernel",
        "ipykernel.kernelapp",
        "pandas",
        "matplotlib.pyplot",
    ),
}
MAX_REQUEST = 1 << 20  # bytes of argv + cwd + environment: anything larger is refused
# True in a command the server forked: it may fork more of itself (warm_kernel.py).
forked = False


# --- the client: one stage command, in the process dvc started --------------------


def run_remote(argv: list[str], prog: str) -> int | None:
    """Run ``argv`` in the server; its exit code, or None when no server answers
    (then the caller runs the command itself)."""
    path = os.environ.get(SOCKET_VARIABLE)
    if not path or not hasattr(socket, "send_fds"):
        return None
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(path)
        fields = {"argv": argv, "argv0": sys.argv[0], "cwd": os.getcwd()}
        request = json.dumps({**fields, "env": dict(os.environ)}).encode()
        # Our stdin, stdout and stderr travel with the first bytes: the forked command
        # reads and writes exactly where this process would (dvc's pipes or terminal).
        socket.send_fds(conn, [struct.pack("!I", len(request))], [0, 1, 2])
        conn.sendall(request)
        replies = conn.makefile("rb")
        pid = int(replies.readline())
    except (OSError, ValueError):  # no server (any more), or it closed before forking
        return None

    def forward(signum: int, _frame: Any) -> None:
        # Ctrl-C reaches dvc and this process, not the server's session: pass it on.
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    line = replies.readline()
    if not line:
        print(f"{prog}: error: the warm runner stopped mid-command", file=sys.stderr)
        return 1
    code = int(line)
    if code < 0:  # killed by a signal: end the same way, so dvc sees what a shell would
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


# --- the server: imports once, forks once per stage -------------------------------


class Request(NamedTuple):
    """A stage command to run, as the client sent it."""

    argv: list[str]
    argv0: str
    cwd: str
    env: dict[str, str]
    fds: list[int]


def receive(conn: socket.socket) -> Request:
    """Read one request (raises ValueError or OSError when it is malformed)."""
    conn.settimeout(10)  # a client that stalls mid-request must not stall the server
    header, fds, _flags, _addr = socket.recv_fds(conn, 4, 3)
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("a request carries stdin, stdout and stderr")
    while len(header) < 4:
        header += conn.recv(4 - len(header)) or b"!"  # EOF: padded, then refused
    (size,) = struct.unpack("!I", header[:4])
    if size > MAX_REQUEST:
        raise ValueError(f"request of {size} bytes")
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ValueError("truncated request")
        body += chunk
    conn.settimeout(None)
    fields = json.loads(body)
    env = {str(k): str(v) for k, v in fields["env"].items()}
    env.pop(SOCKET_VARIABLE, None)
    argv = [str(arg) for arg in fields["argv"]]
    return Request(argv, str(fields["argv0"]), str(fields["cwd"]), env, fds)


def warm_up(command: str) -> None:
    """Import here, in the server, what ``command`` imports: later forks inherit it."""
    import importlib

    from .cli import COMMANDS

    if command not in COMMANDS:
        return  # the forked command reports it
    module = COMMANDS[command][0].split(":")[0]
    for name in (f"{__package__}.{module}", *PRELOAD.get(module, ())):
        try:
            importlib.import_module(name)
        except Exception:  # a broken module fails in the command, with its traceback
            pass


def serve(listener: socket.socket) -> Request | None:
    """Answer requests until SIGTERM. Returns None in the server; in each forked
    child it returns that child's request, with the server's state closed."""
    import selectors

    # Stages draw into files, no display: a GUI toolkit would not survive a fork.
    os.environ.setdefault("MPLBACKEND", "Agg")
    # MLflow is imported here, before any stage connects: the stages' defaults first.
    from .tracking import quiet_mlflow

    quiet_mlflow()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)  # SIGCHLD and SIGTERM wake the selector below
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    running: dict[int, socket.socket] = {}  # pid of a forked command -> its client
    stopping = False
    while not stopping:
        for key, _ in selector.select():
            if key.fileobj is listener:
                conn, _ = listener.accept()
                try:
                    request = receive(conn)
                except (OSError, ValueError, KeyError, TypeError):
                    conn.close()  # the client runs the command itself
                    continue
                warm_up(request.argv[0] if request.argv else "")
                # The imported objects go to a generation the collector never visits:
                # scanning them in a child would copy every page the fork shares.
                gc.freeze()
                pid = os.fork()
                if pid == 0:
                    # The child: drop the server's signal plumbing and sockets.
                    signal.set_wakeup_fd(-1)
                    for signum in (signal.SIGCHLD, signal.SIGTERM):
                        signal.signal(signum, signal.SIG_DFL)
                    # The client forwards Ctrl-C: it interrupts the command even where
                    # the server started with SIGINT ignored (a background job).
                    signal.signal(signal.SIGINT, signal.default_int_handler)
                    selector.close()
                    listener.close()
                    os.close(wake_r)
                    os.close(wake_w)
                    for other in running.values():
                        other.close()
                    conn.close()
                    return request
                for fd in request.fds:
                    os.close(fd)
                conn.sendall(b"%d\n" % pid)
                running[pid] = conn
                selector.register(conn, selectors.EVENT_READ, pid)
            elif key.fileobj is wake_r:
                stopping = signal.SIGTERM in os.read(wake_r, 512)
                reap(running, selector, block=False)
            elif not running[key.data].recv(1):
                # The client went away (killed): its command must not run on alone.
                _kill(key.data, signal.SIGTERM)
                selector.unregister(key.fileobj)
    for pid in running:
        _kill(pid, signal.SIGTERM)
    reap(running, selector, block=True)
    return None


def reap(running: dict[int, socket.socket], selector: Any, block: bool) -> None:
    """Collect finished commands and send each client its command's exit code."""
    for pid in list(running):
        done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        if done == 0:
            continue
        conn = running.pop(pid)
        try:
            conn.sendall(b"%d\n" % os.waitstatus_to_exitcode(status))
        except OSError:
            pass  # the client is gone
        try:
            selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def run_request(request: Request) -> int:
    """In the forked child: become the stage's process, then run its command."""
    # The server runs this file as __main__; the commands import it as a module.
    from . import warm_repro

    warm_repro.forked = True
    os.chdir(request.cwd)
    os.environ.clear()
    os.environ.update(request.env)  # DVC_ROOT, MLFLOW_*, ... differ from stage to stage
    for target, fd in enumerate(request.fds):
        os.dup2(fd, target)
        os.close(fd)
    encoding, errors = sys.stdout.encoding, sys.stdout.errors
    sys.stdin = open(0, encoding=encoding, closefd=False)
    # As Python sets them up: stdout line-buffered on a terminal only, stderr always.
    buffering = 1 if os.isatty(1) else -1
    sys.stdout = open(1, "w", buffering, encoding, errors, closefd=False)
    sys.stderr = open(2, "w", 1, encoding, "backslashreplace", closefd=False)
    sys.argv = [request.argv0, *request.argv]
    if "numpy" in sys.modules:
        import numpy

        # Python reseeds `random` in a forked child; numpy's global generator would
        # otherwise repeat the server's sequence in every stage (unlike new processes).
        numpy.random.seed()
    from .cli import main

    return main(request.argv)


# --- the command ------------------------------------------------------------------


def repro_main(argv: list[str], prog: str) -> int:
    """`dvc repro ARGS...` with the stages run by one warm fork server."""
    return run_warm(["repro", *argv])


def exp_run_main(argv: list[str], prog: str) -> int:
    """`dvc exp run ARGS...` (e.g. `-S train.n_estimators=200`) with the stages run by
    one warm fork server. A queued experiment (`--queue`) runs later, in `dvc queue`'s
    workers: its stages find no server and run in their own processes."""
    return run_warm(["exp", "run", *argv])


def run_warm(dvc_args: list[str]) -> int:
    """``dvc DVC_ARGS...`` with a warm fork server for its stages; dvc's exit code."""
    import shutil
    import subprocess
    import tempfile

    dvc = [sys.executable, "-m", "dvc", *dvc_args]
    if not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
        return subprocess.call(dvc)  # no fork server on this OS: plain dvc
    folder = tempfile.mkdtemp(prefix=f"{__package__}-repro-")  # mode 0700: ours only
    try:
        path = os.path.join(folder, "socket")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            # Bound before dvc starts, so the first stage never misses the server; the
            # server inherits the socket and (in its own session) no terminal Ctrl-C.
            listener.bind(path)
            listener.listen(16)
            fd = listener.fileno()
            server = subprocess.Popen(
                [sys.executable, "-m", f"{__package__}.warm_repro", str(fd)],
                pass_fds=[fd],
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            child = subprocess.Popen(dvc, env={**os.environ, SOCKET_VARIABLE: path})
            # Ctrl-C reaches dvc directly (same terminal): dvc stops the stage, exits.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, lambda signum, _: child.send_signal(signum))
            return child.wait()
        finally:
            # Stopped and waited for: the server's CPU (and its forks') counts as ours.
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def exit_child(request: Request) -> NoReturn:
    """Run the command and end the child as a Python process ends, minus tearing
    down every module the server imported (that alone costs more than most stages)."""
    import threading
    import traceback

    try:
        code = run_request(request)
    except SystemExit as exc:  # argparse's errors and --help, sys.exit() in a command
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:  # as Python does: the traceback, then die by SIGINT
        traceback.print_exc()
        code = -signal.SIGINT
    except BaseException:
        traceback.print_exc()
        code = 1
    for thread in threading.enumerate():  # what Python waits for before it exits
        if not thread.daemon and thread is not threading.current_thread():
            thread.join()
    atexit._run_exitfuncs()  # MLflow ends its active run there, for example
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)


def server_main(fd: int) -> int:
    gc.disable()  # collections only in the forked commands (see gc.freeze above)
    listener = socket.socket(fileno=fd)
    request = serve(listener)
    if request is None:
        listener.close()
        return 0
    gc.enable()
    exit_child(request)


if __name__ == "__main__":
    raise SystemExit(server_main(int(sys.argv[1])))
