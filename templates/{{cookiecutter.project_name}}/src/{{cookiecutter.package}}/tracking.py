"""Log a training run: to MLflow (parameters, metrics, the model, the git commit and
the data version) and as one row of the CSV experiment log.

MLflow writes to DEFAULT_TRACKING_URI (below) unless the environment variable
MLFLOW_TRACKING_URI names another store or a tracking server
(`MLFLOW_TRACKING_URI=http://host:5000 dvc repro`). The experiment is named after
the project. Browse local runs with `mlflow ui --backend-store-uri sqlite:///mlflow.db`.

Credentials never go in a tracked file. They go in the git-ignored `.env` of the
checkout, which this module reads before MLflow connects (variables already set in
the environment win): MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD for a
server's login, MLFLOW_TRACKING_TOKEN for a token, or a whole MLFLOW_TRACKING_URI
for a database store whose URI holds a password.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, MutableMapping

from . import experiment_log
from .errors import UserError

DEFAULT_TRACKING_URI = {{ cookiecutter.__mlflow_uri|py_str }}
EXPERIMENT = {{ cookiecutter.project_name|py_str }}
ENV_FILE = Path(".env")
# Files a pipeline run itself changes: they do not make the code version "dirty".
RUN_RECORDS = ("dvc.lock", experiment_log.LOG_FILE.as_posix())


def tracking_uri(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def load_env_file(
    path: Path = ENV_FILE, environ: MutableMapping[str, str] = os.environ
) -> None:
    """Set the ``MLFLOW_*`` variables of a ``.env`` file (``KEY=value`` lines, values
    bare or quoted) that the environment does not set already."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.startswith("MLFLOW_"):
            continue
        if value.startswith('"'):
            value = str(json.loads(value))
        elif len(value) > 1 and value[0] == value[-1] == "'":
            value = value[1:-1]
        environ.setdefault(key, value)


def shown(uri: str) -> str:
    """A tracking URI as logs may show it: no password."""
    return re.sub(r"(//[^/@]*?:)[^/@]*@", r"\1***@", uri)


def git_commit(repo: Path = Path(".")) -> str:
    """The commit the run used; ``+dirty`` when tracked files differ from it."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=False
        )

    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return "unknown (not a git repository)"
    excluded = [f":(exclude){path}" for path in RUN_RECORDS]
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", *excluded)
    return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def describe(given: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The run's description: given, else the DVC experiment's name, else a default."""
    if given:
        return " ".join(given.split())
    if environ.get("EXPERIMENT_DESCRIPTION"):
        return " ".join(environ["EXPERIMENT_DESCRIPTION"].split())
    if environ.get("DVC_EXP_NAME"):
        return f"dvc experiment {environ['DVC_EXP_NAME']}"
    return "pipeline run"


@dataclass(frozen=True)
class DataSet:
    path: Path

    @property
    def rows(self) -> int:
        with open(self.path, "rb") as fh:
            return max(0, sum(1 for _ in fh) - 1)  # minus the header line

    @property
    def link(self) -> str:
        return experiment_log.data_link(self.path)


def read_metrics(paths: list[Path]) -> dict[str, dict[str, float]]:
    """Metrics files (``{"<data set>": {"<metric>": value}}``), merged."""
    merged: dict[str, dict[str, float]] = {}
    for path in paths:
        if not path.is_file():
            raise UserError(f"metrics file {path} not found: run the pipeline first")
        for data_set, values in json.loads(path.read_text(encoding="utf-8")).items():
            merged.setdefault(data_set, {}).update(values)
    return merged


def experiment_row(
    *,
    commit: str,
    settings: Mapping[str, Any],
    train: DataSet,
    test: DataSet,
    metrics: Mapping[str, Mapping[str, float]],
    outputs: list[str],
    description: str,
    date: datetime | None = None,
) -> dict[str, object]:
    """One CSV row. ``settings`` is params.yaml `train`: `model` names the model,
    `cv_folds` the validation."""
    folds = settings.get("cv_folds")
    return {
        "date": (date or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "commit": commit,
        "model": settings.get("model", "model"),
        "parameters": json.dumps(dict(settings), sort_keys=True),
        "train_rows": train.rows,
        "train_data": train.link,
        "validation": (
            f"{folds}-fold cross-validation on the training set" if folds else "none"
        ),
        "test_rows": test.rows,
        "test_data": test.link,
        **experiment_log.metric_columns(metrics),
        "outputs": "; ".join(outputs),
        "description": description,
    }


def log_to_mlflow(
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    tags: Mapping[str, str],
    model: Path,
    run_name: str | None,
) -> str:
    """One MLflow run in the project's experiment; returns its id."""
    # MLflow logs every database migration and new experiment at INFO: keep its
    # warnings and errors only (MLFLOW_LOGGING_LEVEL=INFO brings the rest back).
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    import mlflow  # slow to import: only this stage needs it

    load_env_file()
    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params(dict(params))
        mlflow.log_metrics(dict(metrics))
        mlflow.set_tags(dict(tags))
        # The model folder DVC versions, as is: `runs:/<run id>/model` loads it.
        mlflow.log_artifacts(str(model), artifact_path="model")
    return str(run.info.run_id)


def main(argv: list[str], prog: str) -> int:
    """The `log` stage: record the run in MLflow and in the CSV experiment log."""
    import argparse

    from .params import flatten, load_params

    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("--model", type=Path, required=True, help="model folder")
    parser.add_argument("--train", type=Path, required=True, help="training set")
    parser.add_argument("--test", type=Path, required=True, help="test set")
    parser.add_argument(
        "--metrics", type=Path, action="append", required=True, help="metrics JSON"
    )
    parser.add_argument("--description", help="what this run tries (default: none)")
    parser.add_argument("--log", type=Path, default=experiment_log.LOG_FILE)
    args = parser.parse_args(argv)
    for path in (args.model, args.train, args.test):
        if not path.exists():
            raise UserError(f"{path} not found: run the pipeline first (dvc repro)")
    params = load_params()
    train, test = DataSet(args.train), DataSet(args.test)
    metrics = read_metrics(args.metrics)
    commit = git_commit()
    tags = {
        "mlflow.source.git.commit": commit,
        "data_version.train": experiment_log.file_md5(train.path),
        "data_version.test": experiment_log.file_md5(test.path),
    }
    run_id = log_to_mlflow(
        flatten(params),
        experiment_log.metric_columns(metrics),
        tags,
        args.model,
        os.environ.get("DVC_EXP_NAME"),
    )
    row = experiment_row(
        commit=commit,
        settings=params.get("train", {}),
        train=train,
        test=test,
        metrics=metrics,
        outputs=[args.model.as_posix(), f"mlflow run {run_id}"],
        description=describe(args.description),
    )
    experiment_log.append_row(row, args.log)
    print(
        f"logged MLflow run {run_id} ({shown(tracking_uri())}) and a row in {args.log}"
    )
    return 0
