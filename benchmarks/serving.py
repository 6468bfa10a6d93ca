"""A server under test on 127.0.0.1: a free port, and the wait until it answers.

Shared by run.py (the model service section) and ttfp.py (time to first prediction), so
both time readiness the same way.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

# Short enough that the poll adds little to a readiness time of a few seconds.
POLL = 0.05


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answers(
    port: int, proc: subprocess.Popen[bytes], path: str, timeout: float = 300.0
) -> bool:
    """True once ``GET path`` answers 2xx; False if the server exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2):
                return True
        except OSError:
            time.sleep(POLL)
    return False


def stop(proc: subprocess.Popen[bytes], grace: float = 60.0) -> None:
    """SIGTERM (a graceful shutdown, as an orchestrator sends), then SIGKILL after ``grace``."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
