"""Refresh the hashed locks in requirements/ from the pins in setup.cfg.

    python scripts/lock.py   # needs uv (in the testing extra) and the package index

setup.cfg holds the pins (install_requires and the extras); environment.yml repeats
them for conda and `dsops validate` checks all three agree. This script resolves
them with `uv pip compile --universal --generate-hashes` into
requirements/lock.txt (development and CI: the project, `testing`{% if cookiecutter.__dvc_extra %} and `{{ cookiecutter.__dvc_extra }}`{% endif %})
and requirements/serve.lock.txt (the names in requirements/serve.in, at the versions
of lock.txt: the model server's image installs only these). Commit both files.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements"
# The extras CI and the README install besides the runtime pins.
EXTRAS = ["testing"{% if cookiecutter.__dvc_extra %}, "{{ cookiecutter.__dvc_extra }}"{% endif %}]
HEADER = """\
# {what}
# Resolved by `python scripts/lock.py` (uv, universal: the `;` markers choose per
# platform) for Python {python}. Do not edit by hand: change a pin in setup.cfg, rerun.
# Install: {install}
"""


def pins() -> tuple[list[str], str]:
    """The runtime pins plus those of EXTRAS, and the lowest Python, from setup.cfg."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    found = lines(cfg.get("options", "install_requires"))
    for extra in EXTRAS:
        found += lines(cfg.get("options.extras_require", extra))
    python = re.sub(r"^[^\d]*", "", cfg.get("options", "python_requires"))
    return found, python


def lines(text: str) -> list[str]:
    """The requirements of a multi-line value or file, without comments."""
    found = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in found if line]


def uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


COMPILE = ["pip", "compile", "-", "--universal", "--generate-hashes", "--no-header"]


def compile_lock(reqs: list[str], python: str, target: Path, *extra: str) -> None:
    done = subprocess.run(
        [*uv(), *COMPILE, "--quiet", "--python-version", python, *extra],
        input="\n".join(reqs) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"lock: uv could not resolve the pins:\n{done.stderr.strip()}")
    if target.name == "serve.lock.txt":
        what = "The hashed lock of the model server: requirements/serve.in."
    else:
        what = f"The hashed lock of development and CI: {' '.join(EXTRAS)}."
    install = f"pip install --require-hashes -r requirements/{target.name}"
    header = HEADER.format(what=what, python=f">={python}", install=install)
    target.write_text(header + done.stdout, encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}")


def main() -> None:
    requirements, python = pins()
    full = REQUIREMENTS / "lock.txt"
    compile_lock(requirements, python, full)
    pinned = {re.split(r"[=<>!~ ;\[]", r, 1)[0].lower(): r for r in requirements}
    names = lines((REQUIREMENTS / "serve.in").read_text(encoding="utf-8"))
    serving = [pinned.get(n.lower(), n) for n in names]
    # Constrained by the full lock: both files name the same version of every package.
    serve = REQUIREMENTS / "serve.lock.txt"
    compile_lock(serving, python, serve, "--constraint", str(full))


if __name__ == "__main__":
    main()
