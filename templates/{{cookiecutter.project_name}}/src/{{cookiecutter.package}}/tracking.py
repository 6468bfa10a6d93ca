"""Log a training run: to MLflow (parameters, metrics, the model, the git commit and
the data version) and as one row of the CSV experiment log.

MLflow writes to DEFAULT_TRACKING_URI (below) unless the environment variable
MLFLOW_TRACKING_URI names another store or a tracking server
(`MLFLOW_TRACKING_URI=http://host:5000 dvc repro`). A relative SQLite store is
taken from the repository's root, not the current folder: `dvc exp run --temp` and
`--queue` run stages in a temporary copy, whose store would be thrown away with it.
The experiment is named after the project. Browse local runs with
`mlflow ui --backend-store-uri sqlite:///mlflow.db` (from the repository's root).

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
ENV_FILE = ".env"  # in the repository's root
# Files a pipeline run itself changes: they do not make the code version "dirty".
RUN_RECORDS = ("dvc.lock", experiment_log.LOG_FILE.as_posix())


def project_root(environ: Mapping[str, str] = os.environ) -> Path:
    """The repository's root folder.

    DVC sets DVC_ROOT for every stage it runs, to the original repository even when
    `dvc exp run --temp` or `--queue` runs the stage in a copy under .dvc/tmp/exps
    (a copy that has its own .dvc and .git, so searching upwards would stop there).
    Outside DVC: the nearest folder upwards with a .dvc or .git, else this one.
    """
    if environ.get("DVC_ROOT"):
        return Path(environ["DVC_ROOT"]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / ".dvc").is_dir() or (folder / ".git").exists():
            return folder
    return here


def anchored(uri: str, root: Path) -> str:
    """A relative SQLite URI (``sqlite:///mlflow.db``) made absolute under ``root``;
    any other URI as it is."""
    relative = re.fullmatch(r"sqlite:///([^/].*)", uri)
    if relative is None:
        return uri
    return "sqlite:///" + (root / relative.group(1)).as_posix()


def tracking_uri(environ: Mapping[str, str] = os.environ) -> str:
    """MLFLOW_TRACKING_URI when set (as given), else the default, at the root."""
    given = environ.get("MLFLOW_TRACKING_URI")
    return given or anchored(DEFAULT_TRACKING_URI, project_root(environ))


def is_local_store(uri: str) -> bool:
    """A database MLflow opens itself (not a tracking server): it stores artifacts
    in a local folder unless told where."""
    return not uri.startswith(("http://", "https://", "databricks"))


def quiet_mlflow() -> None:
    """MLflow's defaults here, set before it is imported (it reads them then)."""
    # MLflow logs every database migration and new experiment at INFO: keep its
    # warnings and errors only (MLFLOW_LOGGING_LEVEL=INFO brings the rest back).
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def connect() -> str:
    """Point MLflow at the project's store (after .env); returns the URI."""
    quiet_mlflow()
    import mlflow  # slow to import: only the commands that track need it

    load_env_file()
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    return uri


def load_env_file(
    path: Path | None = None, environ: MutableMapping[str, str] = os.environ
) -> None:
    """Set the ``MLFLOW_*`` variables of a ``.env`` file (``KEY=value`` lines, values
    bare or quoted) that the environment does not set already. The default file is
    the root's: a `dvc exp run --temp` copy has no git-ignored file."""
    path = path or project_root(environ) / ENV_FILE
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
    uri = connect()
    import mlflow

    if is_local_store(uri) and mlflow.get_experiment_by_name(EXPERIMENT) is None:
        # Artifacts beside the store, in the root: MLflow's default (./mlruns of the
        # current folder) would be a temporary copy's under `dvc exp run --temp`.
        artifacts = (project_root() / "mlruns").as_uri()
        mlflow.create_experiment(EXPERIMENT, artifact_location=artifacts)
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
    outputs = [args.model.as_posix(), f"mlflow run {run_id}"]
    registered = ""
{%- if cookiecutter.example %}
    # A new version in the model registry; `promote` decides if it goes to production.
    from . import registry

    name = registry.Policy.from_params(params).model_name
    settings = {k: v for k, v in params.items() if k != "promote"}
    version = registry.register(
        run_id,
        name,
        registry.lineage(
            commit, tags, flatten(settings), experiment_log.metric_columns(metrics)
        ),
        describe(args.description),
    )
    outputs.append(f"registered {name} v{version}")
    registered = f", registered {name} v{version}"
{%- endif %}
    row = experiment_row(
        commit=commit,
        settings=params.get("train", {}),
        train=train,
        test=test,
        metrics=metrics,
        outputs=outputs,
        description=describe(args.description),
    )
    experiment_log.append_row(row, args.log)
    where = shown(tracking_uri())
    print(f"logged MLflow run {run_id} ({where}){registered} and a row in {args.log}")
    return 0
