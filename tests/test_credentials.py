"""Issue 13, case 2: credentials in any URI option never reach a tracked file.

Real ``putup`` runs: the MLflow login goes to the git-ignored ``.env`` (read by the
generated tracking.py), a DVC token to the git-ignored ``.dvc/config.local``; the
tracked files show the URI without the secret, git ignores the secret files and the
usual others, and cookiecutter makes the same repository.
"""

from __future__ import annotations

import base64
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import BIN, base_env, putup, run
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


def test_gitignore_covers_secret_files_and_notebook_stores(demo: Path) -> None:
    repo = demo  # the session's default repository (git check-ignore only reads it)
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


@pytest.mark.slow  # runs both front-ends
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


class AuthProxy(http.server.BaseHTTPRequestHandler):
    """A tracking server's front door: basic auth for ``admin`` with :data:`SECRET`,
    then everything is passed on to the real MLflow server behind it."""

    upstream = ""
    seen: list[int] = []  # the status of each request

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        wanted = "Basic " + base64.b64encode(f"admin:{SECRET}".encode()).decode()
        if self.headers.get("Authorization") != wanted:
            self.seen.append(401)
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="mlflow"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        request = urllib.request.Request(
            self.upstream + self.path, data=body or None, headers=headers, method=self.command
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                status, data, kind = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as exc:
            status, data, kind = exc.code, exc.read(), exc.headers
        self.seen.append(status)
        self.send_response(status)
        self.send_header("Content-Type", kind.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.slow  # starts an MLflow server and a proxy
def test_a_password_protected_tracking_server_gets_the_login_from_env(
    tmp_path: Path,
) -> None:
    """End to end: the login given in the URI reaches the server only through .env."""
    from test_pipeline import free_port

    port = free_port()
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=tmp_path,
        env={**base_env(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    AuthProxy.upstream = f"http://127.0.0.1:{port}"
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AuthProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        # Generated while the server starts (it takes seconds): the proxy's port is known.
        front = f"127.0.0.1:{proxy.server_address[1]}"
        repo = tmp_path / "demo"
        putup(repo, "--mlflow-tracking-uri", f"http://admin:{SECRET}@{front}")
        assert SECRET not in tracked_text(repo)
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.5)
        (repo / "models" / "m").mkdir(parents=True)
        (repo / "models" / "m" / "weights.txt").write_text("w\n", encoding="utf-8")
        code = (
            "from pathlib import Path; from demo import tracking;"
            "print(tracking.log_to_mlflow({'a': 1}, {'auc': 0.9}, {}, Path('models/m'), None))"
        )
        env = {**base_env(), "PYTHONPATH": str(repo / "src")}

        def log_run() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-c", code],
                cwd=repo,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )

        logged = log_run()
        assert logged.returncode == 0, logged.stderr[-3000:]
        assert 401 not in AuthProxy.seen and AuthProxy.seen
        # Without the ignored .env the same code is turned away: the login came from it.
        (repo / ".env").unlink()
        AuthProxy.seen.clear()
        refused = log_run()
        assert refused.returncode != 0 and AuthProxy.seen and set(AuthProxy.seen) == {401}
    finally:
        proxy.shutdown()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_force_keeps_the_users_own_env_lines(tmp_path: Path) -> None:
    repo = tmp_path / "demo"
    repo.mkdir()
    (repo / ".env").write_text("OTHER=1\nMLFLOW_TRACKING_PASSWORD=old\n", encoding="utf-8")
    putup(repo, "--force", "--mlflow-tracking-uri", f"https://admin:{SECRET}@h.example.com")
    lines = (repo / ".env").read_text(encoding="utf-8").splitlines()
    assert "OTHER=1" in lines and f"MLFLOW_TRACKING_PASSWORD={SECRET}" in lines
    assert "MLFLOW_TRACKING_PASSWORD=old" not in lines


class Recorder(http.server.BaseHTTPRequestHandler):
    """An HTTP DVC remote that has nothing and notes each request's Authorization."""

    seen: list[str] = []

    def _answer(self) -> None:
        self.seen.append(self.headers.get("Authorization") or "")
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.slow  # starts an HTTP server that DVC pushes to
def test_dvc_sends_the_token_from_config_local(tmp_path: Path) -> None:
    """The real DVC, asking an HTTP remote for data, authenticates with the credential
    that only the ignored .dvc/config.local holds."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host = f"127.0.0.1:{server.server_address[1]}"
        repo = tmp_path / "demo"
        putup(repo, "--no-example", "--dvc-remote", f"http://alice:{SECRET}@{host}/dvc")
        assert SECRET not in tracked_text(repo)
        (repo / "data" / "raw" / "x.csv").write_text("a\n1\n", encoding="utf-8")
        env = base_env()
        run([BIN / "dvc", "add", "data/raw/x.csv"], cwd=repo, env=env)
        Recorder.seen.clear()
        run([BIN / "dvc", "status", "--cloud"], cwd=repo, env=env, check=False)
        expected = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
        assert Recorder.seen and set(Recorder.seen) == {expected}
        # Without the local file DVC asks with no credential at all.
        (repo / ".dvc" / "config.local").unlink()
        Recorder.seen.clear()
        run([BIN / "dvc", "status", "--cloud"], cwd=repo, env=env, check=False)
        assert Recorder.seen and set(Recorder.seen) == {""}
    finally:
        server.shutdown()
