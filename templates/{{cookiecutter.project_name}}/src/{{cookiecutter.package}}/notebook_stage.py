r"""Notebooks as pipeline stages, run by papermill with parameters from params.yaml.

    {{ cookiecutter.project_name }} add-notebook-stage notebooks/eda.ipynb -p machines=eda.machines \
        -d data/raw/sensors.csv

adds a stage `eda` to dvc.yaml (through `dvc stage add`, which keeps the file's
comments) whose command is

    python -m {{ cookiecutter.package }}.cli run-notebook notebooks/eda.ipynb reports/eda.ipynb \
        -p machines=eda.machines

`run-notebook` reads `eda.machines` from params.yaml and passes it to the notebook's
cell tagged `parameters` as `machines`. The stage depends on the notebook, the data
you name and those parameters, and its output is the executed notebook under
reports/, so `dvc repro` re-runs it exactly when one of them changes.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import warm_repro
from .errors import UserError
from .params import PARAMS_FILE, load_params, lookup

PACKAGE = "{{ cookiecutter.package }}"
REPORTS = Path("reports")
DVC_FILE = Path("dvc.yaml")


@dataclass(frozen=True)
class Param:
    """A notebook variable and the params.yaml key that sets it."""

    name: str
    key: str

    @classmethod
    def parse(cls, text: str) -> "Param":
        """``seed=data.seed``, or ``data.seed`` for the variable ``seed``."""
        name, _, key = text.rpartition("=")
        key = key.strip()
        name = name.strip() or key.rsplit(".", 1)[-1]
        if not key or not name.isidentifier():
            raise UserError(
                f"bad parameter {text!r}: use NAME=KEY (seed=data.seed) or KEY "
                "(data.seed), NAME being a Python variable of the notebook"
            )
        return cls(name, key)

    def __str__(self) -> str:
        return f"{self.name}={self.key}"


@dataclass(frozen=True)
class NotebookStage:
    name: str
    notebook: str
    output: str
    params: tuple[Param, ...] = ()
    deps: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()

    @property
    def command(self) -> str:
        words = ["python", "-m", f"{PACKAGE}.cli", "run-notebook"]
        words += [self.notebook, self.output]
        for param in self.params:
            words += ["-p", str(param)]
        return shlex.join(words)

    def dvc_stage_add(self, force: bool = False) -> list[str]:
        """The `dvc stage add` arguments that write this stage into dvc.yaml."""
        args = ["stage", "add", "--name", self.name]
        if force:
            args.append("--force")
        for dep in (self.notebook, *self.deps):
            args += ["--deps", dep]
        for param in self.params:
            args += ["--params", param.key]
        for out in (self.output, *self.outs):
            args += ["--outs", out]
        return [*args, self.command]


def stage_name(notebook: str) -> str:
    """``notebooks/EDA report.ipynb`` -> ``eda_report``."""
    stem = Path(notebook).stem.lower()
    return "".join(c if c.isalnum() else "_" for c in stem).strip("_") or "notebook"


def pipeline_outputs(path: Path | None = None) -> set[str]:
    """Every output the stages of dvc.yaml declare (outs, metrics, plots)."""
    import yaml

    dvc_file = path or DVC_FILE
    if not dvc_file.is_file():
        return set()
    stages = (yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}).get("stages")
    found: set[str] = set()
    for stage in (stages or {}).values():
        for kind in ("outs", "metrics", "plots"):
            for entry in stage.get(kind, []) if isinstance(stage, dict) else []:
                found.update([entry] if isinstance(entry, str) else entry)
    return found


def parameters_cell(notebook: dict[str, Any]) -> bool:
    """Does the notebook have the cell tagged `parameters` papermill fills in?"""
    return any(
        "parameters" in cell.get("metadata", {}).get("tags", [])
        for cell in notebook.get("cells", [])
    )


def plan(
    notebook: str,
    params: list[str],
    deps: list[str],
    outs: list[str],
    name: str | None = None,
    output: str | None = None,
    settings: dict[str, Any] | None = None,
) -> NotebookStage:
    """Check the request against the files and build the stage (writes nothing)."""
    path = Path(notebook)
    if path.suffix != ".ipynb" or not path.is_file():
        raise UserError(f"{notebook} is not a notebook file (*.ipynb) here")
    parsed = tuple(Param.parse(p) for p in params)
    if parsed and not parameters_cell(json.loads(path.read_text(encoding="utf-8"))):
        raise UserError(
            f"{notebook} has no cell tagged 'parameters': tag the cell that sets "
            "the defaults (View > Cell Toolbar > Tags) so papermill can replace them"
        )
    values = load_params() if settings is None else settings
    for param in parsed:
        lookup(values, param.key)
    names = [p.name for p in parsed]
    if len(set(names)) != len(names):
        raise UserError(f"a notebook variable is set twice: {', '.join(names)}")
    produced = pipeline_outputs()
    for dep in deps:
        if not Path(dep).exists() and dep not in produced:
            raise UserError(
                f"dependency {dep} neither exists nor is an output of a stage in "
                f"{DVC_FILE}"
            )
    target = output or (REPORTS / f"{path.stem}.ipynb").as_posix()
    if not target.endswith(".ipynb"):
        raise UserError(f"the executed notebook {target} must end with .ipynb")
    return NotebookStage(
        name=name or stage_name(notebook),
        notebook=path.as_posix(),
        output=target,
        params=parsed,
        deps=tuple(deps),
        outs=tuple(outs),
    )


def execute(notebook: Path, output: Path, parameters: dict[str, Any]) -> None:
    """Run the notebook headless in this Python environment; papermill writes the
    executed copy (with the traceback, if a cell fails) to ``output``."""
    import papermill
    import zmq
    from traitlets.config import Config

    output.parent.mkdir(parents=True, exist_ok=True)
    # Kernel and client talk over local TCP; with CurveZMQ keys that traffic is
    # encrypted, and the kernel no longer warns "running over TCP without encryption".
    config = Config()
    if zmq.has("curve"):
        config.KernelManager.transport_encryption = "required"
    kernel = json.loads(notebook.read_text(encoding="utf-8"))
    kernel_name = kernel.get("metadata", {}).get("kernelspec", {}).get("name")
    with ExitStack() as stack:
        manager = None
        if warm_repro.forked and kernel_name:
            # Under `repro`: the kernel is a fork of this warm process, not a new one.
            from .warm_kernel import forked_kernel

            manager = stack.enter_context(forked_kernel(kernel_name, config=config))
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            progress_bar=False,
            cwd=".",  # the repository root: notebooks read data/... like the stages
            config=config,
            km=manager,
        )


def strip_trailing_whitespace(path: Path) -> None:
    """DVC folds long commands over lines that end in a space; YAML ignores that
    space, and the trailing-whitespace hook would complain about it."""
    text = path.read_text(encoding="utf-8")
    stripped = "\n".join(line.rstrip() for line in text.split("\n"))
    if stripped != text:
        path.write_text(stripped, encoding="utf-8")


def run_main(argv: list[str], prog: str) -> int:
    """Execute a notebook with parameters read from params.yaml."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=run_main.__doc__)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("output", type=Path, help="the executed notebook to write")
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=KEY",
        help=f"set notebook variable NAME to KEY of {PARAMS_FILE} (repeatable)",
    )
    args = parser.parse_args(argv)
    if not args.notebook.is_file():
        raise UserError(f"{args.notebook} not found")
    params = load_params() if args.param else {}
    values = {p.name: lookup(params, p.key) for p in map(Param.parse, args.param)}
    execute(args.notebook, args.output, values)
    print(f"executed {args.notebook} -> {args.output}")
    return 0


def add_main(argv: list[str], prog: str) -> int:
    """Add a notebook to dvc.yaml as a stage executed by papermill."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=add_main.__doc__)
    parser.add_argument("notebook", help="the notebook, e.g. notebooks/eda.ipynb")
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=KEY",
        help="notebook variable NAME set from params.yaml KEY (repeatable); "
        "KEY alone uses its last part as NAME",
    )
    parser.add_argument(
        "-d", "--dep", action="append", default=[], help="a file the notebook reads"
    )
    parser.add_argument(
        "-o", "--out", action="append", default=[], help="another file it writes"
    )
    parser.add_argument("-n", "--name", help="stage name (default: from the notebook)")
    parser.add_argument(
        "--output", help="executed notebook (default: reports/<notebook>.ipynb)"
    )
    parser.add_argument(
        "-f", "--force", action="store_true", help="replace a stage of that name"
    )
    args = parser.parse_args(argv)
    stage = plan(args.notebook, args.param, args.dep, args.out, args.name, args.output)
    done = subprocess.run(
        [sys.executable, "-m", "dvc", *stage.dvc_stage_add(force=args.force)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise UserError(f"dvc stage add failed: {message[-1] if message else '?'}")
    strip_trailing_whitespace(DVC_FILE)
    print(f"added stage {stage.name!r} to dvc.yaml; run it: dvc repro {stage.name}")
    return 0
