"""``dsops doctor [PATH]``: the thin layer around :mod:`.doctor`."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str], prog: str) -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check what this machine and checkout still need (git identity, "
        "pre-commit hooks, the environment's packages, the DVC remote, the MLflow store), "
        "each with the command that fixes it. Exit code 1 when something is missing.",
    )
    parser.add_argument("path", nargs="?", default=".", help="the repository (default: .)")
    args = parser.parse_args(argv)
    from . import doctor
    from .facts import read
    from .tour_cli import repository

    facts = read(repository(args.path))
    results = doctor.run_checks(facts, os.environ)
    sys.stdout.write(doctor.render(facts, results))
    return 1 if any(r.status == doctor.MISSING for r in results) else 0
