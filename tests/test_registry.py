"""Issue 15, item 1 and the tracking part of item 2: the generated repository's model
registry, promotion and rollback, with the default SQLite store and with a real
``mlflow server`` on 127.0.0.1; ``dvc exp run --temp`` runs reach the project's store;
the CSV experiment log merges by union.

One loop per store, run once for the module (``loop``): a deliberately weak model
(one tree stump) is trained and registered first and becomes champion (there is none
to beat); the default model then wins; a stump again loses (exit 1, champion kept);
rollback goes back one promotion, then says there is nothing left; the real
``demo serve --model models:/demo@champion`` answers /version with the champion's
version. The tests read what each step printed and what the registry holds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from conftest import GIT_ID, ProjectEnv, ReproducedDemo, base_env, run
from test_pipeline import MlflowServer, commit_all, mlflow_server
from test_service import start

pytestmark = pytest.mark.e2e

__all__ = ["mlflow_server"]  # a fixture this module uses (imported from test_pipeline)

STUMP = ["-S", "train.n_estimators=1", "-S", "train.max_depth=1"]
DEFAULT = ["-S", "train.n_estimators=50", "-S", "train.max_depth=6"]


@dataclass
class Loop:
    store: str
    repo: Path
    uri: str  # where the test reads the registry
    steps: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)  # after each step
    version_info: dict[str, Any] = field(default_factory=dict)
    runs: int = 0
    sources: dict[str, str] = field(default_factory=dict)  # version -> artifact source
    report: str = ""


def registry_state(uri: str) -> tuple[dict[str, str], dict[str, str], int]:
    """The aliases, each version's source, and how many runs the experiment holds."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    model = client.get_registered_model("demo")
    aliases = {alias: str(version) for alias, version in model.aliases.items()}
    sources = {str(v.version): v.source for v in client.search_model_versions("name = 'demo'")}
    experiment = client.get_experiment_by_name("demo")
    runs = len(client.search_runs([experiment.experiment_id])) if experiment else 0
    return aliases, sources, runs


@pytest.fixture(scope="module", params=["sqlite", "server"])
def loop(
    request: pytest.FixtureRequest,
    reproduced_demo: ReproducedDemo,
    project_env: ProjectEnv,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Loop]:
    store = str(request.param)
    # The loop starts where a team's does: the pipeline ran once (the session's first
    # repro, its data and outputs in DVC's cache), so each training below retrains from
    # `train` on. Not carried over: that run's MLflow store (each store here starts
    # empty: the stump is v1) and DVC's run-cache (every training below really trains).
    repo = reproduced_demo.copy_to(tmp_path_factory.mktemp(f"registry-{store}") / "demo")
    for ours in (repo / "mlflow.db", repo / "mlruns", repo / ".dvc" / "cache" / "runs"):
        if ours.is_dir():
            shutil.rmtree(ours)
        elif ours.exists():
            ours.unlink()
    project_env.install(repo)
    extra: dict[str, str] = {}
    if store == "server":
        server: MlflowServer = request.getfixturevalue("mlflow_server")
        extra["MLFLOW_TRACKING_URI"] = uri = server.wait()
    else:
        uri = f"sqlite:///{repo / 'mlflow.db'}"
    found = Loop(store, repo, uri)

    def step(name: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = project_env.run(list(cmd), cwd=repo, check=check, timeout=900, **extra)
        found.steps[name] = done
        if (repo / "mlflow.db").exists() or store == "server":
            try:
                found.aliases[name] = registry_state(uri)[0]
            except Exception:  # no registered model yet
                found.aliases[name] = {}
        return done

    step("promote-empty", "demo", "promote", check=False)
    # The first two trainings by the warm runner (`demo exp-run`, the README's cheap
    # route to `dvc exp run`), the third by plain `dvc exp run`: both must reach the store.
    step("stump", "demo", "exp-run", *STUMP)
    step("promote-first", "demo", "promote")
    step("default", "demo", "exp-run", *DEFAULT)
    step("check", "demo", "promote", "--check", "--report", "reports/promotion.md")
    found.report = (repo / "reports/promotion.md").read_text(encoding="utf-8")
    step("promote-wins", "demo", "promote")
    commit_all(repo, "Champion trained")
    # The weak challenger again; with SQLite in a temporary copy (`--temp`), whose
    # own folder DVC deletes afterwards: the run must land in the root's store.
    temp = ["--temp"] if store == "sqlite" else []
    step("weak", "dvc", "exp", "run", *temp, *STUMP)
    step("promote-loses", "demo", "promote", check=False)
    step("rollback", "demo", "rollback")
    step("rollback-again", "demo", "rollback", check=False)
    _, found.sources, found.runs = registry_state(uri)
    if store == "server":  # serve reads the URI from the git-ignored .env
        (repo / ".env").write_text(f"MLFLOW_TRACKING_URI={uri}\n", encoding="utf-8")
    log = tmp_path_factory.mktemp(f"serve-{store}") / "serve.log"
    service = start(repo, project_env, log, "--model", "models:/demo@champion")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{service.port}/version") as answer:
            found.version_info = json.loads(answer.read())
    finally:
        assert service.stop() == 0, service.logged()[-3000:]
    yield found


def said(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def test_promote_before_any_training_is_one_line_and_exit_1(loop: Loop) -> None:
    done = loop.steps["promote-empty"]
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "demo promote: error: no version of model 'demo' is registered: run `dvc repro`"
    ]


def test_training_registers_a_version_with_its_lineage(loop: Loop) -> None:
    from mlflow import MlflowClient

    assert "registered demo v1" in said(loop.steps["stump"])
    client = MlflowClient(tracking_uri=loop.uri, registry_uri=loop.uri)
    version = client.get_model_version("demo", "1")
    assert len(version.tags["git_commit"].split("+")[0]) == 40
    train_md5 = version.tags["data_version.train"]
    assert len(train_md5) == 32
    assert json.loads(version.tags["params"])["train.n_estimators"] == 1
    assert float(version.tags["metric.test_roc_auc"]) > 0.5
    assert version.run_id


def test_the_first_version_becomes_champion_without_a_contest(loop: Loop) -> None:
    done = loop.steps["promote-first"]
    assert "has no champion to beat: it becomes champion" in done.stdout
    assert loop.aliases["promote-first"] == {"champion": "1"}


def test_check_compares_and_moves_nothing(loop: Loop) -> None:
    done = loop.steps["check"]
    assert "| challenger | 2 |" in done.stdout and "| champion | 1 |" in done.stdout
    assert "demo v2 wins" in done.stdout and "Nothing moved (--check)" in done.stdout
    assert loop.aliases["check"] == {"champion": "1"}
    # The Markdown report for a merge request: the table and the verdict.
    assert loop.report.startswith("# Model promotion: demo")
    assert "| challenger | 2 |" in loop.report and "**demo v2 wins" in loop.report


def test_a_better_challenger_wins_and_the_old_champion_is_kept(loop: Loop) -> None:
    done = loop.steps["promote-wins"]
    assert "`champion` now points to v2" in done.stdout
    assert loop.aliases["promote-wins"] == {"champion": "2", "previous-champion": "1"}


def test_a_worse_challenger_is_refused_with_the_comparison(loop: Loop) -> None:
    done = loop.steps["promote-loses"]
    assert done.returncode == 1, said(done)
    rows = [line for line in done.stdout.splitlines() if line.startswith("| c")]
    scores = {line.split("|")[1].strip(): float(line.split("|")[3]) for line in rows}
    assert scores["challenger"] < scores["champion"], done.stdout
    assert "demo v3 loses" in done.stdout and "The champion stays" in done.stdout
    assert loop.aliases["promote-loses"] == {"champion": "2", "previous-champion": "1"}


def test_rollback_goes_back_one_promotion_then_says_nothing_is_left(loop: Loop) -> None:
    assert "back from v2 to v1" in loop.steps["rollback"].stdout
    assert loop.aliases["rollback"] == {"champion": "1"}
    again = loop.steps["rollback-again"]
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        "demo rollback: error: demo v1 is the only champion so far: nothing to roll back to"
    ]
    assert loop.aliases["rollback-again"] == {"champion": "1"}


def test_the_server_loads_the_champion_and_names_its_version(loop: Loop) -> None:
    model = loop.version_info["model"]
    assert (model["name"], model["version"], model["alias"]) == ("demo", "1", "champion")
    assert model["source"] == "models:/demo@champion"
    assert len(model["lineage"]["git_commit"].split("+")[0]) == 40


def test_every_run_reaches_the_project_s_store(loop: Loop) -> None:
    """Three training runs, three MLflow runs, three versions whose artifacts live
    beside the store (with SQLite: in the root's mlruns/, also for the --temp run)."""
    assert loop.runs == 3
    assert sorted(loop.sources) == ["1", "2", "3"]
    if loop.store == "sqlite":
        for source in loop.sources.values():
            assert source.startswith((loop.repo / "mlruns").as_uri()), source
        assert "registered demo v3" in said(loop.steps["weak"])
        assert not list((loop.repo / ".dvc").rglob("mlflow.db"))
    else:
        assert not (loop.repo / "mlflow.db").exists()


def test_help_lists_promote_and_rollback(loop: Loop, project_env: ProjectEnv) -> None:
    shown = project_env.run(["demo", "--help"], cwd=loop.repo).stdout
    assert "promote" in shown and "rollback" in shown
    options = project_env.run(["demo", "promote", "--help"], cwd=loop.repo).stdout
    for option in ("--check", "--report", "--version"):
        assert option in options


# --- the CSV log merges by union ---------------------------------------------------


def append(repo: Path, date: str, **extra: str) -> None:
    code = (
        "import sys; from demo import experiment_log as e;"
        "e.append_row({'date': sys.argv[1], 'commit': 'c', **dict(a.split('=') for a in"
        " sys.argv[2:])})"
    )
    cmd = [sys.executable, "-c", code, date, *(f"{k}={v}" for k, v in extra.items())]
    env = {**base_env(), "PYTHONPATH": str(repo / "src")}
    run(cmd, cwd=repo, env=env)


def merge_two_branches(repo: Path, ours: dict[str, str], theirs: dict[str, str]) -> str:
    git = ["git", *GIT_ID]
    run([*git, "checkout", "-q", "-b", "theirs"], cwd=repo)
    append(repo, "theirs-date", **theirs)
    run([*git, "commit", "-q", "--no-verify", "-am", "their run"], cwd=repo)
    run([*git, "checkout", "-q", "-"], cwd=repo)
    append(repo, "our-date", **ours)
    run([*git, "commit", "-q", "--no-verify", "-am", "our run"], cwd=repo)
    done = run([*git, "merge", "--no-edit", "theirs"], cwd=repo, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return (repo / "reports/experiments.csv").read_text(encoding="utf-8")


def read_log(repo: Path) -> list[dict[str, str]]:
    code = "import json; from demo import experiment_log as e;" "print(json.dumps(e.read_rows()))"
    env = {**base_env(), "PYTHONPATH": str(repo / "src")}
    rows: list[dict[str, str]] = json.loads(
        run([sys.executable, "-c", code], cwd=repo, env=env).stdout
    )
    return rows


def test_two_branches_rows_merge_by_union_under_one_header(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    attributes = run(["git", "check-attr", "merge", "reports/experiments.csv"], cwd=repo)
    assert attributes.stdout.strip().endswith("merge: union")
    text = merge_two_branches(repo, {"test_roc_auc": "0.8"}, {"test_roc_auc": "0.7"})
    lines = text.splitlines()
    assert lines[0].startswith("date,commit,") and len(lines) == 3, text
    assert sum(line.startswith("date,commit,") for line in lines) == 1
    assert {(r["date"], r["test_roc_auc"]) for r in read_log(repo)} == {
        ("our-date", "0.8"),
        ("theirs-date", "0.7"),
    }


def test_two_branches_new_columns_merge_and_read_back(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    """Each branch added a different metric column (so rewrote the header): the union
    holds two header lines; every row reads back under its own, and the next run
    leaves one header."""
    repo = copy_repo(generate())
    merge_two_branches(repo, {"test_ours": "1"}, {"test_theirs": "2"})
    rows = {r["date"]: r for r in read_log(repo)}
    assert rows["our-date"]["test_ours"] == "1" and rows["our-date"]["test_theirs"] == ""
    assert rows["theirs-date"]["test_theirs"] == "2"
    append(repo, "next-date")
    text = (repo / "reports/experiments.csv").read_text(encoding="utf-8")
    assert sum(line.startswith("date,commit,") for line in text.splitlines()) == 1
    assert [r["date"] for r in read_log(repo)][-1] == "next-date"
    assert len(read_log(repo)) == 3
