"""The project's command line: `{{ cookiecutter.project_name }} --help` lists the commands.

Each subcommand lives in its own module and is imported only when it runs, so
`--help` stays fast and a command never pays for another one's imports (MLflow is
slow to import). The pipeline in dvc.yaml calls these commands; under
`{{ cookiecutter.project_name }} repro` they run in one warm process that already imported the
libraries (warm_repro.py).
"""

from __future__ import annotations

import importlib
import sys
from typing import Callable, Sequence

from . import warm_repro
from .errors import UserError

# name -> ("module:function", one-line help). The function takes the remaining
# arguments and the program name and returns the exit code:
#     def main(argv: list[str], prog: str) -> int
# To add a command, write that function and add one line here.
COMMANDS: dict[str, tuple[str, str]] = {
{%- if cookiecutter.example %}
    "get-data": ("data:main", "write the example sensor readings (params: data)"),
    "check-data": ("quality:main", "check schema, ranges and missing values"),
    "split": ("split:main", "split readings into training and test sets"),
    "train": ("train:main", "train the model and save it as an MLflow model"),
    "evaluate": ("evaluate:main", "write test metrics, plots and the quality report"),
    "predict": ("scoring:main", "score new readings with the model (batch)"),
    "drift": ("drift:main", "compare new readings with the training data"),
    "promote": ("registry:promote_main", "promote the newest model if it wins"),
    "rollback": ("registry:rollback_main", "champion back to the previous one"),
{%- endif %}
    "log-experiment": ("tracking:main", "log a run to MLflow and the CSV log"),
    "run-notebook": ("notebook_stage:run_main", "execute a notebook with papermill"),
    "add-notebook-stage": ("notebook_stage:add_main", "add a notebook stage"),
    "serve": ("serve:main", "serve the trained model over HTTP"),
    "repro": ("warm_repro:repro_main", "dvc repro, the stages sharing warm imports"),
    "exp-run": ("warm_repro:exp_run_main", "dvc exp run, with the warm stage runner"),
}

PROG = {{ cookiecutter.project_name|py_str }}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name.ljust(width)}  {text}" for name, (_, text) in COMMANDS.items()]
    return (
        f"usage: {PROG} [-h] [--version] COMMAND [ARGS...]\n\n"
        "commands:\n" + "\n".join(lines) + "\n\n"
        f"Run `{PROG} COMMAND --help` for a command's options.\n"
    )


def resolve(name: str) -> Callable[[list[str], str], int]:
    """The function behind a command, imported now."""
    module_name, function = COMMANDS[name][0].split(":")
    module = importlib.import_module(f".{module_name}", __package__)
    found: Callable[[list[str], str], int] = getattr(module, function)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage(), end="")
        return 0
    if args[0] == "--version":
        from . import __version__

        print(__version__)
        return 0
    if args[0] not in COMMANDS:
        print(f"{PROG}: error: unknown command {args[0]!r}", file=sys.stderr)
        return 2
    if args[0] not in warm_repro.COLD_COMMANDS:
        # Under `repro` the warm server runs it; None: no server, so it runs here.
        code = warm_repro.run_remote(args, f"{PROG} {args[0]}")
        if code is not None:
            return code
    try:
        return resolve(args[0])(args[1:], f"{PROG} {args[0]}")
    except UserError as exc:  # bad input: one clear line, no traceback
        print(f"{PROG} {args[0]}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
