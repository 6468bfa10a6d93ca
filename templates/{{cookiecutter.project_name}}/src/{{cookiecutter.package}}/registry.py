"""The model registry: which model is in production, and how it got there.

Every training run registers a new version of the model named in params.yaml
(`promote.model_name`) in MLflow's model registry, tagged with its lineage: the
commit, the md5 of the data it was trained and tested on, the parameters. The model
in production is the version the alias `champion` points to; the server loads
`models:/<name>@champion`.

    {{ cookiecutter.project_name }} promote            # the latest version against the champion
    {{ cookiecutter.project_name }} promote --check --report reports/promotion.md
    {{ cookiecutter.project_name }} rollback           # champion back to the one before

`promote` scores the challenger and the champion on the same held-out data
(data/processed/test.csv) and moves `champion` only when the challenger's metric is
at least the champion's plus `promote.margin`; otherwise it prints the comparison
and exits 1 (CI's quality gate). Each promotion is remembered in the registered
model's tag `champion_history`; `previous-champion` points to the one before, which
is where `rollback` goes. Aliases, not the deprecated stages (Staging, Production).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from .errors import UserError

if TYPE_CHECKING:
    from mlflow import MlflowClient

# Without a `promote` section (a repository upgraded from an older template keeps its
# params.yaml), the model is named after the project.
DEFAULT_MODEL_NAME = {{ cookiecutter.project_name|py_str }}
CHAMPION = "champion"
PREVIOUS = "previous-champion"
HISTORY_TAG = "champion_history"  # JSON list of versions, oldest first
TEST_FILE = Path("data/processed/test.csv")
MAX_TAG = 5000  # MLflow's limit on a model version tag's value


@dataclass(frozen=True)
class Policy:
    """params.yaml `promote`: which model, judged by which metric, by how much."""

    model_name: str
    metric: str = "roc_auc"
    margin: float = 0.0
    threshold: float = 0.5  # evaluate.decision_threshold, for precision/recall/f1

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Policy:
        section = params.get("promote") or {}
        if not isinstance(section, dict):
            raise UserError("params.yaml: promote must be a mapping of settings")
        threshold = params.get("evaluate", {}).get("decision_threshold", 0.5)
        try:
            margin, threshold = float(section.get("margin", 0.0)), float(threshold)
        except (TypeError, ValueError):
            raise UserError("params.yaml: promote.margin must be a number") from None
        return cls(
            model_name=str(section.get("model_name") or DEFAULT_MODEL_NAME),
            metric=str(section.get("metric", "roc_auc")),
            margin=margin,
            threshold=threshold,
        )


# --- registering a training run -----------------------------------------------------


def lineage(
    commit: str,
    tags: Mapping[str, str],
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
) -> dict[str, str]:
    """The version's tags: where it came from, enough to rebuild it."""
    found = {
        "git_commit": commit,
        **{k: v for k, v in tags.items() if k.startswith("data_version.")},
        "params": json.dumps(dict(params), sort_keys=True, default=str),
        **{f"metric.{name}": f"{value:.6g}" for name, value in metrics.items()},
    }
    return {key: value[:MAX_TAG] for key, value in found.items()}


def register(
    run_id: str, name: str, tags: Mapping[str, str], description: str = ""
) -> str:
    """A new version of ``name`` from the run's ``model`` folder; returns its number."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()  # tracking.connect() pointed MLflow at the store
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="The trained model")
    source = f"{client.get_run(run_id).info.artifact_uri}/model"
    version = client.create_model_version(
        name, source, run_id=run_id, tags=dict(tags), description=description
    )
    return str(version.version)


# --- promote ------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    role: str  # "challenger" or "champion"
    version: str
    score: float
    commit: str
    run_id: str


@dataclass(frozen=True)
class Comparison:
    policy: Policy
    challenger: Candidate
    champion: Candidate | None
    data: str  # the held-out data: path and md5
    rows: int

    @property
    def wins(self) -> bool:
        if self.champion is None:
            return not math.isnan(self.challenger.score)
        return self.challenger.score >= self.champion.score + self.policy.margin

    def verdict(self) -> str:
        c, name = self.challenger, self.policy.model_name
        if self.champion is None:
            return f"{name} v{c.version} has no champion to beat: it becomes champion"
        metric, margin = self.policy.metric, self.policy.margin
        need = f"{self.champion.score:.4f} + margin {margin:g}"
        if self.wins:
            return f"{name} v{c.version} wins: {metric} {c.score:.4f} >= {need}"
        return f"{name} v{c.version} loses: {metric} {c.score:.4f} < {need}"

    def table(self) -> str:
        """The comparison in Markdown: printed, and the report for a merge request."""
        metric = self.policy.metric
        lines = [
            f"| model | version | {metric} | commit | run |",
            "|---|---|---|---|---|",
        ]
        for c in (self.challenger, self.champion):
            if c is not None:
                lines.append(
                    f"| {c.role} | {c.version} | {c.score:.4f} | {c.commit[:12]} "
                    f"| {c.run_id[:12]} |"
                )
        if self.champion is None:
            lines.append("| champion | none | | | |")
        return "\n".join(lines)

    def report(self, moved: str) -> str:
        return (
            f"# Model promotion: {self.policy.model_name}\n\n"
            f"Held-out data: {self.data}, {self.rows} rows.\n\n"
            f"{self.table()}\n\n**{self.verdict()}**. {moved}\n"
        )


def score(uri: str, test: Any, policy: Policy) -> float:
    """The model's metric on the test set, fed the columns its signature asks for."""
    import mlflow.pyfunc
    import numpy as np

    from .contract import LABEL
    from .evaluate import score as metrics

    model = mlflow.pyfunc.load_model(uri)
    schema = model.metadata.get_input_schema()
    columns = schema.input_names() if schema is not None else None
    if columns:
        missing = [c for c in columns if c not in test.columns]
        if missing:
            raise UserError(
                f"{uri} needs column(s) {', '.join(map(str, missing))}, "
                f"not in {TEST_FILE}: it cannot be compared on today's data"
            )
        inputs = test[columns]
    else:
        inputs = test.drop(columns=[LABEL])
    predicted = np.asarray(model.predict(inputs), dtype=float)
    probabilities = predicted[:, -1] if predicted.ndim == 2 else predicted
    values = metrics(test[LABEL], probabilities, policy.threshold)
    if policy.metric not in values:
        known = ", ".join(values)
        raise UserError(f"promote.metric {policy.metric!r} is not one of: {known}")
    return values[policy.metric]


def champion_version(
    client: MlflowClient, name: str, alias: str = CHAMPION
) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def latest_version(client: MlflowClient, name: str) -> str:
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException as exc:
        raise UserError(f"cannot read the registry: {exc}") from None
    if not versions:
        raise UserError(f"no version of model {name!r} is registered: run `dvc repro`")
    return str(max(int(v.version) for v in versions))


def candidate(
    client: MlflowClient, role: str, name: str, version: str, test: Any, policy: Policy
) -> Candidate:
    from mlflow.exceptions import MlflowException

    try:
        found = client.get_model_version(name, version)
    except MlflowException:
        raise UserError(f"model {name!r} has no version {version}") from None
    return Candidate(
        role=role,
        version=version,
        score=score(f"models:/{name}/{version}", test, policy),
        commit=str(found.tags.get("git_commit", "")),
        run_id=str(found.run_id or ""),
    )


def history(client: MlflowClient, name: str) -> list[str]:
    tags = client.get_registered_model(name).tags
    try:
        found = json.loads(tags.get(HISTORY_TAG, "[]"))
    except ValueError:
        return []
    return [str(v) for v in found] if isinstance(found, list) else []


def crown(client: MlflowClient, name: str, versions: list[str]) -> None:
    """Point `champion` at the last of ``versions``, `previous-champion` at the one
    before, and remember the list (bounded) on the registered model."""
    versions = versions[-50:]
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(versions))
    client.set_registered_model_alias(name, CHAMPION, versions[-1])
    if len(versions) > 1:
        client.set_registered_model_alias(name, PREVIOUS, versions[-2])
    elif champion_version(client, name, PREVIOUS) is not None:
        client.delete_registered_model_alias(name, PREVIOUS)


def compare(
    client: MlflowClient, policy: Policy, challenger: str, test_file: Path
) -> Comparison:
    import pandas as pd

    from .experiment_log import file_md5

    if not test_file.is_file():
        raise UserError(f"{test_file} not found: run the pipeline first (dvc repro)")
    test = pd.read_csv(test_file)
    name = policy.model_name
    current = champion_version(client, name)
    return Comparison(
        policy=policy,
        challenger=candidate(client, "challenger", name, challenger, test, policy),
        champion=(
            candidate(client, "champion", name, current, test, policy)
            if current is not None and current != challenger
            else None
        ),
        data=f"{test_file.as_posix()} (md5 {file_md5(test_file)})",
        rows=len(test),
    )


def promote_main(argv: list[str], prog: str) -> int:
    """Compare a challenger with the champion on the held-out data; crown the winner."""
    import argparse

    from .params import load_params
    from .tracking import connect, shown

    parser = argparse.ArgumentParser(prog=prog, description=promote_main.__doc__)
    parser.add_argument(
        "--version", help="the challenger's version (default: the latest)"
    )
    parser.add_argument(
        "--check", action="store_true", help="compare only: move no alias"
    )
    parser.add_argument(
        "--report", type=Path, help="also write the comparison as Markdown here"
    )
    parser.add_argument(
        "--test",
        type=Path,
        default=TEST_FILE,
        help="held-out data (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.version is not None and not args.version.isdigit():
        raise UserError(f"--version {args.version!r}: expected a version number")
    policy = Policy.from_params(load_params())
    uri = connect()
    from mlflow import MlflowClient

    client = MlflowClient()
    name = policy.model_name
    current = champion_version(client, name)
    challenger = args.version or latest_version(client, name)
    if challenger == current:
        said = f"{name} v{current} is already the champion: nothing to promote"
        print(said)
        if args.report:
            write(args.report, f"# Model promotion: {name}\n\n{said}.\n")
        return 0
    result = compare(client, policy, challenger, args.test)
    if not result.wins:
        moved = "The champion stays."
    elif args.check:
        moved = "Nothing moved (--check)."
    else:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        crown(client, name, [*history(client, name), result.challenger.version])
        client.set_model_version_tag(
            name, result.challenger.version, "promoted_at", now
        )
        moved = f"`{CHAMPION}` now points to v{result.challenger.version}."
    print(f"{name} in {shown(uri)}, held-out data {result.data}, {result.rows} rows")
    print(result.table())
    print(f"{result.verdict()}. {moved}")
    if args.report:
        write(args.report, result.report(moved))
    return 0 if result.wins else 1


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def rollback_main(argv: list[str], prog: str) -> int:
    """Move `champion` back to the previous champion."""
    import argparse

    from .params import load_params
    from .tracking import connect

    parser = argparse.ArgumentParser(prog=prog, description=rollback_main.__doc__)
    parser.parse_args(argv)
    policy = Policy.from_params(load_params())
    connect()
    from mlflow import MlflowClient

    client = MlflowClient()
    name = policy.model_name
    current = champion_version(client, name)
    if current is None:
        raise UserError(f"model {name!r} has no champion: nothing to roll back")
    versions = history(client, name)
    if not versions or versions[-1] != current:  # aliases moved by hand
        previous = champion_version(client, name, PREVIOUS)
        versions = [v for v in (previous, current) if v is not None]
    if len(versions) < 2:
        raise UserError(
            f"{name} v{current} is the only champion so far: nothing to roll back to"
        )
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    client.set_model_version_tag(name, current, "rolled_back_at", now)
    crown(client, name, versions[:-1])
    print(f"{name}: `{CHAMPION}` back from v{current} to v{versions[-2]}")
    return 0
