"""Compile the largest libraries to bytecode on every core, once, before the first run.

pip compiles each installed module to bytecode (``__pycache__/*.pyc``); uv does not,
to install faster. Python then compiles a module the first time it is imported, one
after another: the first `{{ cookiecutter.project_name }} repro` after a uv install
spends about half its time there. `repro` calls ``compile_missing()`` first: it
compiles the packages below that have no bytecode yet on all the CPUs, and does
nothing after a pip install or once done (a few file checks).
"""

from __future__ import annotations

import os
import re
import sys
from importlib.util import cache_from_source, find_spec
from pathlib import Path
from typing import Iterable

# The libraries the pipeline and the service import nearly whole: compiling a whole
# package (its tests excepted) in parallel beats compiling its modules one by one on
# first import. A library the project imports only a small part of (mlflow, say) is
# left to its first import: compiling all of it would cost more than it saves.
PACKAGES = (
    "scipy",
    "pandas",
    "sklearn",
    "sqlalchemy",
    "matplotlib",
    "networkx",
    "numpy",
    "pydantic",
    "fastapi",
    "alembic",
    "_pytest",
)
SKIP = re.compile(r"[\\/]tests?[\\/]")  # libraries' own test suites


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


def compile_missing(packages: Iterable[str] = PACKAGES) -> list[Path]:
    """Compile the packages that have no bytecode yet; the folders compiled.

    Never fails: a folder Python cannot write to is compiled on import, as before.
    """
    if sys.dont_write_bytecode or (os.cpu_count() or 1) < 2:
        return []  # bytecode turned off, or one CPU: nothing to gain
    import compileall

    folders = without_bytecode(packages)
    if folders:
        names = ", ".join(folder.name for folder in folders)
        print(f"compiling {names} to bytecode, once (bytecode.py)", file=sys.stderr)
    for folder in folders:
        # workers=0: one process per CPU; quiet=2: an unwritable file is no error
        compileall.compile_dir(folder, quiet=2, workers=0, rx=SKIP)
    return folders
