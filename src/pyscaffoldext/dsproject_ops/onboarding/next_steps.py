"""The first commands after ``putup``, chosen from the answers (replaces "done!")."""

from __future__ import annotations

import shlex
import shutil
from typing import Any

from ..answers import Answers


def has_conda() -> bool:
    return any(shutil.which(tool) for tool in ("conda", "mamba", "micromamba"))


LOCKED_INSTALL = (
    "pip install --require-hashes -r requirements/lock.txt && pip install --no-deps -e ."
)


def install_step(answers: Answers, target: str, conda: bool) -> tuple[str, str]:
    """The environment: conda's where conda is, else the README's pip route."""
    if conda:
        return (
            f"cd {shlex.quote(target)} && conda env create -f environment.yml "
            f"&& conda activate {answers.project_name}",
            "the pinned environment, with this package installed",
        )
    # The README's pip route: the hashed lock (with the remote's DVC plugin), then the
    # project itself.
    return (
        f"cd {shlex.quote(target)} && python -m venv .venv && . .venv/bin/activate "
        f"&& {LOCKED_INSTALL}",
        "the locked packages in a virtual environment (no conda on this machine)",
    )


def steps(answers: Answers, target: str, conda: bool | None = None) -> list[tuple[str, str]]:
    """3 to 6 ``(command, why)`` pairs, in the order a newcomer types them."""
    found = [
        install_step(answers, target, has_conda() if conda is None else conda),
        ("pre-commit install", "style and static checks on every commit"),
    ]
    if answers.example:
        found.append(
            ("dvc repro", "run the example pipeline end to end: data, training, " "evaluation")
        )
    else:
        found.append(
            (
                "dvc add data/raw",
                "version your raw data (copy it into data/raw "
                "first); docs/ shows how to add pipeline stages",
            )
        )
    if "://" in answers.dvc_remote:
        found.append(("dvc push", f"store data and models in {answers.dvc_remote}"))
    else:
        found.append(("dvc push", f"store data and models in the folder {answers.dvc_remote}"))
    if answers.ci != "none":
        host = {"gitlab": "GitLab", "github": "GitHub", "both": "GitLab or GitHub"}[answers.ci]
        found.append(
            ("git remote add origin <URL> && git push -u origin HEAD", f"start CI on {host}")
        )
    found.append(("mkdocs serve", "read the onboarding guide (docs/) at http://127.0.0.1:8000"))
    return found[:6]


def text(answers: Answers, target: str) -> str:
    lines = [f"Created {target}. Next steps:"]
    for number, (command, why) in enumerate(steps(answers, target), 1):
        lines.append(f"  {number}. {why}:")
        lines.append(f"       {command}")
    lines.append(
        "Then `dsops tour` explains what is where, and `dsops doctor` what this "
        "machine still needs."
    )
    return "\n".join(lines)


def report_next_steps(
    struct: dict[str, Any], opts: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """PyScaffold action: print the next steps after a new repository."""
    from ..actions import ANSWERS_KEY

    answers = opts.get(ANSWERS_KEY)
    # Nothing to suggest on --pretend, nor on --update (the upgrade reports itself).
    if opts.get("pretend") or opts.get("update") or not isinstance(answers, Answers):
        return struct, opts
    # The path as the user typed it (relative stays relative), for the `cd` step.
    print(text(answers, str(opts.get("project_path") or answers.project_name)))
    return struct, opts
