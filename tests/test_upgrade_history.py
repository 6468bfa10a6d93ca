"""Every released template version stays renderable from the installed package."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pyscaffoldext.dsproject_ops.answers import build
from pyscaffoldext.dsproject_ops.errors import DsopsError
from pyscaffoldext.dsproject_ops.paths import PROJECT_DIR_NAME, template_root
from pyscaffoldext.dsproject_ops.render import render, template_version
from pyscaffoldext.dsproject_ops.upgrade import history


def _tree(tmp_path: Path, version: str = "0.0.5") -> Path:
    root = tmp_path / f"templates-{version}"
    shutil.copytree(template_root(), root, ignore=shutil.ignore_patterns("__pycache__"))
    spec = json.loads((root / "cookiecutter.json").read_text(encoding="utf-8"))
    spec["_template_version"] = version
    (root / "cookiecutter.json").write_text(json.dumps(spec, indent=2) + "\n", "utf-8")
    return root


def test_the_package_archives_agree_with_the_templates() -> None:
    """The release guard: once a version is archived (at release), changing the
    templates without bumping ``_template_version`` fails here."""
    assert history.problems() == []
    for version, archive in history.archived_versions().items():
        if archive.parent != history.HISTORY_DIR:
            continue
        tree = render(build("demo"), root=history.template_for(version))
        assert f"dsproject_ops_template = {version}\n" in tree["setup.cfg"]


def test_the_guard_catches_an_unbumped_change(tmp_path: Path) -> None:
    root = _tree(tmp_path, "0.0.5")
    history.snapshot(root, tmp_path / "hist")
    assert history.problems(root, tmp_path / "hist") == []
    readme = root / PROJECT_DIR_NAME / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "changed\n", encoding="utf-8")
    found = history.problems(root, tmp_path / "hist")
    assert len(found) == 1 and "bump it" in found[0]
    with pytest.raises(DsopsError, match="bump _template_version"):
        history.snapshot(root, tmp_path / "hist")


def test_snapshots_are_reproducible_and_render_like_the_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path, "0.0.5")
    first = history.snapshot(root, tmp_path / "a").read_bytes()
    second = history.snapshot(root, tmp_path / "b").read_bytes()
    assert first == second
    assert history.archive_files(tmp_path / "a" / "0.0.5.tar.gz") == history.tree_files(root)
    monkeypatch.setenv(history.ENV_VAR, str(tmp_path / "a"))
    assert "0.0.5" in history.known_versions()
    answers = build("demo", ci="gitlab")
    assert render(answers, root=history.template_for("0.0.5")) == render(answers, root=root)
    assert history.template_for(template_version()) == template_root()


def test_unknown_versions_and_unsafe_archives_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DsopsError, match="unknown template version '9.9.9'"):
        history.template_for("9.9.9")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("../evil")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "0.0.1.tar.gz").write_bytes(raw.getvalue())
    monkeypatch.setenv(history.ENV_VAR, str(tmp_path))
    with pytest.raises(DsopsError, match="unsafe entry"):
        history.template_for("0.0.1")


def test_the_maintainer_command_snapshots_and_lists(tmp_path: Path) -> None:
    root = _tree(tmp_path, "0.0.7")
    module = "pyscaffoldext.dsproject_ops.upgrade.history"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            module,
            "snapshot",
            "--root",
            str(root),
            "--into",
            str(tmp_path / "h"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "h" / "0.0.7.tar.gz").is_file()
    listed = subprocess.run(
        [sys.executable, "-m", module, "list"],
        capture_output=True,
        text=True,
        env={"DSOPS_TEMPLATE_HISTORY": str(tmp_path / "h"), "PATH": "/usr/bin:/bin"},
    )
    assert listed.returncode == 0 and "0.0.7" in listed.stdout.split()
    assert template_version() in listed.stdout.split()
