"""Issue 18: `<project> repro`, the warm stage runner (generated warm_repro.py).

One generated repository is reproduced from scratch by plain `dvc repro`, a copy by
`demo repro` (twice: the second must be a no-op); the real DVC decides and records
both. Tests that change things copy the warm one. What the runner must never do:
change an output, hide a failure, leave a process behind or fail where plain
`dvc repro` would not.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml
from conftest import ProjectEnv, Ran, ReproducedDemo, processes_in, set_reading

pytestmark = pytest.mark.slow  # installs and reproduces generated projects

STAGES = ("get_data", "eda", "check_data", "split", "train", "evaluate", "log", "predict", "drift")
SOCKET = "DEMO_WARM_SOCKET"
# Outputs that differ from run to run whatever runs them, compared below by content:
# MLmodel has a new model_uuid and creation time, skops names its array members after
# id() of the objects, papermill stamps times into the executed notebook.
VARYING = {"models/model", "reports/eda.ipynb"}


@dataclass(frozen=True)
class Runs:
    cold: Path  # reproduced by plain `dvc repro`
    warm: Path  # reproduced by `demo repro`
    first: Ran
    second: Ran
    lock_after_first: str
    left_after: tuple[list[int], list[int]]  # processes in the repo after each run
    temp: Path  # TMPDIR of the warm runs
    cold_run: Ran  # what plain `dvc repro` printed


def lock_hashes(repo: Path) -> dict[str, str]:
    """Output path -> md5 as dvc.lock records it."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text(encoding="utf-8"))
    return {
        out["path"]: out["md5"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
    }


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


@pytest.fixture(scope="module")
def runs(
    generate: Callable[..., Path],
    project_env: ProjectEnv,
    reproduced_demo: ReproducedDemo,
    tmp_path_factory: pytest.TempPathFactory,
) -> Runs:
    """Plain `dvc repro` from scratch here; the warm runs are the session's first repro
    (conftest's ``reproduced_demo``: `demo repro` from scratch, then plain `dvc repro`
    and `demo repro` again, both with nothing to do), which other modules start from."""
    cold = copy_tree(generate(), tmp_path_factory.mktemp("warm-repro") / "cold" / "demo")
    project_env.install(cold)
    done = project_env.run(["dvc", "repro"], cwd=cold)
    warm = reproduced_demo
    return Runs(
        cold,
        warm.snapshot,
        warm.first,
        warm.warm_again,
        warm.lock_after_first,
        warm.left_after,
        warm.temp,
        Ran(done.returncode, done.stdout, done.stderr),
    )


@pytest.fixture()
def warm_copy(runs: Runs, project_env: ProjectEnv, tmp_path: Path) -> Path:
    repo = copy_tree(runs.warm, tmp_path / "demo")
    project_env.install(repo)
    return repo


def test_warm_repro_runs_every_stage_and_leaves_nothing(runs: Runs) -> None:
    for stage in STAGES:
        assert f"Running stage '{stage}'" in runs.first.stdout, stage
    assert runs.left_after == ([], [])  # the server and its forks are gone
    assert list(runs.temp.iterdir()) == []  # and so is the socket's private folder


def quiet(done: Ran) -> None:
    """Noise silenced at the source: no kernel transport warning, no MLflow INFO lines;
    the run itself still reports."""
    said = done.stdout + done.stderr
    assert "without encryption" not in said, said
    assert not re.search(r"\bINFO mlflow", said), said
    assert "logged MLflow run" in said


def test_plain_repro_from_scratch_reports_the_run_without_noise(runs: Runs) -> None:
    quiet(runs.cold_run)


def test_warm_repro_from_scratch_reports_the_run_without_noise(runs: Runs) -> None:
    quiet(runs.first)


def test_outputs_are_those_of_plain_dvc_repro(runs: Runs) -> None:
    cold, warm = lock_hashes(runs.cold), lock_hashes(runs.warm)
    assert set(cold) == set(warm) and VARYING <= set(cold)
    differing = {path for path in cold if cold[path] != warm[path]}
    assert differing <= VARYING, differing
    # The varying outputs: the same content once the run's own stamps are set aside.
    model = Path("models/model")
    for file in sorted((runs.cold / model).iterdir()):
        other = runs.warm / model / file.name
        if file.name == "MLmodel":
            assert _mlmodel(file) == _mlmodel(other)
        elif file.suffix == ".skops":
            assert _skops(file) == _skops(other)
        else:
            assert file.read_bytes() == other.read_bytes(), file.name
    notebook = Path("reports/eda.ipynb")
    assert _cells(runs.cold / notebook) == _cells(runs.warm / notebook)


def _mlmodel(path: Path) -> dict[str, Any]:
    fields: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in ("model_uuid", "model_id", "utc_time_created", "run_id"):
        fields.pop(key, None)
    return fields


def _skops(path: Path) -> tuple[list[str], str]:
    with zipfile.ZipFile(path) as archive:
        members = sorted(
            hashlib.sha256(archive.read(name)).hexdigest()
            for name in archive.namelist()
            if name != "schema.json"
        )
        schema = re.sub(r"\d{6,}", "ID", archive.read("schema.json").decode())
    return members, schema


def _cells(path: Path) -> list[tuple[str, str, list[dict[str, Any]]]]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [
        (
            cell["cell_type"],
            "".join(cell["source"]),
            [
                {k: v for k, v in out.items() if k != "execution_count"}
                for out in cell.get("outputs", [])
            ],
        )
        for cell in notebook["cells"]
    ]


def test_a_second_warm_repro_is_a_no_op(runs: Runs) -> None:
    assert "Running stage" not in runs.second.stdout
    assert "up to date" in runs.second.stdout
    assert (runs.warm / "dvc.lock").read_text(encoding="utf-8") == runs.lock_after_first


def notebook(*source: str) -> dict[str, object]:
    """A notebook of one code cell."""
    cell: dict[str, object] = {"cell_type": "code", "execution_count": None, "metadata": {}}
    return {
        "cells": [{**cell, "outputs": [], "source": list(source)}],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


WHOAMI = notebook(
    "import os\n",
    "from pathlib import Path\n",
    "# The kernel's parent is the process that ran the stage's command.\n",
    "parent = Path(f'/proc/{os.getppid()}/cmdline').read_bytes()\n",
    "Path('reports/parent.txt').write_bytes(parent.replace(b'\\0', b' '))\n",
    "kernel = Path('/proc/self/cmdline').read_bytes()\n",
    "Path('reports/kernel.txt').write_bytes(kernel.replace(b'\\0', b' '))\n",
)


def test_stages_run_in_the_warm_server_and_plain_repro_stays_cold(
    warm_copy: Path, project_env: ProjectEnv
) -> None:
    repo = warm_copy
    (repo / "notebooks/whoami.ipynb").write_text(json.dumps(WHOAMI), encoding="utf-8")
    demo = project_env.bin / "demo"
    project_env.run(
        [demo, "add-notebook-stage", "notebooks/whoami.ipynb"]
        + ["-o", "reports/parent.txt", "-o", "reports/kernel.txt"],
        cwd=repo,
    )
    project_env.run([demo, "repro", "whoami"], cwd=repo)
    # Forked from the server: the command line is the server's, not the stage's; the
    # kernel is forked from the stage (warm_kernel.py), not started as ipykernel_launcher.
    assert "-m demo.warm_repro" in (repo / "reports/parent.txt").read_text()
    assert "-m demo.warm_repro" in (repo / "reports/kernel.txt").read_text()
    project_env.run(["dvc", "repro", "--force", "whoami"], cwd=repo)
    assert "-m demo.cli run-notebook" in (repo / "reports/parent.txt").read_text()
    assert "-m ipykernel_launcher" in (repo / "reports/kernel.txt").read_text()
    # `demo exp-run` wraps `dvc exp run` the same way.
    project_env.run([demo, "exp-run", "--force", "whoami"], cwd=repo)
    assert "-m demo.warm_repro" in (repo / "reports/parent.txt").read_text()
    assert "-m demo.warm_repro" in (repo / "reports/kernel.txt").read_text()


def test_a_failing_stage_fails_through_the_runner(warm_copy: Path, project_env: ProjectEnv) -> None:
    repo = warm_copy
    set_reading(repo, 5, "temperature", "400.0")
    done = project_env.run(
        [project_env.bin / "demo", "repro", "--single-item", "check_data"], cwd=repo, check=False
    )
    assert done.returncode != 0, done.stdout
    assert (
        "data/raw/sensors.csv: column 'temperature': 400.0 is out of range [0, 150] "
        "(1 row(s), first row 4)" in done.stdout
    )
    assert "ERROR: failed to reproduce 'check_data'" in done.stderr
    assert "exited with 1" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert processes_in(repo) == []


DRIFT = ["drift", "models/reference.json", "data/raw/new_sensors.csv", "reports/drift.json"]


@pytest.mark.parametrize("socket_state", ["missing", "stale"])
def test_the_client_runs_the_command_itself_without_a_server(
    warm_copy: Path, project_env: ProjectEnv, tmp_path: Path, socket_state: str
) -> None:
    path = tmp_path / "sock"
    if socket_state == "stale":  # a socket file whose server is gone: connection refused
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(str(path))
        stale.close()
    expected = project_env.run([project_env.python, "-m", "demo.cli", *DRIFT], cwd=warm_copy)
    done = project_env.run(
        [project_env.python, "-m", "demo.cli", *DRIFT], cwd=warm_copy, **{SOCKET: str(path)}
    )
    assert done.stdout == expected.stdout and "no drift" in done.stdout
    assert done.stderr == expected.stderr


@pytest.fixture()
def server(
    warm_copy: Path, project_env: ProjectEnv, tmp_path: Path
) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """The generated fork server, started as `demo repro` starts it."""
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(4)
        fd = listener.fileno()
        proc = subprocess.Popen(
            [project_env.python, "-m", "demo.warm_repro", str(fd)],
            cwd=warm_copy,
            env=project_env.env(),
            pass_fds=[fd],
            start_new_session=True,
        )
    yield path, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_exit_codes_and_signals_travel_through_the_server(
    server: tuple[Path, subprocess.Popen[bytes]], warm_copy: Path, project_env: ProjectEnv
) -> None:
    path, proc = server
    env = {SOCKET: str(path)}
    # argparse's usage error: exit 2 and the usage line, on the client's own stderr.
    bad = project_env.run(
        [project_env.python, "-m", "demo.cli", "drift"], cwd=warm_copy, check=False, **env
    )
    assert bad.returncode == 2 and "usage: demo drift" in bad.stderr, bad.stderr
    # The command runs in the server's fork, yet output goes to the client's pipes.
    ok = project_env.run([project_env.python, "-m", "demo.cli", *DRIFT], cwd=warm_copy, **env)
    assert "no drift" in ok.stdout
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert processes_in(warm_copy) == []


SLEEPER = notebook(
    "import time\n",
    "from pathlib import Path\n",
    "Path('reports/started').touch()\n",
    "time.sleep(300)\n",
)


def test_ctrl_c_reaches_the_command_in_the_server(
    server: tuple[Path, subprocess.Popen[bytes]], warm_copy: Path, project_env: ProjectEnv
) -> None:
    path, proc = server
    (warm_copy / "notebooks/sleeper.ipynb").write_text(json.dumps(SLEEPER), encoding="utf-8")
    command = ["-m", "demo.cli", "run-notebook", "notebooks/sleeper.ipynb", "reports/sleeper.ipynb"]
    client = subprocess.Popen(
        [project_env.python, *command],
        cwd=warm_copy,
        env=project_env.env(**{SOCKET: str(path)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while not (warm_copy / "reports/started").exists():  # the kernel runs the cell
        assert client.poll() is None and time.monotonic() < deadline, client.communicate()
        time.sleep(0.2)
    client.send_signal(signal.SIGINT)
    _, err = client.communicate(timeout=120)
    # Python's way to end on Ctrl-C: the traceback, then death by SIGINT (as dvc sees it).
    assert client.returncode == -signal.SIGINT, err
    assert b"KeyboardInterrupt" in err
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    deadline = time.monotonic() + 30  # the kernel is shut down, not left running
    while processes_in(warm_copy) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_in(warm_copy) == []
