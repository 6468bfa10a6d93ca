"""This repository is release-ready: one version, a build that passes twine's check,
and a release workflow that actionlint accepts and that publishes with trusted publishing."""

from __future__ import annotations

import json
import re
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import BIN, ROOT, Dist, run

WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"


def template_version() -> str:
    spec = json.loads((ROOT / "templates" / "cookiecutter.json").read_text(encoding="utf-8"))
    return str(spec["_template_version"])


def test_the_version_has_one_source() -> None:
    from pyscaffoldext.dsproject_ops import __version__

    assert __version__ == template_version()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject
    assert re.search(r"^version\s*=", pyproject, re.M) is None
    done = run([BIN / "dsops", "--version"], cwd=ROOT)
    assert template_version() in done.stdout


@pytest.mark.slow  # builds the sdist and the wheel in isolated environments
def test_build_gives_an_sdist_and_a_wheel_that_pass_twine_check(
    release_dist: Dist, tmp_path: Path
) -> None:
    version = template_version()
    sdist, wheel = release_dist.sdist, release_dist.wheel
    assert sdist.name == f"pyscaffoldext_dsproject_ops-{version}.tar.gz"
    assert wheel.name == f"pyscaffoldext_dsproject_ops-{version}-py3-none-any.whl"
    done = run([BIN / "twine", "check", "--strict", sdist, wheel], cwd=tmp_path)
    assert done.stdout.count("PASSED") == 2, done.stdout
    metadata = zipfile.ZipFile(wheel).read(
        f"pyscaffoldext_dsproject_ops-{version}.dist-info/METADATA"
    )
    assert b"Requires-Dist: cookiecutter" in metadata  # the second front-end works installed
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    assert f"pyscaffoldext_dsproject_ops-{version}/templates/cookiecutter.json" in names


def test_release_workflow_passes_actionlint() -> None:
    done = run([BIN / "actionlint", "-no-color", WORKFLOW], cwd=ROOT, check=False)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_release_workflow_publishes_tags_with_trusted_publishing() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert workflow[True] == {"push": {"tags": ["v*"]}}  # `on:` is YAML 1.1's True
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    publish = jobs["publish"]
    assert set(publish["needs"]) == {"test", "build"}
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    steps = publish["steps"]
    assert steps[-1]["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert "with" not in steps[-1]  # no password: trusted publishing
    assert any(step.get("run") == "bash .ci/run" for step in jobs["test"]["steps"])
    scripts = "\n".join(step.get("run", "") for step in jobs["build"]["steps"])
    assert "templates/cookiecutter.json" in scripts and "GITHUB_REF_NAME" in scripts
    assert "twine check --strict" in scripts
    for job in jobs.values():
        assert job["timeout-minutes"] <= 30
