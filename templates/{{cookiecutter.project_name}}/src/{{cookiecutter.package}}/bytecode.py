"""Compile the largest libraries to bytecode on the idle CPU, during the first run.

pip compiles each installed module to bytecode (``__pycache__/*.pyc``); uv does not,
to install faster. Python then compiles a module the first time it is imported, one
after another: the first `{{ cookiecutter.project_name }} repro` after a uv install
spends about half its time there. So `repro` starts ``python -m
{{ cookiecutter.package }}.bytecode`` beside DVC: it compiles the packages below, in
the order the stages import them, on the CPU the pipeline leaves idle (the stages run
one at a time), a little ahead of the stages that need them. `repro` stops it when DVC
ends: what is left is compiled on import, as before. After a pip install, or once
done, it finds the bytecode and does nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from importlib.util import cache_from_source, find_spec
from pathlib import Path
from typing import Iterable

# The libraries the pipeline and the service import nearly whole, in the order the
# stages first import them: compiling a whole package (its tests excepted) ahead of
# the stages beats compiling its modules one by one when imported. A library the
# project imports only a small part of (mlflow, say) is left to its first import.
PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "sklearn",
    "sqlalchemy",
    "alembic",
    "matplotlib",
    "_pytest",
    "pydantic",
    "fastapi",
)
SKIP = {"tests", "test", "__pycache__"}  # libraries' own test suites
STOPPED: list[int] = []  # the signal that stopped the background compiler


def without_bytecode(packages: Iterable[str] = PACKAGES) -> list[Path]:
    """The folders of the installed ``packages`` whose ``__init__`` has no bytecode."""
    folders = []
    for name in packages:
        spec = find_spec(name)  # finds the package without importing it
        if spec is None or not spec.origin or not spec.submodule_search_locations:
            continue
        if not Path(cache_from_source(spec.origin)).exists():
            folders.append(Path(spec.origin).parent)
    return folders


def start() -> subprocess.Popen[bytes] | None:
    """This module's compiler in the background, if there is something to compile and
    a second CPU to do it on; the caller stops it when its own work ends."""
    if sys.dont_write_bytecode or (os.cpu_count() or 1) < 2 or not without_bytecode():
        return None  # bytecode turned off, one CPU, or nothing to compile
    return subprocess.Popen(
        [sys.executable, "-m", __name__],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def compile_missing(packages: Iterable[str] = PACKAGES) -> list[Path]:
    """Compile the packages that have no bytecode yet, file by file, until SIGTERM;
    the folders it started on. Never fails: a file Python cannot write is compiled
    on import, as before."""
    import compileall

    folders = without_bytecode(packages)
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d not in SKIP)
            for name in sorted(files):
                if STOPPED:
                    return folders
                if name.endswith(".py"):  # quiet=2: no output, even for an error
                    compileall.compile_file(os.path.join(root, name), quiet=2)
    return folders


if __name__ == "__main__":
    os.nice(5)  # the pipeline's own processes come first
    # Stopped between two files, never inside one (no half-written temporary file).
    signal.signal(signal.SIGTERM, lambda signum, frame: STOPPED.append(signum))
    compile_missing()
