"""``dsops fleet``: upgrade many repositories at once, each on its own branch.

Exit codes: 0 every repository upgraded cleanly or is up to date (``--check``: would
be); 1 some have conflicts (committed with markers on their branch); 2 a usage error
(nothing done); 3 some repositories were refused or failed (the table says why).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from ..errors import DsopsError
from . import pool, report
from .outcome import CONFLICTS, FAILED, REFUSED, WOULD_CONFLICT, Result
from .targets import Target, read_list, resolve
from .worker import Options

DONE, SOME_CONFLICTS, USAGE, SOME_REFUSED = 0, 1, 2, 3


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Upgrade many repositories to the template at once. Each upgrade runs "
        "in a temporary git worktree of the repository's last commit and is committed on "
        "a branch (conflicts with their markers); the checked-out branch and uncommitted "
        "work are never touched.",
        epilog="exit codes: 0 all clean or up to date, 1 some conflicts, 2 usage error, "
        "3 some refused or failed. See docs/fleet.md.",
    )
    p.add_argument("repos", nargs="*", help="repository folders or globs (quote globs)")
    p.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        type=Path,
        help="a file listing repositories: folders, globs or git URLs, one a line",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=default_jobs(),
        help=f"repositories upgraded at once (default {default_jobs()})",
    )
    p.add_argument("--to", metavar="VERSION", help="target template version (default: current)")
    p.add_argument("--branch", help="the upgrade branch (default: dsops/upgrade-VERSION)")
    p.add_argument(
        "--check",
        action="store_true",
        help="pre-screen: predict each outcome with `dsops upgrade --dry-run`; write nothing",
    )
    p.add_argument("--push", action="store_true", help="push each upgrade branch to its remote")
    p.add_argument(
        "--merge-request",
        action="store_true",
        help="with --push: ask GitLab to open a merge request for each branch (push options)",
    )
    p.add_argument("--remote", default="origin", help="the remote to push to (default origin)")
    p.add_argument(
        "--allow-dirty",
        action="store_true",
        help="upgrade repositories with uncommitted changes too (from their last commit)",
    )
    p.add_argument(
        "--clones",
        type=Path,
        default=Path(".dsops-fleet"),
        help="where git URLs are cloned (default ./.dsops-fleet)",
    )
    p.add_argument("--report-md", type=Path, metavar="FILE", help="write a Markdown report")
    p.add_argument("--report-json", type=Path, metavar="FILE", help="write a JSON report")
    p.add_argument(
        "--timeout", type=float, default=600.0, help="seconds per repository (default 600)"
    )
    return p


def main(argv: Sequence[str], prog: str = "dsops fleet") -> int:
    try:
        args = parser(prog).parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return run(args, prog)
    except DsopsError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return USAGE


def target_version(to: str | None) -> str:
    from ..upgrade import history

    if to is None:
        return history.current_version()
    if to not in history.known_versions():
        raise DsopsError(
            f"unknown template version {to!r} (known: {', '.join(history.known_versions())})"
        )
    return to


def run(args: argparse.Namespace, prog: str) -> int:
    if args.merge_request and not args.push:
        raise DsopsError("--merge-request needs --push")
    if args.jobs < 1:
        raise DsopsError("-j must be at least 1")
    entries = list(args.repos)
    if args.from_file is not None:
        entries += read_list(args.from_file)
    if not entries:
        raise DsopsError("no repositories: name folders, globs, or --from FILE")
    targets = resolve(entries, args.clones.resolve())
    version = target_version(args.to)
    branch = args.branch or f"dsops/upgrade-{version}"
    if not _valid_branch(branch):
        raise DsopsError(f"{branch!r} is not a valid branch name")
    opts = Options(
        branch=branch,
        to=args.to,
        check=args.check,
        push=args.push and not args.check,
        allow_dirty=args.allow_dirty,
        merge_request=args.merge_request,
        remote=args.remote,
        timeout=args.timeout,
    )
    results = run_all(targets, opts, args.jobs)
    print(report.table(results), end="")
    if args.report_md is not None:
        _write(args.report_md, report.markdown(results, version, args.check))
    if args.report_json is not None:
        _write(args.report_json, report.as_json(results, version, args.check, branch))
    statuses = {r.status for r in results}
    if statuses & {REFUSED, FAILED}:
        return SOME_REFUSED
    if statuses & {CONFLICTS, WOULD_CONFLICT}:
        return SOME_CONFLICTS
    return DONE


def run_all(targets: list[Target], opts: Options, jobs: int) -> list[Result]:
    """Each repository in a process of its own (:mod:`.pool`); one line per finished
    repository on stderr, under a live bar when stderr is a terminal."""
    jobs = min(jobs, len(targets))
    seen: list[Result] = []
    if not sys.stderr.isatty():

        def line(result: Result) -> None:
            seen.append(result)
            print(report.progress(len(seen), len(targets), result), file=sys.stderr, flush=True)

        return pool.run(targets, opts, jobs, line)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    # Refreshed by hand as results come in: no refresh thread in a process that forks.
    bar = Progress(
        TextColumn("dsops fleet"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
        auto_refresh=False,
    )
    with bar:
        task = bar.add_task("upgrade", total=len(targets))
        bar.refresh()

        def advance(result: Result) -> None:
            seen.append(result)
            text = report.progress(len(seen), len(targets), result)
            bar.console.print(text, markup=False, highlight=False)
            bar.advance(task)
            bar.refresh()

        return pool.run(targets, opts, jobs, advance)


def _valid_branch(name: str) -> bool:
    import subprocess

    done = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True)
    return done.returncode == 0 and not name.startswith("-")


def _write(file: Path, text: str) -> None:
    """Whole or not at all: a report is written to a temporary file and renamed."""
    tmp = file.with_name(f".{file.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, file)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DsopsError(f"cannot write {file}: {exc.strerror or exc}") from None
