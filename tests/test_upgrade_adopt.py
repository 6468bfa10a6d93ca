"""Adoption: repositories we did not make get the missing pieces, lose nothing, and
are recorded so their next upgrade is three-way. The four fixtures are written here
(shaped like a pyscaffoldext-dsproject project, a cookiecutter-data-science v2
project and a hand-made repository) or made by the real ``putup`` (plain PyScaffold)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Callable

import pytest
from conftest import BIN, base_env
from test_upgrade_fixtures import classes, commit_all, git

from pyscaffoldext.dsproject_ops.render import render, template_version
from pyscaffoldext.dsproject_ops.upgrade.record import recorded_answers
from pyscaffoldext.dsproject_ops.writer import write_project

NEW = template_version()
MIGRATED = {"    dsproject", "version = 4.5"}
NOTEBOOK = (
    json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "metadata": {},
                    "outputs": [],
                    "source": ["import pandas as pd\n"],
                }
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )
    + "\n"
)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def dsproject(root: Path) -> None:
    """Shaped like pyscaffoldext-dsproject 0.7 (PyScaffold 4.5) output."""
    _write(
        root,
        {
            "setup.cfg": (
                "[metadata]\nname = churn\ndescription = Predict customer churn\n"
                "author = Bea\nauthor_email = bea@example.com\nlicense = MIT\n"
                "long_description = file: README.md\n\n"
                "[options]\nzip_safe = False\npackages = find_namespace:\npackage_dir =\n    =src\n"
                'install_requires =\n    importlib-metadata; python_version<"3.8"\n    pandas\n\n'
                "[options.packages.find]\nwhere = src\nexclude =\n    tests\n\n"
                "[flake8]\nmax_line_length = 88\nextend_ignore = E203, W503\n\n"
                "[pyscaffold]\nversion = 4.5\npackage = churn\nextensions =\n    dsproject\n"
                "    markdown\n    no_skeleton\n    pre_commit\n"
            ),
            "setup.py": 'from setuptools import setup\n\nif __name__ == "__main__":\n    setup()\n',
            "pyproject.toml": (
                '[build-system]\nrequires = ["setuptools>=46.1.0", "setuptools_scm[toml]>=5"]\n'
                'build-backend = "setuptools.build_meta"\n\n[tool.setuptools_scm]\n'
                'version_scheme = "no-guess-dev"\n'
            ),
            "environment.yml": (
                "name: churn\nchannels:\n  - defaults\ndependencies:\n  - python>=3.6\n  - pip\n"
                "  - pandas\n  - jupyterlab\n  - pip:\n     - -e .\n"
            ),
            ".pre-commit-config.yaml": (
                "exclude: '^docs/conf.py'\nrepos:\n- repo: https://github.com/pre-commit/"
                "pre-commit-hooks\n  rev: v4.0.1\n  hooks:\n  - id: trailing-whitespace\n"
                "  - id: check-added-large-files\n"
            ),
            ".gitignore": "*.pyc\n__pycache__/*\n.venv\n/data/raw/*\n!/data/raw/.gitkeep\n",
            "README.md": "# churn\n\nOur churn model.\n",
            "src/churn/__init__.py": '__version__ = "unknown"\n',
            "src/churn/models.py": "def train() -> None:\n    pass\n",
            "notebooks/template.ipynb": NOTEBOOK,
            "data/raw/.gitkeep": "",
            "models/.gitkeep": "",
            "tests/conftest.py": '"""Fixtures."""\n',
        },
    )


def ccds(root: Path) -> None:
    """Shaped like a cookiecutter-data-science v2 project (module at the top)."""
    _write(
        root,
        {
            "pyproject.toml": (
                '[build-system]\nrequires = ["flit_core >=3.2,<4"]\n'
                'build-backend = "flit_core.buildapi"\n\n[project]\nname = "sales_forecast"\n'
                'version = "0.0.1"\ndescription = "Forecast weekly sales"\n'
                'authors = [\n  { name = "Cy" },\n]\nlicense = { file = "LICENSE" }\n'
                'requires-python = "~=3.11"\n\n[tool.ruff]\nline-length = 99\n'
            ),
            "setup.cfg": "[flake8]\nignore = E731,E266,E501,C901,W503\nmax-line-length = 99\n"
            "exclude = .git,notebooks,references,models,data\n",
            "environment.yml": (
                "name: sales_forecast\nchannels:\n  - conda-forge\ndependencies:\n"
                "  - python=3.11\n  - pip\n  - pandas\n  - pip:\n    - -e .\n"
            ),
            "Makefile": ".PHONY: data\ndata:\n\tpython -m sales_forecast.dataset\n",
            "README.md": "# sales_forecast\n\nForecast weekly sales.\n",
            "LICENSE": "Copyright Cy\n",
            ".gitignore": "/data/\n*.py[cod]\n.ipynb_checkpoints\n",
            "sales_forecast/__init__.py": "from sales_forecast import config  # noqa: F401\n",
            "sales_forecast/config.py": "from pathlib import Path\n\nPROJ_ROOT = Path(__file__)\n",
            "notebooks/.gitkeep": "",
            "references/.gitkeep": "",
            "reports/figures/.gitkeep": "",
            "models/.gitkeep": "",
            "docs/docs/index.md": "# Docs\n",
        },
    )


def plain_pyscaffold(root: Path) -> None:
    """A real plain PyScaffold project, made by ``putup`` itself."""
    root.rmdir()
    subprocess.run(
        [str(BIN / "putup"), root.name],
        cwd=root.parent,
        check=True,
        capture_output=True,
        env=base_env(),
    )


def hand_made(root: Path) -> None:
    _write(
        root,
        {
            "README.md": "Sensor model\n============\n",
            "requirements.txt": "pandas\nscikit-learn\n",
            "train.py": "import pandas as pd\n\nprint(pd.__version__)\n",
            "notebooks/explore.ipynb": NOTEBOOK,
            "data/raw/sensors.csv": "machine,temperature\n1,70.5\n",
            "data/processed/.keep": "",
            ".gitignore": "*.pyc\n.venv/\n",
        },
    )


FIXTURES: dict[str, Callable[[Path], None]] = {
    "dsproject": dsproject,
    "ccds": ccds,
    "pyscaffold": plain_pyscaffold,
    "hand-made": hand_made,
}


def _keep_yours(text: str) -> str:
    """Resolve every conflict region by keeping the user's side."""
    out, side = [], None
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            side = "ours"
        elif line.startswith("||||||| ") and side:
            side = "base"
        elif line.startswith("=======") and side:
            side = "theirs"
        elif line.startswith(">>>>>>> ") and side:
            side = None
        elif side in (None, "ours"):
            out.append(line)
    return "".join(out)


def _tracked(repo: Path) -> dict[str, bytes]:
    return {p: (repo / p).read_bytes() for p in git(repo, "ls-files").splitlines()}


@pytest.mark.slow  # adopts real repositories, then builds them
@pytest.mark.parametrize("kind", list(FIXTURES))
def test_adoption_loses_nothing_and_records_the_answers(kind: str, tmp_path: Path) -> None:
    repo = tmp_path / ("proj" if kind != "dsproject" else "churn")
    repo.mkdir()
    FIXTURES[kind](repo)
    if not (repo / ".git").exists():
        git(repo, "init", "-q")
    commit_all(repo, "the team's repository")
    before = _tracked(repo)
    (repo / "data" / "raw").mkdir(parents=True, exist_ok=True)
    (repo / "data" / "raw" / "untracked.csv").write_text("x\n1\n", encoding="utf-8")

    dry = subprocess.run(
        [str(BIN / "dsops"), "upgrade", "--dry-run"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=base_env(),
    )
    # 0, or 1 where a dry run that names conflicts exits 1 (to pre-screen a fleet)
    assert dry.returncode == 0 or "would conflict" in dry.stdout, dry.stdout + dry.stderr
    assert _tracked(repo) == before
    done = subprocess.run(
        [str(BIN / "dsops"), "upgrade"], cwd=repo, capture_output=True, text=True, env=base_env()
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert done.stdout.startswith("adopting ")
    got = classes(done.stdout)
    assert set(got.values()) <= {"added", "merged cleanly", "conflict", "kept yours", "skipped"}
    if kind == "ccds":  # a flat package: never a second src/<pkg>/ beside it
        assert not (repo / "src").exists()
        assert "(flat layout)" in done.stdout
    conflicted = {p for p, k in got.items() if k == "conflict"}
    assert (done.returncode == 1) == bool(conflicted)
    # Nothing lost, nothing replaced: every file is still there, with every line.
    for rel, data in before.items():
        path = repo / rel
        assert path.exists(), rel
        if path.read_bytes() != data:
            assert got.get(rel) in ("merged cleanly", "conflict"), rel
            # Compared without indentation (a YAML merge may re-indent a list it keeps);
            # an ignore pattern that hid DVC pointer files is kept as a comment above
            # its rewrite, and the report names it.
            lines = {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
            lines |= {
                line[2:].split("  (rewritten by dsops upgrade", 1)[0]
                for line in lines
                if line.startswith("# ")
                and "  (rewritten by dsops upgrade" in line
                and f"{line[2:].split('  (', 1)[0]} rewritten to " in done.stdout
            }
            # pyscaffoldext-dsproject's record is migrated (dsproject -> dsproject_ops)
            mine = {line.strip() for line in data.decode().splitlines() if line not in MIGRATED}
            assert mine <= lines, rel
    assert (repo / "data/raw/untracked.csv").read_text() == "x\n1\n"
    # A conflict of two additions: "both added", stages 2 and 3, no base.
    for rel in conflicted:
        stages = [line.split()[2] for line in git(repo, "ls-files", "-s", rel).splitlines()]
        assert stages == ["2", "3"], rel
    # Resolve as a user might (keep yours), commit: the next upgrade is three-way.
    for rel in conflicted:
        path = repo / rel
        path.write_text(_keep_yours(path.read_text(encoding="utf-8")), encoding="utf-8")
    commit_all(repo, "adopt dsproject-ops")
    cfg = (repo / "setup.cfg").read_text(encoding="utf-8")
    assert f"dsproject_ops_template = {NEW}" in cfg
    answers = recorded_answers(cfg)
    again = subprocess.run(
        [str(BIN / "dsops"), "upgrade", "--dry-run"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=base_env(),
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"upgrading {repo.name} from template {NEW} to {NEW}")
    # dsops validate: beyond what it says of a freshly generated repository with the
    # same answers, it reports only on files the user owns (theirs, kept or merged).
    from pyscaffoldext.dsproject_ops.validate.runner import validate

    fresh = write_project(tmp_path / "fresh" / repo.name, render(answers), answers)
    baseline = {(f.code, f.file) for f in validate(fresh).findings}
    owned = set(before) | {p for p, k in got.items() if k != "added"}
    extra = [f for f in validate(repo).findings if (f.code, f.file) not in baseline]
    assert all(f.file in owned for f in extra), [(f.code, f.file, f.message) for f in extra]


def test_adoption_fills_the_record_of_an_existing_setup_cfg(tmp_path: Path) -> None:
    repo = tmp_path / "churn"
    repo.mkdir()
    dsproject(repo)
    git(repo, "init", "-q")
    commit_all(repo)
    subprocess.run(
        [str(BIN / "dsops"), "upgrade"], cwd=repo, capture_output=True, text=True, env=base_env()
    )
    cfg = (repo / "setup.cfg").read_text(encoding="utf-8")
    # the team's own sections and requirements stay; the record is merged in
    assert "    pandas\n" in cfg and "[options.packages.find]" in cfg
    # pyscaffoldext-dsproject's extension is migrated, so `putup --update` finds ours
    assert "    dsproject\n" not in cfg and "    dsproject_ops\n" in cfg
    assert "    markdown\n" in cfg and "version = 4.5" not in cfg
    assert "dsproject_ops_ci = both" in cfg
    assert recorded_answers(_resolved(cfg)).project_name == "churn"


def _resolved(text: str) -> str:
    return _keep_yours(text)
