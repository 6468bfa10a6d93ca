"""The wheel carries the template tree, and a plain (non-editable) install works."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest
from conftest import BIN, ROOT, Dist, base_env, run

from pyscaffoldext.dsproject_ops.answers import build
from pyscaffoldext.dsproject_ops.paths import template_root
from pyscaffoldext.dsproject_ops.render import render


def test_editable_install_finds_the_checkout_templates() -> None:
    assert template_root() == ROOT / "templates"


@pytest.mark.slow  # installs the wheel (built once per session) into a new environment
def test_wheel_ships_templates_and_generates_from_them(release_dist: Dist, tmp_path: Path) -> None:
    wheel = release_dist.wheel  # the release's wheel: built from the sdist
    assert wheel.name.startswith("pyscaffoldext_dsproject_ops-")
    names = zipfile.ZipFile(wheel).namelist()
    sources = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "templates").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    for rel in sources:
        assert f"pyscaffoldext/dsproject_ops/{rel}" in names, rel

    # A fresh environment with the wheel and its dependencies, nothing else (a plain
    # install, not editable). uv installs it: the same files from the same wheels as
    # pip's, at a fraction of the CPU (its cache links them; pip unzips every file).
    env_dir = tmp_path / "venv"
    env = base_env()
    env["PATH"] = f"{env_dir / 'bin'}:{env['PATH']}"
    env["VIRTUAL_ENV"] = str(env_dir)
    run([BIN / "uv", "-q", "venv", "--python", sys.executable, env_dir], cwd=tmp_path, env=env)
    run([BIN / "uv", "-q", "pip", "install", wheel], cwd=tmp_path, env=env)
    where = run(
        [
            env_dir / "bin" / "python",
            "-c",
            "from pyscaffoldext.dsproject_ops.paths import template_root; print(template_root())",
        ],
        cwd=tmp_path,
        env=env,
    ).stdout.strip()
    assert where.startswith(str(env_dir))
    run([env_dir / "bin" / "putup", "--dsproject-ops", "demo"], cwd=tmp_path, env=env)
    tracked = run(["git", "ls-files"], cwd=tmp_path / "demo").stdout.split()
    assert sorted(tracked) == sorted(render(build("demo")))
    assert run(["git", "status", "--porcelain"], cwd=tmp_path / "demo").stdout == ""
