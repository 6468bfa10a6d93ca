"""Issue 14: a newcomer's first day, scripted from the generated README and
onboarding page: install by the pip route, ``pre-commit install``, ``dvc repro``,
``git commit -am`` passes the first time (the hooks run and agree with what DVC
wrote), and ``dvc pull`` in a fresh clone, before anyone pushed, exits 0. Plus what
``dsops doctor`` advises on a machine without conda and without pre-commit.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Callable

import pytest
from conftest import BIN, ProjectEnv, base_env, run

from pyscaffoldext.dsproject_ops import lockfile
from pyscaffoldext.dsproject_ops.answers import cookiecutter_json
from pyscaffoldext.dsproject_ops.onboarding.next_steps import LOCKED_INSTALL


def fenced(text: str) -> list[str]:
    """The command lines of the ```bash blocks (comments dropped)."""
    lines: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command:
                lines.append(command)
    return lines


def pip_route(text: str) -> list[list[str]]:
    """The README's pip route: the hashed lock, then the project without its deps."""
    found = [shlex.split(c) for c in fenced(text) if c.startswith("pip install ")]
    assert [c[:3] for c in found] == [["pip", "install", "--require-hashes"]] + [
        ["pip", "install", "--no-deps"]
    ], found
    return found


def test_readme_and_onboarding_give_the_same_routes_with_every_tool_the_docs_name(
    generate: Callable[..., Path],
) -> None:
    for options in ((), ("--dvc-remote", "azure://container/dvc", "--no-example")):
        repo = generate(*options)
        readme = (repo / "README.md").read_text(encoding="utf-8")
        onboarding = (repo / "docs/onboarding.md").read_text(encoding="utf-8")
        assert pip_route(readme) == pip_route(onboarding)
        assert "conda env create -f environment.yml" in fenced(readme)[0]
        assert "conda env create -f environment.yml" in fenced(onboarding)[0]
        lock, project = pip_route(readme)
        assert project[-2:] == ["-e", "."]
        names = set(lockfile.versions(lockfile.parse((repo / lock[-1]).read_text("utf-8"))))
        # What the docs tell a newcomer to run, the pip route installs.
        assert {"pytest", "pre-commit", "mkdocs", "dvc", "mlflow"} <= names
        if options:
            assert "dvc-azure" in names
        # and so does the conda route.
        conda = (repo / "environment.yml").read_text(encoding="utf-8")
        for tool in ("pytest", "pre-commit", "mkdocs", "dvc", "mlflow"):
            assert f"  - {tool}==" in conda


@pytest.mark.e2e
def test_a_newcomers_first_day_passes_the_first_time(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    project_env: ProjectEnv,
    tmp_path: Path,
) -> None:
    repo = copy_repo(generate())
    readme = (repo / "README.md").read_text(encoding="utf-8")
    # The README's pip route, into the project environment (its dependencies are
    # already there; no build isolation keeps it offline and fast).
    # The lock's packages are the project environment's (tests/test_lock.py installs
    # the lock itself into a fresh venv); here the project goes in as the README says.
    command = pip_route(readme)[1]
    project_env.run(
        [project_env.python, "-m", *command[:2], "-q", "--no-build-isolation", *command[2:]],
        cwd=repo,
    )
    hooks = os.environ.get("PRE_COMMIT_HOME") or str(Path.home() / ".cache" / "pre-commit")
    env = project_env.env(PRE_COMMIT_HOME=hooks)
    run([BIN / "pre-commit", "install"], cwd=repo, env=env)
    done = run(["dvc", "repro"], cwd=repo, env=env, timeout=1200)
    said = done.stdout + done.stderr
    # Noise silenced at the source: no kernel transport warning, no MLflow INFO lines.
    assert "without encryption" not in said, said
    assert not re.search(r"\bINFO mlflow", said), said
    assert "logged MLflow run" in said  # the run itself still reports
    # What DVC wrote is committed as the onboarding page says; the hooks run on it
    # (and on everything else tracked) and pass the first time.
    run(["git", "add", "dvc.lock", "reports/experiments.csv", "."], cwd=repo, env=env)
    done = run(["git", "commit", "-am", "First experiment"], cwd=repo, env=env, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "trim trailing whitespace" in done.stdout + done.stderr  # the hooks did run
    assert run(["git", "status", "--porcelain"], cwd=repo, env=env).stdout == ""
    # A teammate's fresh clone, before anyone pushed: the onboarding's `dvc pull`.
    onboarding = (repo / "docs/onboarding.md").read_text(encoding="utf-8")
    [pull] = {c for c in fenced(onboarding) if c.startswith("dvc pull")}
    clone = tmp_path / "clone" / repo.name
    run(["git", "clone", "-q", repo, clone], cwd=tmp_path, env=env)
    done = run(shlex.split(pull), cwd=clone, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ERROR" not in done.stdout + done.stderr


def test_doctor_without_conda_or_pre_commit_advises_what_exists_here(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], project_env: ProjectEnv
) -> None:
    repo = copy_repo(generate())
    # A plain venv: python and pip, no conda, no pre-commit, the package not installed.
    env = base_env()
    env["PATH"] = os.pathsep.join([str(project_env.bin), "/usr/bin", "/bin"])
    env["VIRTUAL_ENV"] = str(project_env.root)
    done = run([BIN / "dsops", "doctor", repo], cwd=repo, env=env, check=False)
    out = done.stdout
    assert done.returncode == 1, out
    pin = cookiecutter_json()["_dev_pins"]["pre-commit"]
    fixes = dict(re.findall(r"^  \[missing\] +([^:]+):.*\n +fix: (.*)$", out, re.M))
    assert fixes["pre-commit hooks"] == f"pip install pre-commit=={pin} && pre-commit install"
    assert not re.search(r"\bconda (env|install|activate)\b", out), out
    # A pinned package missing from this venv: the pip route, not `conda env update`.
    (repo / "setup.cfg").write_text(
        (repo / "setup.cfg")
        .read_text(encoding="utf-8")
        .replace("install_requires =\n", "install_requires =\n    not-installed-anywhere==1.0\n"),
        encoding="utf-8",
    )
    done = run([BIN / "dsops", "doctor", repo], cwd=repo, env=env, check=False)
    fixes = dict(re.findall(r"^  \[missing\] +([^:]+):.*\n +fix: (.*)$", done.stdout, re.M))
    assert fixes["environment"] == LOCKED_INSTALL, done.stdout
