"""Refresh the hashed locks in requirements/ from the pins in setup.cfg.

    python scripts/lock.py          # needs uv (in the testing extra) and the package index

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
    found = cfg.get("options", "install_requires").split()
    for extra in EXTRAS:
        found += cfg.get("options.extras_require", extra).split()
    python = re.sub(r"^[^\d]*", "", cfg.get("options", "python_requires"))
    return [p for p in found if not p.startswith("#")], python


def uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def compile_lock(requirements: list[str], python: str, target: Path, *extra: str) -> None:
    done = subprocess.run(
        [*uv(), "pip", "compile", "-", "--universal", "--python-version", python,
         "--generate-hashes", "--no-header", "--quiet", "-o", "-", *extra],
        input="\n".join(requirements) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"lock: uv could not resolve the pins:\n{done.stderr.strip()}")
    what, install = (
        ("The hashed lock of the model server (the names in requirements/serve.in).",
         "pip install --require-hashes -r requirements/serve.lock.txt")
        if target.name == "serve.lock.txt"
        else ("The hashed lock of development and CI: the project and " + ", ".join(EXTRAS) + ".",
              "pip install --require-hashes -r requirements/lock.txt")
    )
    header = HEADER.format(what=what, python=f">={python}", install=install)
    target.write_text(header + done.stdout, encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}")


def main() -> None:
    requirements, python = pins()
    full = REQUIREMENTS / "lock.txt"
    compile_lock(requirements, python, full)
    by_name = {re.split(r"[=<>!~ ;\[]", r, maxsplit=1)[0].lower(): r for r in requirements}
    names = (REQUIREMENTS / "serve.in").read_text(encoding="utf-8").split("\n")
    serving = [by_name.get(n.strip().lower(), n.strip()) for n in names if n.strip()[:1].isalnum()]
    # Constrained by the full lock: both files name the same version of every package.
    compile_lock(serving, python, REQUIREMENTS / "serve.lock.txt", "--constraint", str(full))


if __name__ == "__main__":
    main()
