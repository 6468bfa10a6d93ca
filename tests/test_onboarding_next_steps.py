"""Issue 7: after ``putup``, a short list of next steps tailored to the options."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from conftest import BIN, putup, run

from pyscaffoldext.dsproject_ops.answers import build
from pyscaffoldext.dsproject_ops.onboarding.next_steps import LOCKED_INSTALL, has_conda, steps, text

OUTSIDE = {"cd", "conda", "git", "."}  # needed before the environment exists


def numbered(output: str) -> list[tuple[str, str]]:
    """``(why, command)`` for each numbered step printed."""
    return re.findall(r"^  \d+\. (.*):\n       (.*)$", output, re.M)


def test_putup_prints_next_steps_instead_of_done(tmp_path: Path) -> None:
    done = putup(tmp_path / "demo")
    assert "done!" not in done.stdout
    listed = numbered(done.stdout)
    assert 3 <= len(listed) <= 6, done.stdout
    commands = [c for _, c in listed]
    # The environment by the route this machine has: conda's, else the README's pip route.
    first = "cd demo && conda env create" if has_conda() else "cd demo && python -m venv .venv"
    assert commands[0].startswith(first), commands
    assert "dvc repro" in commands and "pre-commit install" in commands
    assert any(c.startswith("git remote add origin") for c in commands)
    assert "dsops tour" in done.stdout and "dsops doctor" in done.stdout
    # Every program it names is installed by the environment (or is a bootstrap tool),
    # and the subcommands exist.
    for command in commands:
        for part in command.split("&&"):
            words = shlex.split(part)
            if words[0] in OUTSIDE:
                continue
            assert shutil.which(words[0], path=str(BIN)), words
            run(
                [BIN / words[0], *[w for w in words[1:2] if not w.startswith("-")], "--help"],
                cwd=tmp_path / "demo",
            )
    # They run: the environment's steps work in the new repository.
    run([BIN / "pre-commit", "install"], cwd=tmp_path / "demo")


def test_next_steps_follow_the_options() -> None:
    default = text(build("one"), "one")
    other = text(build("two", ci="none", example=False, dvc_remote="s3://bucket/dvc"), "two")
    assert "dvc repro" in default and "dvc repro" not in other
    assert "dvc add data/raw" in other and "dvc add" not in default
    assert "git remote add" in default and "git remote add" not in other
    assert "s3://bucket/dvc" in other and "../one-dvc-remote" in default
    assert all(3 <= len(numbered(t)) <= 6 for t in (default, other))


def test_no_next_steps_on_pretend(tmp_path: Path) -> None:
    done = putup(tmp_path / "demo", "--pretend")
    assert "Next steps" not in done.stdout and not (tmp_path / "demo").exists()


def test_next_steps_never_show_a_password() -> None:
    answers = build("demo", dvc_remote="ssh://alice:s3cret@nas/srv/dvc")
    text = " ".join(c + w for c, w in steps(answers, "demo"))
    assert "s3cret" not in text and "ssh://alice@nas/srv/dvc" in text


def test_the_environment_step_follows_the_machine() -> None:
    """conda only where conda is; the pip route carries the remote's DVC plugin extra,
    exactly as the generated README's pip route does."""
    answers = build("demo", dvc_remote="s3://bucket/dvc")
    with_conda = steps(answers, "demo", conda=True)[0][0]
    without = steps(answers, "demo", conda=False)[0][0]
    assert with_conda.startswith("cd demo && conda env create -f environment.yml")
    assert without.endswith(LOCKED_INSTALL), without
    from pyscaffoldext.dsproject_ops.render import render

    tree = render(answers)
    for command in LOCKED_INSTALL.split(" && "):
        assert command in tree["README.md"], command
    # the lock the README installs carries the remote's plugin
    assert "\ndvc-s3==" in tree["requirements/lock.txt"]
    assert steps(build("demo"), "demo", conda=False)[0][0].endswith(LOCKED_INSTALL)
