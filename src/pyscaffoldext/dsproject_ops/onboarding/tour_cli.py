"""``dsops tour [PATH] [--section NAME]``: the thin layer around :mod:`.tour`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import DsopsError


def repository(path: str) -> Path:
    """The folder to explain, or a one-line error."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DsopsError(f"{path}: no such folder")
    if not root.is_dir():
        raise DsopsError(f"{path}: not a folder")
    return root.resolve()


def main(argv: list[str], prog: str) -> int:
    from . import tour

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Walk a repository folder by folder and tool by tool, from its real "
        "files, with the command that uses each thing (works on any repository).",
    )
    parser.add_argument("path", nargs="?", default=".", help="the repository (default: .)")
    parser.add_argument(
        "--section",
        metavar="NAME",
        choices=tour.SECTION_NAMES,
        help="show one part: " + ", ".join(tour.SECTION_NAMES),
    )
    parser.add_argument(
        "--no-pager",
        action="store_true",
        help="print even on a terminal (a pipe never gets a pager)",
    )
    args = parser.parse_args(argv)
    from .facts import read

    parts = tour.sections(read(repository(args.path)))
    if args.section:
        parts = [p for p in parts if p.name == args.section]
    text = tour.render(parts)
    if sys.stdout.isatty() and not args.no_pager:
        import pydoc

        pydoc.pager(text)
    else:
        sys.stdout.write(text)
    return 0
