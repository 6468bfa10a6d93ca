"""``dsops``: the command line. Start-up stays cheap: a subcommand's module (and
everything heavy it needs) is imported only when that subcommand runs."""

from __future__ import annotations

import importlib
import sys
from typing import Callable, Sequence

# name -> (module, one-line help). Each module defines ``main(argv, prog) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "tour": (".onboarding.tour_cli", "explain a repository folder by folder, tool by tool"),
    "doctor": (".onboarding.doctor_cli", "check what this machine and checkout still need"),
    "learn": (
        ".onboarding.learn.cli",
        "a checked course on the daily workflow (--sandbox: practise)",
    ),
    "fleet": (".fleet.cli", "upgrade many repositories at once, each on its own branch"),
    "upgrade": (".upgrade.cli", "merge the current template into a repository"),
    "validate": (".validate.cli", "check a repository against the template"),
}

USAGE = """usage: dsops [-h] [--version] COMMAND [ARGS...]

dsproject-ops: generate, check, upgrade and explain ModelOps repositories.
Create a repository with:  putup --dsproject-ops NAME  (see `putup --help`).

commands:
{commands}
options:
  -h, --help  show this help message and exit
  --version   show the version and exit

Run `dsops COMMAND --help` for a command's options.
"""


def _usage() -> str:
    width = max((len(n) for n in COMMANDS), default=0)
    lines = [f"  {name.ljust(width)}  {text}" for name, (_, text) in COMMANDS.items()]
    return USAGE.format(commands="\n".join(lines) or "  (none yet)")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage(), end="")
        return 0 if args else 2
    if args[0] == "--version":
        from . import __version__

        print(f"dsops (pyscaffoldext-dsproject-ops) {__version__}")
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"dsops: error: unknown command {args[0]!r} (try `dsops --help`)", file=sys.stderr)
        return 2
    module = importlib.import_module(command[0], __package__)
    run: Callable[[list[str], str], int] = module.main
    return run(args[1:], f"dsops {args[0]}")


def run() -> None:
    """Console-script entry point: one-line errors, never a traceback."""
    from .errors import DsopsError

    try:
        code = main()
    except DsopsError as exc:
        print(f"dsops: error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("dsops: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        # The reader went away (`dsops tour | head`): not an error worth a traceback.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)


if __name__ == "__main__":
    run()
