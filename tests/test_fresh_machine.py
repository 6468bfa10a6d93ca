"""A newcomer's first commands leave the checkout clean, and the second front-end
(cookiecutter) comes with the package and ends, like putup, with the next steps."""

from __future__ import annotations

import configparser
import json
import shutil
from importlib.metadata import requires
from pathlib import Path
from typing import Callable

import pytest
from conftest import BIN, ROOT, run


def test_the_readme_demo_and_its_dvc_remote_are_ignored_in_the_checkout(
    generate: Callable[..., Path],
) -> None:
    """`putup --dsproject-ops demo` in the checkout, then `dvc push`: both folders it
    makes (the repository and its default remote beside it) are git-ignored here."""
    repo = generate()  # the README's command, generated elsewhere to read its remote
    dvc = configparser.ConfigParser()
    dvc.read(repo / ".dvc" / "config", encoding="utf-8")
    url = dvc["'remote \"default\"'"]["url"]
    in_checkout = (ROOT / "demo" / ".dvc" / url).resolve()  # DVC resolves from .dvc/
    assert in_checkout.parent == ROOT, in_checkout
    for path in (ROOT / "demo" / "README.md", in_checkout / "files" / "md5" / "ab" / "cd"):
        rel = path.relative_to(ROOT).as_posix()
        done = run(["git", "check-ignore", "-q", "--no-index", rel], cwd=ROOT, check=False)
        assert done.returncode == 0, f"{rel} is not ignored by the checkout's .gitignore"


def test_cookiecutter_is_a_dependency_of_the_package() -> None:
    needed = [
        r.split(";")[0].replace(" ", "") for r in requires("pyscaffoldext-dsproject-ops") or []
    ]
    assert any(r.startswith("cookiecutter") for r in needed), needed


@pytest.mark.slow  # runs the cookiecutter front-end
def test_cookiecutter_prints_the_next_steps(tmp_path: Path) -> None:
    config = tmp_path / "cc.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\n", encoding="utf-8")
    done = run(
        [
            BIN / "cookiecutter",
            "--no-input",
            "--config-file",
            config,
            ROOT / "templates",
            "-o",
            tmp_path,
            "project_name=churn",
        ],
        cwd=tmp_path,
    )
    assert "Created churn. Next steps:" in done.stdout, done.stdout
    assert "dvc repro" in done.stdout and "dsops doctor" in done.stdout
    assert run(["git", "status", "--porcelain"], cwd=tmp_path / "churn").stdout == ""


def test_a_bad_cookiecutter_answer_is_one_line_with_the_extension(tmp_path: Path) -> None:
    """With ``OneLineHookErrors`` in cookiecutter.json's ``_extensions``, a bad answer
    prints putup's one line, exits 1 and leaves nothing; without it cookiecutter adds its
    own 12-line traceback. A copy of the checkout's template, as a user's clone has it."""
    repo = tmp_path / "checkout"
    shutil.copytree(ROOT / "templates", repo / "templates")
    (repo / "src").symlink_to(ROOT / "src")  # the hooks find the package beside the template
    spec = json.loads((repo / "templates" / "cookiecutter.json").read_text(encoding="utf-8"))
    assert "dsops_jinja.OneLineHookErrors" in spec["_extensions"]
    config = tmp_path / "cc.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    done = run(
        [
            BIN / "cookiecutter",
            "--no-input",
            "--config-file",
            config,
            repo / "templates",
            "-o",
            out,
            "project_name=Bad Name!",
        ],
        cwd=tmp_path,
        check=False,
    )
    said = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 1
    assert len(said) == 1 and said[0].startswith("ERROR: invalid project name"), said
    assert list(out.iterdir()) == []
