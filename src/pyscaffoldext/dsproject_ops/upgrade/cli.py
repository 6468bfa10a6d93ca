"""``dsops upgrade``: merge the current template into a repository.

Exit codes (the same for a real run and a dry run, so a script can pre-screen a
fleet with ``--dry-run``): 0 done or nothing to do (a dry run: it would merge
cleanly), 1 conflicts remain (a dry run: it would leave conflicts), 2 a usage error
or a refusal (nothing written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..errors import DsopsError

DONE, CONFLICTS, REFUSED = 0, 1, 2


def parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Merge the current dsproject-ops template into a repository, three-way "
        "(base: the recorded template version, rendered with the recorded answers). "
        "A repository we did not make is adopted: missing files added, shared ones merged. "
        "Results are staged, never committed; conflicts are left as `git merge` leaves them.",
        epilog="exit codes (--dry-run too): 0 done or clean, 1 conflicts (would) remain, "
        "2 usage error or refusal. See docs/upgrade.md.",
    )
    p.add_argument("path", nargs="?", default=".", help="the repository (default: .)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="run the merges in memory and print every file's outcome (conflicts "
        "included); write nothing; exit 1 if the upgrade would leave conflicts",
    )
    p.add_argument(
        "--diff",
        action="store_true",
        help="print the diff of what would be written; " "write nothing",
    )
    p.add_argument("--to", metavar="VERSION", help="target template version (default: current)")
    p.add_argument(
        "--abort",
        action="store_true",
        help="undo the last upgrade (interrupted, conflicted or clean, until you commit "
        "it): every file and the index as they were before it",
    )
    return p


def main(argv: Sequence[str], prog: str = "dsops upgrade") -> int:
    try:
        args = parser(prog).parse_args(list(argv))
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        if args.abort:
            if args.dry_run or args.diff or args.to:
                raise DsopsError("--abort takes no other option")
            from .apply import abort

            restored = abort(Path(args.path))
            print(f"upgrade aborted: {len(restored)} files and the index restored")
            return DONE
        return run_upgrade(Path(args.path), args.dry_run, args.diff, args.to)
    except DsopsError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return REFUSED


def run_upgrade(
    path: Path, dry_run: bool = False, show_diff: bool = False, to: str | None = None
) -> int:
    """The upgrade both ``dsops upgrade`` and ``putup --update`` run; DsopsError on refusal."""
    from . import preflight, report
    from .apply import run_validate, upgrade

    preview = dry_run or show_diff
    preflight.check(path, writing=not preview)
    outcome = upgrade(path, to=to, dry_run=preview)
    print(report.header(path.resolve().name, outcome.from_version, outcome.to_version))
    print("\n".join(report.lines(outcome.changes, every=preview)))
    for note in outcome.notes:
        print(f"  note: {note}")
    if show_diff:
        sys.stdout.write(report.diff(outcome.changes))
    if preview:
        if outcome.conflicts:
            print(f"dry run: nothing was written; {len(outcome.conflicts)} file(s) would conflict")
            return CONFLICTS
        print("dry run: nothing was written; the upgrade would merge cleanly")
        return DONE
    if not outcome.written:
        print(f"already up to date with template {outcome.to_version}: nothing written")
        return DONE
    code = run_validate(path)
    if code is not None:
        print(f"dsops validate exited {code}" + (" (see above)" if code else ""))
    if outcome.conflicts:
        print(
            f"{len(outcome.conflicts)} file(s) have conflicts: resolve them (`git status` lists "
            "them), `git add` them and commit; or undo the whole upgrade with "
            "`dsops upgrade --abort`"
        )
        return CONFLICTS
    print("done: the result is staged; review it with `git diff --cached`, then commit")
    return DONE
