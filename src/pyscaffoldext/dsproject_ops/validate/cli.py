"""``dsops validate [PATH]``: check a repository against the template.

Exit codes: 0 no finding at or above ``--fail-on``; 1 findings at or above it;
2 usage or configuration errors.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Sequence, TextIO

from ..errors import DsopsError
from .formats import FORMATS
from .registry import SEVERITIES

if TYPE_CHECKING:
    import argparse


def parser(prog: str) -> "argparse.ArgumentParser":
    import argparse

    p = argparse.ArgumentParser(
        prog=prog,
        description="Check a repository against the dsproject-ops template: layout, syntax, "
        "pre-commit, environment, DVC, CI, Docker, git, secrets and docs.",
        epilog="exit codes: 0 clean; 1 findings at or above --fail-on; 2 usage errors. "
        "Ignore checks in pyproject.toml [tool.dsops.validate] (see docs/validate.md).",
    )
    p.add_argument(
        "path", nargs="?", default=None, help="the repository (default: the git repository here)"
    )
    p.add_argument(
        "--format", choices=list(FORMATS), default="human", help="output format (default: human)"
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    p.add_argument(
        "--fail-on",
        choices=[*SEVERITIES, "never"],
        default=None,
        help="lowest severity that fails (default: the repository's fail-on, " "else warning)",
    )
    p.add_argument("--list", action="store_true", help="list every check and exit")
    p.add_argument("--explain", metavar="CODE", help="show a check's documentation and exit")
    p.add_argument(
        "--fix",
        action="store_true",
        help="apply the mechanical fixes (dsops validate --list marks them), then report",
    )
    p.add_argument(
        "--diff", action="store_true", help="show the fixes as a diff (without --fix: only show)"
    )
    p.add_argument(
        "--force", action="store_true", help="let --fix change files with uncommitted changes"
    )
    p.add_argument(
        "--external",
        action="store_true",
        help="also run hadolint, actionlint, gitlab-ci-local, dvc and the CI JSON "
        "schemas, where installed",
    )
    return p


_VALUED = {
    "--format": "format",
    "--output": "output",
    "-o": "output",
    "--fail-on": "fail_on",
    "--explain": "explain",
}
_FLAGS = {
    "--list": "list",
    "--external": "external",
    "--fix": "fix",
    "--diff": "diff",
    "--force": "force",
}


def _fast_parse(argv: list[str]) -> Any:
    """The usual command lines, read without building argparse's parser (it costs a
    tenth of a hook run); anything unusual, --help or an error goes to argparse."""
    values: dict[str, object] = {
        "path": None,
        "format": "human",
        "output": None,
        "fail_on": None,
        "list": False,
        "explain": None,
        "external": False,
        "fix": False,
        "diff": False,
        "force": False,
    }
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        name, eq, value = word.partition("=")
        if name in _VALUED and (eq or rest):
            values[_VALUED[name]] = value if eq else rest.pop(0)
        elif word in _FLAGS:
            values[_FLAGS[word]] = True
        elif not word.startswith("-") and values["path"] is None:
            values["path"] = word
        else:
            return None
    if values["format"] not in FORMATS or values["fail_on"] not in (None, *SEVERITIES, "never"):
        return None
    return SimpleNamespace(**values)


def main(argv: Sequence[str], prog: str = "dsops validate") -> int:
    from .registry import RegistryError

    try:
        return _main(argv, prog)
    except RegistryError as exc:  # an installed check package is broken
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2


def _main(argv: Sequence[str], prog: str) -> int:
    args: Any = _fast_parse(list(argv))
    if args is None:
        try:
            args = parser(prog).parse_args(list(argv))
        except SystemExit as exc:
            return int(exc.code or 0)
    if args.list:
        print(listing(), end="")
        return 0
    if args.explain:
        return explain(args.explain)
    root = Path(args.path) if args.path is not None else _here()
    if not root.is_dir():
        print(f"{prog}: error: {root} is not a folder", file=sys.stderr)
        return 2
    from .config import ConfigError
    from .runner import validate

    try:
        result = validate(root, external=args.external)
    except ConfigError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.fix or args.diff:
        fixed = _fix(root, result, args, prog)
        if fixed is None:
            return 1  # --diff alone: there are fixes to make
        result = fixed
    fail_on = args.fail_on or result.config.fail_on or "warning"
    try:
        write(result, args.format, args.output, sys.stdout)
    except OSError as exc:
        print(f"{prog}: error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.output and args.format != "human":
        from .formats.human import summary

        print(f"{prog}: {summary(result)}; report written to {args.output}", file=sys.stderr)
    return 0 if fail_on == "never" else result.exit_code(fail_on)


def _fix(root: Path, result: Any, args: Any, prog: str) -> Any:
    """Show and/or apply the fixes; the result to report (None: --diff alone found some)."""
    from . import fix
    from .runner import validate

    changes = fix.plan(result)
    busy = set() if args.force else fix.uncommitted(root, [c.rel for c in changes])
    for rel in sorted(busy):
        print(
            f"{prog}: left {rel} alone: it has uncommitted changes (commit them, or --force)",
            file=sys.stderr,
        )
    changes = [c for c in changes if c.rel not in busy]
    if args.diff:
        sys.stdout.write(fix.diff(changes))
    if not args.fix:
        return None if changes else result
    if not changes:
        return result
    fix.write(root, changes)
    after = validate(root, external=args.external)
    broken = fix.regressions(result, after, changes)
    if broken:
        fix.undo(root, broken)
        for change in broken:
            print(f"{prog}: put {change.rel} back: the fix made it worse", file=sys.stderr)
        after = validate(root, external=args.external)
    done = [c for c in changes if c not in broken]
    if done:
        names = ", ".join(f"{c.rel} ({', '.join(c.codes)})" for c in done)
        print(f"{prog}: fixed {names}", file=sys.stderr)
    return after


def _here() -> Path:
    """The enclosing git repository's root, so a subfolder checks the whole repository."""
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return cwd


def write(result: object, fmt: str, output: str | None, stream: TextIO) -> None:
    from .formats import renderer

    render = renderer(fmt)
    if fmt == "human":
        colour = output is None and stream.isatty() and "NO_COLOR" not in os.environ
        text = render(result, colour=colour)
    else:
        text = render(result)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text, encoding="utf-8")
    else:
        stream.write(text)


def listing() -> str:
    from .registry import FAMILIES, all_checks, families_of

    lines = []
    for family, checks in families_of(all_checks()):
        lines.append(f"{family}: {FAMILIES[family][2]}")
        for check in checks:
            fixable = "  [fix]" if check.fixable() else ""
            lines.append(f"  {check.code}  {check.severity:<7}  {check.summary}{fixable}")
    return "\n".join(lines) + "\n"


def explain(code: str) -> int:
    from .registry import all_checks

    checks = {c.code: c for c in all_checks()}
    check = checks.get(code.upper())
    if check is None:
        print(
            f"dsops validate: error: unknown check {code!r} (`dsops validate --list`)",
            file=sys.stderr,
        )
        return 2
    print(f"{check.code} ({check.family}, {check.severity}): {check.summary}\n")
    print(check.doc())
    if check.requires:
        print(f"\nrequires: {', '.join(check.requires)} (skipped when they fail)")
    if check.tool:
        print(f"\nruns {check.tool} (with --external, when installed)")
    if check.fixable():
        print("\n`dsops validate --fix` fixes it (`--diff` shows the change first)")
    print(
        f"\nignore it in pyproject.toml:\n  [tool.dsops.validate.ignore]\n"
        f'  {check.code} = "why this repository does without it"'
    )
    return 0


class ValidationFailed(DsopsError):
    """The repository ``putup`` just generated fails ``dsops validate``: a template bug."""
