"""Issue 3: the generated repository trains, versions and tracks.

One generated repository is reproduced once for the module (``reproduced``); its state
right after that first ``dvc repro`` is kept as a snapshot that tests needing to change
things copy. Services (an MLflow server, an OpenSSH server) are started on 127.0.0.1
by the tests and stopped by them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from conftest import (
    BIN,
    GIT_ID,
    ProjectEnv,
    Ran,
    ReproducedDemo,
    base_env,
    putup,
    run,
    set_reading,
)
from sftp_server import SftpServer, sftp_server

pytestmark = pytest.mark.e2e

STAGES = (
    "get_data",
    "eda",
    "check_data",
    "split",
    "train",
    "evaluate",
    "log",
    "predict",
    "drift",
)
LOG = Path("reports/experiments.csv")
# The CSV columns PRODUCT.md lists (metric columns are checked separately).
LOG_COLUMNS = (
    "date",
    "commit",
    "model",
    "parameters",
    "train_rows",
    "train_data",
    "validation",
    "test_rows",
    "test_data",
    "outputs",
    "description",
)


def rows(repo: Path) -> list[dict[str, str]]:
    with open(repo / LOG, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def outputs(repo: Path) -> dict[str, str]:
    """sha256 of every file under every output recorded in dvc.lock."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    digests: dict[str, str] = {}
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            path = repo / out["path"]
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for file in files:
                digests[str(file.relative_to(repo))] = hashlib.sha256(file.read_bytes()).hexdigest()
    return digests


def lock_md5(repo: Path, path: str) -> str:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            if out["path"] == path:
                return str(out["md5"])
    raise AssertionError(f"{path} is no output in dvc.lock")


def commit_all(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], cwd=repo)
    run(["git", *GIT_ID, "commit", "-q", "--no-verify", "-m", message], cwd=repo)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Reproduced:
    snapshot: Path  # the repository right after the first repro, committed
    first: Ran  # the README's command (the warm runner) from scratch
    second: Ran  # then plain dvc: it must find nothing to do in what the runner recorded
    rows: tuple[int, int, int]  # CSV rows: before, after the first, after the second repro
    head: str


@pytest.fixture(scope="module")
def reproduced(
    reproduced_demo: ReproducedDemo,
    tmp_path_factory: pytest.TempPathFactory,
    mlflow_server: MlflowServer,  # requested only to start it now: it boots meanwhile
) -> Reproduced:
    """The session's first repro (conftest's ``reproduced_demo``: `demo repro` from
    scratch, then plain `dvc repro`, committed), in a copy of this module's own: the
    tests below run dvc in it, and DVC's locks are per repository."""
    snapshot = reproduced_demo.copy_to(tmp_path_factory.mktemp("snapshot") / "demo")
    before, after_first, after_second, _ = reproduced_demo.rows
    return Reproduced(
        snapshot,
        reproduced_demo.first,
        reproduced_demo.plain_again,
        (before, after_first, after_second),
        reproduced_demo.head,
    )


@pytest.fixture()
def trained_copy(reproduced: Reproduced, tmp_path: Path) -> Path:
    """A private copy of the repository as the first repro left it."""
    target = tmp_path / "demo"
    shutil.copytree(reproduced.snapshot, target, symlinks=True)
    return target


# --- 1. dvc repro, again, dvc exp run ----------------------------------------------


def test_repro_runs_every_stage_from_scratch(reproduced: Reproduced) -> None:
    stages = list(yaml.safe_load((reproduced.snapshot / "dvc.yaml").read_text())["stages"])
    assert stages == list(STAGES)
    for stage in STAGES:
        assert f"Running stage '{stage}'" in reproduced.first.stdout, stage
    assert set(outputs(reproduced.snapshot)) >= {
        "data/raw/sensors.csv",
        "data/raw/new_sensors.csv",
        "data/processed/train.csv",
        "data/processed/test.csv",
        "data/processed/predictions.csv",
        "models/model/MLmodel",
        "models/reference.json",
        "reports/drift.json",
        "reports/eda.ipynb",
        "reports/data_quality.json",
        "reports/metrics.json",
        "reports/train_metrics.json",
        "reports/model_quality.md",
        "reports/plots/roc.csv",
        "reports/figures/roc.png",
    }


def test_second_repro_does_nothing(reproduced: Reproduced) -> None:
    assert "Running stage" not in reproduced.second.stdout
    assert "Data and pipelines are up to date" in reproduced.second.stdout


def test_outputs_are_dvc_s_and_the_csv_log_is_git_s(reproduced: Reproduced) -> None:
    tracked = set(run(["git", "ls-files"], cwd=reproduced.snapshot).stdout.split())
    assert not set(outputs(reproduced.snapshot)) & tracked
    assert {"dvc.lock", str(LOG)} <= tracked
    assert run(["git", "status", "--porcelain"], cwd=reproduced.snapshot).stdout == ""


def test_metrics_and_plots_are_declared(reproduced: Reproduced, project_env: ProjectEnv) -> None:
    shown = json.loads(
        project_env.run(["dvc", "metrics", "show", "--json"], cwd=reproduced.snapshot).stdout
    )
    metrics = shown[""]["data"]["reports/metrics.json"]["data"]["test"]
    assert 0.5 < metrics["roc_auc"] <= 1
    plots = project_env.run(["dvc", "plots", "show", "--json"], cwd=reproduced.snapshot).stdout
    assert "reports/plots/roc.csv" in plots and "reports/figures/roc.png" in plots


def test_model_is_an_mlflow_model_that_outputs_failure_probabilities(
    reproduced: Reproduced, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.pyfunc
    import pandas as pd

    # Its first step is the project's own feature code: importable where it is installed.
    monkeypatch.syspath_prepend(str(reproduced.snapshot / "src"))

    model = mlflow.pyfunc.load_model(str(reproduced.snapshot / "models" / "model"))
    columns = model.metadata.get_input_schema().input_names()
    # Raw readings in: the model computes its rolling means itself.
    sensors = ["temperature", "vibration", "pressure", "rotation_speed"]
    assert columns == ["machine_id", "hour", *sensors]
    test = pd.read_csv(reproduced.snapshot / "data" / "processed" / "test.csv")
    predicted = model.predict(test[columns].head(20))
    assert predicted.shape == (20, 2)
    assert ((predicted >= 0) & (predicted <= 1)).all()
    requirements = (reproduced.snapshot / "models/model/requirements.txt").read_text()
    assert re.search(r"^scikit-learn==[\d.]+$", requirements, re.M)


def test_csv_log_gains_one_complete_row_per_training_run(reproduced: Reproduced) -> None:
    before, after_first, after_second = reproduced.rows
    assert (after_first, after_second) == (before + 1, before + 1)
    row = rows(reproduced.snapshot)[-1]
    assert set(LOG_COLUMNS) <= set(row)
    assert {"test_roc_auc", "cv_roc_auc", "test_precision", "test_recall"} <= set(row)
    assert all(value.strip() for value in row.values()), row
    assert row["commit"] == reproduced.head
    assert lock_md5(reproduced.snapshot, "data/processed/train.csv") in row["train_data"]
    assert json.loads(row["parameters"])["n_estimators"] > 0
    achieved = json.loads((reproduced.snapshot / "reports/metrics.json").read_text())
    assert float(row["test_roc_auc"]) == pytest.approx(achieved["test"]["roc_auc"])


# --- issue 15: batch scoring, drift, the data contract ------------------------------


def test_predict_scores_every_new_reading_and_drift_passes(reproduced: Reproduced) -> None:
    repo = reproduced.snapshot
    new = rows_of(repo / "data/raw/new_sensors.csv")
    scored = rows_of(repo / "data/processed/predictions.csv")
    assert "failure" not in new[0]  # new readings come without the label
    assert len(scored) == len(new) > 0
    assert [(r["machine_id"], r["hour"]) for r in scored] == [
        (r["machine_id"], r["hour"]) for r in new
    ]
    assert all(0 <= float(r["failure_probability"]) <= 1 for r in scored)
    assert {r["failure_predicted"] for r in scored} <= {"0", "1"}
    report = json.loads((repo / "reports/drift.json").read_text())
    assert report["drifted"] == [] and set(report["sensors"]) == {
        "temperature",
        "vibration",
        "pressure",
        "rotation_speed",
    }
    reference = json.loads((repo / "models/reference.json").read_text())
    assert reference["rows"] == len(rows_of(repo / "data/processed/train.csv"))


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_predict_takes_a_model_uri_and_scores_like_the_folder(
    trained_copy: Path, project_env: ProjectEnv
) -> None:
    """The model argument is a URI or a path: ``runs:/<id>/model`` (the run the log
    stage made) gives the same predictions as models/model."""
    repo = trained_copy
    project_env.install(repo)
    run_id = re.search(r"mlflow run (\w+)", rows(repo)[-1]["outputs"])
    assert run_id, rows(repo)[-1]["outputs"]
    done = project_env.run(
        [
            project_env.bin / "demo",
            "predict",
            "data/raw/new_sensors.csv",
            "uri.csv",
            "--model",
            f"runs:/{run_id.group(1)}/model",
        ],
        cwd=repo,
    )
    assert f"runs:/{run_id.group(1)}/model" in done.stdout
    assert rows_of(repo / "uri.csv") == rows_of(repo / "data/processed/predictions.csv")


def test_drift_stage_fails_on_shifted_readings(trained_copy: Path, project_env: ProjectEnv) -> None:
    repo = trained_copy
    project_env.install(repo)
    new = repo / "data/raw/new_sensors.csv"
    readings = rows_of(new)
    with open(new, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(readings[0]))
        writer.writeheader()
        for row in readings:  # the temperature sensors now read 20 degrees hotter
            writer.writerow({**row, "temperature": f"{float(row['temperature']) + 20:.3f}"})
    done = project_env.run(["dvc", "repro", "--single-item", "drift"], cwd=repo, check=False)
    assert done.returncode != 0, done.stdout
    errors = [line for line in done.stderr.splitlines() if line.startswith("demo drift: error:")]
    assert len(errors) == 1, done.stderr
    assert "temperature (PSI" in errors[0] and "drift.max_psi" in errors[0]
    assert "vibration" not in errors[0]
    assert "'drift'" in done.stderr  # DVC names the stage that failed
    report = json.loads((repo / "reports/drift.json").read_text())
    assert report["drifted"] == ["temperature"]


def test_an_out_of_range_reading_fails_check_data(
    trained_copy: Path, project_env: ProjectEnv
) -> None:
    repo = trained_copy
    project_env.install(repo)
    set_reading(repo, 5, "temperature", "400.0")
    done = project_env.run(["dvc", "repro", "--single-item", "check_data"], cwd=repo, check=False)
    assert done.returncode != 0, done.stdout
    assert (
        "data/raw/sensors.csv: column 'temperature': 400.0 is out of range [0, 150] "
        "(1 row(s), first row 4)" in done.stdout
    )
    assert "'check_data'" in done.stderr
    report = json.loads((repo / "reports/data_quality.json").read_text())
    assert len(report["problems"]) == 1


# --- 4. MLflow: the SQLite store, then a real tracking server ---------------------


def test_sqlite_store_holds_the_run_with_its_metrics(reproduced: Reproduced) -> None:
    from mlflow.tracking import MlflowClient

    repo = reproduced.snapshot
    assert (repo / "mlflow.db").is_file()
    assert run(["git", "check-ignore", "-q", "mlflow.db"], cwd=repo).returncode == 0
    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("demo")
    assert experiment is not None
    found = client.search_runs([experiment.experiment_id])
    assert len(found) == 1
    data = found[0].data
    achieved = json.loads((repo / "reports/metrics.json").read_text())["test"]
    assert data.metrics["test_roc_auc"] == pytest.approx(achieved["roc_auc"])
    assert data.params["train.n_estimators"] == str(
        yaml.safe_load((repo / "params.yaml").read_text())["train"]["n_estimators"]
    )
    assert data.tags["mlflow.source.git.commit"] == reproduced.head
    assert data.tags["data_version.train"] == lock_md5(repo, "data/processed/train.csv")
    artifacts = [a.path for a in client.list_artifacts(found[0].info.run_id, "model")]
    assert "model/MLmodel" in artifacts


@dataclass(frozen=True)
class ServedExperiment:
    repo: Path
    url: str
    runs: list[dict[str, Any]]
    artifacts: list[str]
    exp_show: list[dict[str, Any]]
    metrics_diff: str
    rows: tuple[int, int]


def _get(url: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, Any] = json.loads(response.read() or b"{}")
    return result


@dataclass
class MlflowServer:
    """A real ``mlflow server`` on 127.0.0.1, started early (it takes seconds to come
    up) and waited for only when a test needs it; stopped by its process group id."""

    folder: Path
    port: int
    proc: subprocess.Popen[bytes]
    ready: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait(self) -> str:
        deadline = time.monotonic() + 180
        while not self.ready:
            if self.proc.poll() is not None:
                pytest.fail(f"mlflow server exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    self.ready = response.status == 200
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not up:\n{self.log()}")
            time.sleep(0.5)
        return self.url

    def log(self) -> str:
        return (self.folder / "server.log").read_text()


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    with open(folder / "server.log", "w") as log:
        proc = subprocess.Popen(
            [
                BIN / "mlflow",
                "server",
                "--backend-store-uri",
                f"sqlite:///{folder / 'server.db'}",
                "--artifacts-destination",
                str(folder / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            cwd=folder,
            # Tracking needs no background job runner (a dozen huey processes).
            env={**base_env(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers share its process group
        )
    try:
        yield MlflowServer(folder, port, proc)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def served_experiment(
    reproduced: Reproduced,
    project_env: ProjectEnv,
    mlflow_server: MlflowServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> ServedExperiment:
    """``demo exp-run -S train.n_estimators=30`` (`dvc exp run`, the warm runner's way)
    with MLFLOW_TRACKING_URI at the server."""
    url = mlflow_server.wait()
    repo = tmp_path_factory.mktemp("served") / "demo"
    shutil.copytree(reproduced.snapshot, repo, symlinks=True)
    project_env.install(repo)
    before = len(rows(repo))
    project_env.run(
        [project_env.bin / "demo", "exp-run", "-S", "train.n_estimators=30"],
        cwd=repo,
        MLFLOW_TRACKING_URI=url,
    )
    after = len(rows(repo))
    api = f"{url}/api/2.0/mlflow"
    experiment = _get(f"{api}/experiments/get-by-name?experiment_name=demo")["experiment"]
    found = _get(f"{api}/runs/search", {"experiment_ids": [experiment["experiment_id"]]})
    runs = found.get("runs", [])
    artifacts: list[str] = []
    if runs:
        listing = _get(f"{api}/artifacts/list?run_id={runs[0]['info']['run_id']}&path=model")
        artifacts = [f["path"] for f in listing.get("files", [])]
    shown = json.loads(project_env.run(["dvc", "exp", "show", "--json"], cwd=repo).stdout)
    diff = project_env.run(["dvc", "metrics", "diff"], cwd=repo).stdout
    return ServedExperiment(repo, url, runs, artifacts, shown, diff, (before, after))


def test_exp_run_with_a_train_param_is_listed_by_exp_show(
    served_experiment: ServedExperiment,
) -> None:
    values = [
        rev["data"]["params"]["params.yaml"]["data"]["train"]["n_estimators"]
        for baseline in served_experiment.exp_show
        for experiment in baseline.get("experiments") or []
        for rev in experiment["revs"]
    ]
    assert values == [30]
    assert "test.roc_auc" in served_experiment.metrics_diff  # compared with HEAD's run


def test_run_is_found_on_the_tracking_server_over_rest(
    served_experiment: ServedExperiment,
) -> None:
    assert len(served_experiment.runs) == 1
    data = served_experiment.runs[0]["data"]
    params = {p["key"]: p["value"] for p in data["params"]}
    metrics = {m["key"]: m["value"] for m in data["metrics"]}
    assert params["train.n_estimators"] == "30"
    achieved = json.loads((served_experiment.repo / "reports/metrics.json").read_text())
    assert metrics["test_roc_auc"] == pytest.approx(achieved["test"]["roc_auc"])
    assert "model/MLmodel" in served_experiment.artifacts


def test_experiment_adds_exactly_one_csv_row(served_experiment: ServedExperiment) -> None:
    before, after = served_experiment.rows
    assert after == before + 1
    row = rows(served_experiment.repo)[-1]
    assert all(value.strip() for value in row.values()), row
    assert row["commit"].endswith("+dirty")  # params.yaml differs from the commit
    assert json.loads(row["parameters"])["n_estimators"] == 30
    assert served_experiment.url not in row["outputs"] and "mlflow run" in row["outputs"]


# --- 2./3. push, delete, pull: the default remote and an SFTP server --------------


def _push_delete_pull(repo: Path, project_env: ProjectEnv) -> None:
    expected = outputs(repo)
    project_env.run(["dvc", "push"], cwd=repo)
    shutil.rmtree(repo / ".dvc" / "cache")
    for rel in expected:
        (repo / rel).unlink()
    shutil.rmtree(repo / "models" / "model")
    project_env.run(["dvc", "pull"], cwd=repo)
    assert outputs(repo) == expected
    status = project_env.run(["dvc", "status"], cwd=repo).stdout
    assert "up to date" in status


def test_push_delete_pull_restores_identical_outputs(
    trained_copy: Path, project_env: ProjectEnv
) -> None:
    remote = trained_copy.parent / "demo-dvc-remote"  # the default: beside the repository
    assert not remote.exists()
    _push_delete_pull(trained_copy, project_env)
    assert any(p.is_file() for p in remote.rglob("*"))


@pytest.fixture()
def sftp(tmp_path: Path) -> Iterator[SftpServer]:
    with sftp_server(tmp_path / "sftp-server") as server:
        yield server


def test_push_pull_through_a_chrooted_sftp_server(
    sftp: SftpServer, reproduced: Reproduced, project_env: ProjectEnv, tmp_path: Path
) -> None:
    secret = urllib.parse.quote(sftp.password, safe="")
    url = f"ssh://{sftp.user}:{secret}@127.0.0.1:{sftp.port}/store/demo"
    repo = tmp_path / "sftp" / "demo"
    repo.parent.mkdir()
    putup(repo, "--dvc-remote", url)
    # The password is in the git-ignored .dvc/config.local and in no other file.
    assert sftp.password in (repo / ".dvc" / "config.local").read_text()
    assert run(["git", "check-ignore", "-q", ".dvc/config.local"], cwd=repo).returncode == 0
    tracked = run(["git", "ls-files"], cwd=repo).stdout.split()
    assert ".dvc/config.local" not in tracked
    for path in repo.rglob("*"):
        if path.is_file() and ".git" not in path.parts and path.name != "config.local":
            text = path.read_text(errors="replace")
            assert sftp.password[:12] not in text and secret not in text, path
    assert (
        f"ssh://{sftp.user}@127.0.0.1:{sftp.port}/store/demo"
        in (repo / ".dvc" / "config").read_text()
    )
    # Bring in the trained state (same template, same params): cache + dvc.lock.
    shutil.copy2(reproduced.snapshot / "dvc.lock", repo / "dvc.lock")
    shutil.copytree(reproduced.snapshot / ".dvc" / "cache", repo / ".dvc" / "cache")
    project_env.run(["dvc", "checkout"], cwd=repo)
    assert outputs(repo) == outputs(reproduced.snapshot)
    _push_delete_pull(repo, project_env)
    assert outputs(repo) == outputs(reproduced.snapshot)
    stored = [p for p in (sftp.chroot / "store" / "demo").rglob("*") if p.is_file()]
    assert len(stored) >= len(yaml.safe_load((repo / "dvc.lock").read_text())["stages"]) - 1


# --- 6. notebook stages -----------------------------------------------------------


def test_notebook_stage_added_by_the_command_runs_under_repro(
    trained_copy: Path, project_env: ProjectEnv
) -> None:
    repo = trained_copy
    project_env.install(repo)
    before = (repo / "dvc.yaml").read_text()
    project_env.run(
        [
            project_env.bin / "demo",
            "add-notebook-stage",
            "notebooks/template.ipynb",
            "-p",
            "data.seed",
            "-p",
            "n_machines=data.n_machines",
            "-p",
            "n_hours=data.n_hours",
        ],
        cwd=repo,
    )
    dvc_yaml = (repo / "dvc.yaml").read_text()
    assert dvc_yaml.startswith(before), "the command changed more than it added"
    stage = yaml.safe_load(dvc_yaml)["stages"]["template"]
    assert stage["deps"] == ["notebooks/template.ipynb"]
    assert sorted(stage["params"]) == ["data.n_hours", "data.n_machines", "data.seed"]
    assert stage["outs"] == ["reports/template.ipynb"]
    done = project_env.run(["dvc", "repro"], cwd=repo)
    assert re.findall(r"Running stage '(\w+)'", done.stdout) == ["template"]
    executed = json.loads((repo / "reports" / "template.ipynb").read_text())
    injected = [
        "".join(c["source"])
        for c in executed["cells"]
        if "injected-parameters" in c["metadata"].get("tags", [])
    ]
    assert injected and "n_hours = 200" in injected[0] and "seed = 42" in injected[0]
    assert any(c.get("outputs") for c in executed["cells"] if c["cell_type"] == "code")
    assert "template" not in project_env.run(["dvc", "status"], cwd=repo).stdout
    # A bad request: one line, non-zero, dvc.yaml untouched.
    bad = project_env.run(
        [project_env.bin / "demo", "add-notebook-stage", "notebooks/template.ipynb", "-p", "x.y"],
        cwd=repo,
        check=False,
    )
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
    assert "'x.y' is not in params.yaml" in bad.stderr
    assert (repo / "dvc.yaml").read_text() == dvc_yaml


# --- 7. the generated repository's own tests ----------------------------------------


def test_generated_pytest_passes_after_repro_and_fails_below_the_threshold(
    trained_copy: Path, project_env: ProjectEnv
) -> None:
    repo = trained_copy
    project_env.install(repo)
    pytest_cmd = [project_env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"]
    done = project_env.run(pytest_cmd, cwd=repo)
    assert re.search(r"\d+ passed", done.stdout) and "skipped" not in done.stdout, done.stdout
    achieved = json.loads((repo / "reports/metrics.json").read_text())["test"]["roc_auc"]
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert params["evaluate"]["min_roc_auc"] < achieved
    raised = round(achieved + 0.01, 4)
    text = (repo / "params.yaml").read_text()
    text = re.sub(r"min_roc_auc: [\d.]+", f"min_roc_auc: {raised}", text)
    (repo / "params.yaml").write_text(text)
    failed = project_env.run([*pytest_cmd, "tests/test_model_quality.py"], cwd=repo, check=False)
    assert failed.returncode == 1, failed.stdout
    assert "model quality below the threshold" in failed.stdout
    assert f"evaluate.min_roc_auc = {raised} in params.yaml" in failed.stdout


# --- 8. a bad --dvc-remote --------------------------------------------------------


@pytest.mark.parametrize(
    "remote",
    ["ssh://", "user@host:/srv/dvc", "s3://key:secret@bucket/path", "gopher://host/x"],
)
def test_bad_dvc_remote_is_one_line_and_writes_nothing(tmp_path: Path, remote: str) -> None:
    done = putup(tmp_path / "demo", "--dvc-remote", remote, check=False)
    assert done.returncode != 0
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "--dvc-remote" in lines[0], lines
    assert list(tmp_path.iterdir()) == []
