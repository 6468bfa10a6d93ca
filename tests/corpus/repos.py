"""The corpus: repositories we did not make, each as a team would have it.

Made by the real tools from PyPI where they work offline (pyscaffoldext-dsproject's
``putup --dsproject``, plain ``putup``, ``kedro new``), then given team-like edits:
a changed README, extra dependencies, hooks at other revs, sub-packages named like
template modules (``features/``, ``data/``), data files tracked and ignored, YAML in
other indentation styles. cookiecutter-data-science clones its template from GitHub
at run time (neither its wheel nor its sdist ships it), so its v2 layout is written
here and its dependency files by the package's own writers
(``ccds.hook_utils.dependencies``); v1, long unmaintained, is written as it generated.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .peers import peer

IDENTITY = {
    "GIT_AUTHOR_NAME": "Team",
    "GIT_AUTHOR_EMAIL": "team@example.com",
    "GIT_COMMITTER_NAME": "Team",
    "GIT_COMMITTER_EMAIL": "team@example.com",
}


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    out.update(IDENTITY, KEDRO_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1")
    out["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return out


def run(cmd: list[str], cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env())
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done.stdout


def git(repo: Path, *args: str) -> str:
    return run(["git", *args], repo)


def commit(repo: Path, message: str, force: tuple[str, ...] = ()) -> None:
    if not (repo / ".git").exists():
        git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    if force:
        git(repo, "add", "-f", *force)
    git(repo, "commit", "-q", "--no-verify", "-m", message)


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n") if text else "", encoding="utf-8")


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{rel}: {old!r} not found"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(root: Path, rel: str, text: str) -> None:
    with open(root / rel, "a", encoding="utf-8") as fh:
        fh.write(text)


@dataclass(frozen=True)
class Entry:
    name: str  # the repository folder
    packages: tuple[str, ...]  # what the team imports
    make: Callable[[Path], None]  # builds the repository at the path (absent before)


# --- pyscaffoldext-dsproject 0.7.2 ------------------------------------------------------


def dsproject(repo: Path) -> None:
    run([str(peer("dsproject") / "putup"), "--dsproject", repo.name], repo.parent)
    edit(
        repo,
        "README.md",
        "# churn-model\n",
        "# churn-model\n\nOur churn model, retrained monthly.\n",
    )
    edit(
        repo,
        "setup.cfg",
        'install_requires =\n    importlib-metadata; python_version<"3.8"\n',
        'install_requires =\n    importlib-metadata; python_version<"3.8"\n'
        "    pandas>=1.5\n    scikit-learn\n",
    )
    edit(
        repo, "environment.yml", "  - pandas\n", "  - pandas\n  - scikit-learn>=1.3  # the team's\n"
    )
    edit(repo, ".pre-commit-config.yaml", "rev: stable", "rev: 24.4.2")
    write(
        repo,
        {
            "src/churn_model/models.py": "def train() -> str:\n    return 'trained'\n",
            # sub-packages named like the template's modules
            "src/churn_model/features/__init__.py": "from .build import build  # noqa: F401\n",
            "src/churn_model/features/build.py": "def build() -> list[int]:\n    return [1]\n",
            "src/churn_model/data/__init__.py": '"""Loading."""\n',
            "requirements.txt": "pandas==1.5.3\nscikit-learn\n",
            "configs/train.yaml": """
                # four-space indentation, as this team writes YAML
                model:
                    kind: forest
                    params:
                        - depth: 4
                        - trees: 100
                """,
            "data/raw/sensors.csv": "machine,temperature\n1,70.5\n",
        },
    )
    # git-ignored by data/raw/.gitignore: the data and an empty placeholder
    write(repo, {"data/raw/big.csv": "x\n" * 100, "data/raw/.gitkeep": ""})
    commit(repo, "team edits", force=("data/raw/sensors.csv",))


# --- plain PyScaffold 4.6 -----------------------------------------------------------------


def pyscaffold(repo: Path) -> None:
    run([str(peer("dsproject") / "putup"), repo.name], repo.parent)
    append(repo, "README.rst", "\nTeam notes\n==========\n\nRun ``pytest`` before pushing.\n")
    edit(
        repo,
        "setup.cfg",
        'install_requires =\n    importlib-metadata; python_version<"3.8"\n',
        'install_requires =\n    importlib-metadata; python_version<"3.8"\n    numpy\n',
    )
    append(repo, ".gitignore", "\n# the team's scratch space\n/scratch/\n")
    write(
        repo,
        {
            "src/sensorlib/train.py": "def fit() -> int:\n    return 1\n",
            "src/sensorlib/data/__init__.py": "SENSORS = ('temperature',)\n",
        },
    )
    commit(repo, "team edits")
    write(repo, {"scratch/notes.txt": "ignored notes\n", "todo.txt": "untracked\n"})


# --- cookiecutter-data-science v2 (2.3.0) -------------------------------------------------


def ccds_v2(repo: Path) -> None:
    module = "sales_forecast"
    write(
        repo,
        {
            "pyproject.toml": f"""
                [build-system]
                requires = ["flit_core >=3.2,<4"]
                build-backend = "flit_core.buildapi"

                [project]
                name = "{module}"
                version = "0.0.1"
                description = "Forecast weekly sales"
                authors = [
                  {{ name = "Cy" }},
                ]
                license = {{ file = "LICENSE" }}
                readme = "README.md"
                classifiers = [
                    "Programming Language :: Python :: 3",
                    "License :: OSI Approved :: MIT License"
                ]
                requires-python = "~=3.10"

                [tool.black]
                line-length = 99
                include = '\\.pyi?$'

                [tool.isort]
                profile = "black"
                known_first_party = ["{module}"]
                force_sort_within_sections = true
                """,
            "setup.cfg": """
                [flake8]
                ignore = E731,E266,E501,C901,W503
                max-line-length = 99
                exclude = .git,notebooks,references,models,data
                """,
            "Makefile": f"""
                PROJECT_NAME = sales_forecast
                PYTHON_INTERPRETER = python

                ## Make dataset
                .PHONY: data
                data: requirements
                \t$(PYTHON_INTERPRETER) {module}/dataset.py
                """,
            "README.md": "# sales_forecast\n\nForecast weekly sales.\n\n## Project Organization\n",
            "LICENSE": "MIT License\n\nCopyright (c) 2026, Cy\n",
            ".gitignore": "# Data\n/data/\n\n# Byte-compiled\n__pycache__/\n*.py[cod]\n"
            ".ipynb_checkpoints\n.env\n",
            ".env": "SECRET=1\n",
            f"{module}/__init__.py": f"from {module} import config  # noqa: F401\n",
            f"{module}/config.py": """
                from pathlib import Path

                from dotenv import load_dotenv
                from loguru import logger

                load_dotenv()

                PROJ_ROOT = Path(__file__).resolve().parents[1]
                logger.info(f"PROJ_ROOT path is: {PROJ_ROOT}")
                DATA_DIR = PROJ_ROOT / "data"
                RAW_DATA_DIR = DATA_DIR / "raw"
                MODELS_DIR = PROJ_ROOT / "models"
                """,
            f"{module}/dataset.py": "from loguru import logger\n\n\ndef main() -> None:\n"
            '    logger.info("Processing dataset...")\n',
            f"{module}/features.py": "def main() -> None:\n    pass\n",
            f"{module}/plots.py": "def main() -> None:\n    pass\n",
            f"{module}/modeling/__init__.py": "",
            f"{module}/modeling/train.py": "def main() -> None:\n    pass\n",
            f"{module}/modeling/predict.py": "def main() -> None:\n    pass\n",
            "docs/mkdocs.yml": "site_name: sales_forecast\n",
            "docs/docs/index.md": "# sales_forecast documentation!\n",
            "notebooks/.gitkeep": "",
            "references/.gitkeep": "",
            "reports/.gitkeep": "",
            "reports/figures/.gitkeep": "",
            "models/.gitkeep": "",
            # ccds ships these, but its own .gitignore hides /data/: ignored placeholders
            "data/external/.gitkeep": "",
            "data/interim/.gitkeep": "",
            "data/processed/.gitkeep": "",
            "data/raw/.gitkeep": "",
        },
    )
    # The package's own writers (ccds hooks): environment.yml and requires-python.
    script = (
        "from ccds.hook_utils.dependencies import write_dependencies, write_python_version\n"
        "write_dependencies('environment.yml', ['pip', 'python-dotenv', 'black', 'flake8',"
        " 'isort', 'ipython', 'jupyterlab', 'matplotlib', 'notebook', 'numpy', 'pandas',"
        " 'scikit-learn', 'loguru', 'tqdm', 'typer'], ['loguru', 'python-dotenv', 'typer'],"
        f" '{module}', '{module}', '3.11', environment_manager='conda')\n"
        "write_python_version('3.11')\n"
    )
    run([str(peer("ccds") / "python"), "-c", script], repo)
    commit(repo, "ccds v2 layout")
    # the team's edits: a dependency, an analysis, data (ignored by /data/)
    edit(repo, "environment.yml", "  - pandas\n", "  - pandas\n  - statsmodels\n")
    write(
        repo,
        {
            "notebooks/1.0-cy-explore.py": "import pandas as pd  # noqa: F401\n",
            "data/raw/sales.csv": "week,sales\n1,10\n",
        },
    )
    append(repo, "README.md", "\nWeekly retrain: `make data`.\n")
    commit(repo, "team edits")


# --- cookiecutter-data-science v1 ---------------------------------------------------------


def ccds_v1(repo: Path) -> None:
    write(
        repo,
        {
            "setup.py": """
                from setuptools import find_packages, setup

                setup(
                    name='src',
                    packages=find_packages(),
                    version='0.1.0',
                    description='Predict machine failures',
                    author='Dee',
                    license='MIT',
                )
                """,
            "requirements.txt": "# local package\n-e .\n\n# external requirements\nclick\n"
            "Sphinx\ncoverage\nflake8\npython-dotenv>=0.5.1\n",
            "tox.ini": "[flake8]\nmax-line-length = 79\nmax-complexity = 10\n",
            "test_environment.py": "import sys\n\nREQUIRED_PYTHON = 'python3'\n",
            "Makefile": ".PHONY: data\ndata:\n"
            "\tpython src/data/make_dataset.py data/raw data/processed\n",
            "README.md": "machine-failures\n==============================\n\nPredict failures.\n",
            "LICENSE": "The MIT License (MIT)\nCopyright (c) 2026, Dee\n",
            ".gitignore": "*.py[cod]\n.env\n\n# exclude data from source control by default\n"
            "/data/\n\n# Jupyter NB Checkpoints\n.ipynb_checkpoints/\n",
            ".env": "DATABASE_URL=postgres://localhost\n",
            "src/__init__.py": "",
            "src/data/__init__.py": "",
            "src/data/make_dataset.py": "# -*- coding: utf-8 -*-\nimport logging\n\n\n"
            "def main(input_filepath, output_filepath):\n"
            "    logging.getLogger(__name__).info('making final data set from raw data')\n",
            "src/features/__init__.py": "",
            "src/features/build_features.py": "",
            "src/models/__init__.py": "",
            "src/models/predict_model.py": "",
            "src/models/train_model.py": "",
            "src/visualization/__init__.py": "",
            "src/visualization/visualize.py": "",
            "docs/conf.py": "project = 'machine-failures'\n",
            "docs/index.rst": "machine-failures documentation!\n",
            "notebooks/.gitkeep": "",
            "references/.gitkeep": "",
            "reports/figures/.gitkeep": "",
            "models/.gitkeep": "",
            "data/external/.gitkeep": "",
            "data/interim/.gitkeep": "",
            "data/processed/.gitkeep": "",
            "data/raw/.gitkeep": "",
        },
    )
    commit(repo, "ccds v1 layout")
    edit(repo, "requirements.txt", "click\n", "click\npandas==1.5.3\nscikit-learn>=1.0,<1.3\n")
    write(repo, {"data/raw/failures.csv": "machine,failed\n1,0\n"})
    commit(repo, "team edits")


# --- Kedro 1.7 ---------------------------------------------------------------------------


def kedro(repo: Path) -> None:
    run(
        [str(peer("kedro") / "kedro"), "new", "--name", repo.name, "--tools", "none"]
        + ["--example", "n"],
        repo.parent,
    )
    commit(repo, "kedro new")
    pipeline = f"src/{repo.name}/pipelines/data_processing"
    package = repo.name
    write(
        repo,
        {
            f"{pipeline}/__init__.py": "from .pipeline import create_pipeline  # noqa: F401\n",
            f"{pipeline}/pipeline.py": "def create_pipeline(**kwargs):\n    return None\n",
            # a sub-package named like the template's features.py
            f"src/{package}/features/__init__.py": "WINDOW = 3\n",
            "conf/base/catalog.yml": """
                # the team's datasets, two-space mapping, indented lists
                companies:
                  type: pandas.CSVDataset
                  filepath: data/01_raw/companies.csv
                  load_args:
                    usecols:
                      - id
                      - company_rating
                """,
            "conf/base/parameters.yml": "model_options:\n    test_size: 0.2\n    random_state: 3\n",
            "data/01_raw/companies.csv": "id,company_rating\n1,90%\n",
        },
    )
    append(repo, "requirements.txt", "scikit-learn==1.2.2\n")
    append(repo, "README.md", "\n## Team\n\nAsk Ada about the catalog.\n")
    commit(repo, "team edits")


# --- hand-made ----------------------------------------------------------------------------


def hand_made(repo: Path) -> None:
    write(
        repo,
        {
            "README.md": "Sensor model\n============\n\nHand-made, no generator.\n",
            "pyproject.toml": """
                [build-system]
                requires = ["setuptools>=64"]
                build-backend = "setuptools.build_meta"

                [project]
                name = "sensorkit"
                version = "0.3.0"
                description = "Sensor features"
                dependencies = ["pandas", "scikit-learn"]

                [tool.setuptools.packages.find]
                include = ["sensorkit*"]
                """,
            "requirements.txt": "pandas\nscikit-learn\n",
            "sensorkit/__init__.py": "from .data import load  # noqa: F401\n",
            "sensorkit/data.py": "def load() -> list[int]:\n    return [1, 2]\n",
            "sensorkit/features/__init__.py": "",
            "sensorkit/features/rolling.py": "def mean(xs: list[int]) -> float:\n"
            "    return sum(xs) / len(xs)\n",
            "train.py": "from sensorkit import load\n\nprint(load())\n",
            # four-space sequences under their key, hooks at other revs
            ".pre-commit-config.yaml": """
                repos:
                    -   repo: https://github.com/psf/black
                        rev: 23.1.0
                        hooks:
                            -   id: black
                    -   repo: https://github.com/PyCQA/flake8
                        rev: 6.0.0
                        hooks:
                            -   id: flake8
                                args: [--max-line-length=100]
                """,
            "environment.yml": """
                name: sensorkit
                channels:
                    - conda-forge
                dependencies:
                    - python=3.11
                    - pandas
                    - pip
                    - pip:
                        - -e .
                """,
            ".gitignore": "*.pyc\n.venv/\ndata/processed/\n",
            "data/raw/sensors.csv": "machine,temperature\n1,70.5\n",
        },
    )
    commit(repo, "hand-made")
    write(repo, {"data/processed/out.csv": "ignored output\n", "notes.md": "untracked\n"})


CORPUS: dict[str, Entry] = {
    "dsproject": Entry("churn-model", ("churn_model",), dsproject),
    "pyscaffold": Entry("sensorlib", ("sensorlib",), pyscaffold),
    "ccds-v2": Entry("sales-forecast", ("sales_forecast",), ccds_v2),
    "ccds-v1": Entry("machine-failures", ("src",), ccds_v1),
    "kedro": Entry("spaceflights", ("spaceflights",), kedro),
    "hand-made": Entry("sensorkit", ("sensorkit",), hand_made),
}


def build(kind: str, parent: Path) -> Path:
    entry = CORPUS[kind]
    repo = parent / entry.name
    if entry.make not in (dsproject, pyscaffold, kedro):
        repo.mkdir(parents=True)
    else:
        parent.mkdir(parents=True, exist_ok=True)
    entry.make(repo)
    return repo


if __name__ == "__main__":  # python -m corpus.repos KIND FOLDER: look at one
    print(build(sys.argv[1], Path(sys.argv[2])))
