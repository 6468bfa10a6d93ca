"""Issue 13, case 2: credentials in any URI option never reach a tracked file.

Real ``putup`` runs: the MLflow login goes to the git-ignored ``.env`` (read by the
generated tracking.py), a DVC token to the git-ignored ``.dvc/config.local``; the
tracked files show the URI without the secret, git ignores the secret files and the
usual others, and cookiecutter makes the same repository.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import base_env, putup, run
from test_cookiecutter import assert_same_repository, cookiecutter
from test_cookiecutter import putup as putup_as_ada

SECRET = "Sup3rS3cret"


def tracked_text(repo: Path) -> str:
    files = run(["git", "ls-files", "-z"], cwd=repo).stdout.split("\0")
    return "".join((repo / f).read_text(encoding="utf-8", errors="replace") for f in files if f)


def ignored(repo: Path, *paths: str) -> bool:
    done = run(["git", "check-ignore", "--no-index", *paths], cwd=repo, check=False)
    return done.returncode == 0 and len(done.stdout.split()) == len(paths)


@pytest.mark.parametrize(
    "options, local, expect",
    [
        (
            ("--mlflow-tracking-uri", f"https://admin:{SECRET}@mlflow.example.com"),
            ".env",
            ["MLFLOW_TRACKING_USERNAME=admin", f"MLFLOW_TRACKING_PASSWORD={SECRET}"],
        ),
        (
            ("--mlflow-tracking-uri", f"https://mlflow.example.com/?token={SECRET}"),
            ".env",
            [f"MLFLOW_TRACKING_TOKEN={SECRET}"],
        ),
        (
            ("--mlflow-tracking-uri", f"postgresql://ml:{SECRET}@db.example.com/mlflow"),
            ".env",
            [f"MLFLOW_TRACKING_URI=postgresql://ml:{SECRET}@db.example.com/mlflow"],
        ),
        (
            ("--dvc-remote", f"https://{SECRET}@files.example.com/dvc"),
            ".dvc/config.local",
            [f"url = https://{SECRET}@files.example.com/dvc"],
        ),
        (
            ("--dvc-remote", f"https://files.example.com/dvc?token={SECRET}"),
            ".dvc/config.local",
            [f"url = https://files.example.com/dvc?token={SECRET}"],
        ),
        (
            ("--dvc-remote", f"ssh://alice:{SECRET}@files.example.com/srv/dvc"),
            ".dvc/config.local",
            [f"password = {SECRET}"],
        ),
    ],
)
def test_credentials_go_only_to_ignored_local_files(
    options: tuple[str, ...], local: str, expect: list[str], tmp_path: Path
) -> None:
    repo = tmp_path / "demo"
    putup(repo, *options)
    assert SECRET not in tracked_text(repo)
    text = (repo / local).read_text(encoding="utf-8")
    for line in expect:
        assert line in text
    assert (repo / local).stat().st_mode & 0o077 == 0
    assert run(["git", "status", "--porcelain", "--ignored=no"], cwd=repo).stdout == ""
    assert ignored(repo, local)
    # The tracked files say where the secret goes.
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert "`.env`" in readme and "`.dvc/config.local`" in readme


def test_gitignore_covers_secret_files_and_notebook_stores(tmp_path: Path) -> None:
    repo = tmp_path / "demo"
    putup(repo)
    assert ignored(
        repo, ".env", ".env.local", "notebooks/mlflow.db", "notebooks/mlruns/x", "id_rsa"
    )
    assert not ignored(repo, ".env.example")


def test_generated_tracking_reads_the_env_file(tmp_path: Path) -> None:
    """tracking.py loads .env before MLflow connects; the environment wins; the printed
    URI never shows a password."""
    repo = tmp_path / "demo"
    putup(repo, "--mlflow-tracking-uri", f"https://admin:{SECRET}@mlflow.example.com")
    code = (
        "import os; from demo import tracking; tracking.load_env_file();"
        "print(os.environ['MLFLOW_TRACKING_USERNAME'], os.environ['MLFLOW_TRACKING_PASSWORD'],"
        " tracking.tracking_uri(), tracking.shown('https://u:p@h/x'))"
    )
    env = {**base_env(), "PYTHONPATH": str(repo / "src"), "MLFLOW_TRACKING_USERNAME": "env-wins"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "env-wins",
        SECRET,
        "https://mlflow.example.com",
        "https://u:***@h/x",
    ]


def test_cookiecutter_keeps_mlflow_credentials_out_alike(tmp_path: Path) -> None:
    uri = f"https://admin:{SECRET}@mlflow.example.com:5000"
    putup_as_ada(tmp_path / "putup", "demo", ("--mlflow-tracking-uri", uri))
    cookiecutter(
        tmp_path / "cc",
        {"author": "Ada Lovelace", "email": "ada@example.com", "mlflow_tracking_uri": uri},
    )
    assert_same_repository(tmp_path / "putup" / "demo", tmp_path / "cc" / "demo")
    env_file = (tmp_path / "cc" / "demo" / ".env").read_text(encoding="utf-8")
    assert f"MLFLOW_TRACKING_PASSWORD={SECRET}" in env_file
