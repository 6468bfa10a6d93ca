"""Issue 4: CI/CD in the generated repository (GitLab CI, GitHub Actions, Dockerfile).

Every check runs the real tool on a real generated tree: check-jsonschema, gitlab-ci-local
(which also runs the train job in its shell executor; the lint, validate and test jobs
run in tests/test_first_push.py), actionlint, hadolint. No Docker engine exists here, so
the image is checked without one: the .dockerignore rules are applied by a matcher with
Docker's semantics, and after the train job ran `dvc repro`, the serving test replays the
Dockerfile's COPY lines, installs the package from exactly the copied files, and runs the
image's CMD against the copied model.
"""

from __future__ import annotations

import configparser
import csv
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path
from typing import Callable

import pytest
import yaml
from conftest import BIN, ProjectEnv, base_env, run
from suite_tools import need_tool, runner_home

from pyscaffoldext.dsproject_ops import lockfile

CI_OPTIONS = ("gitlab", "github", "both", "none")
STAGES = ["lint", "test", "train", "package", "deploy"]
JOBS = {
    "lint": "lint",
    "validate": "lint",
    "test": "test",
    "train": "train",
    "package": "package",
    "deploy-staging": "deploy",
    "deploy-production": "deploy",
}
WORKFLOWS = {"ci.yml", "train-deliver.yml", "template-upgrade.yml"}


def gitlab_ci_local() -> Path:
    """gitlab-ci-local 4.73.0: on PATH (the session installs it, tests/suite_tools.py)."""
    return need_tool("gitlab-ci-local")


def gcl(
    repo: Path,
    *args: str,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run gitlab-ci-local in ``repo`` (a copy: it writes .gitlab-ci-local/ there)."""
    # Rules are evaluated for a push to the default branch (the checked-out one, as
    # there is no remote) unless the arguments say otherwise.
    branch = run(["git", "branch", "--show-current"], cwd=repo).stdout.strip()
    config = (repo / ".gitlab-ci.yml").read_bytes()
    digest = hashlib.sha256(config).hexdigest()
    # gitlab-ci-local checks the file against GitLab's schema first (~60 % of a listing's
    # CPU): once per content is enough; a file with includes is always checked.
    known = digest in _SCHEMA_CHECKED and b"include" not in config
    # The jobs' bash reads $HOME/.bashrc (see runner_home): theirs has none.
    env = dict(env or base_env(), HOME=str(runner_home()))
    done = run(
        [
            gitlab_ci_local(),
            "--ignore-predefined-vars",
            "CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_DEFAULT_BRANCH",
            "--variable",
            f"CI_DEFAULT_BRANCH={branch}",
            *(["--json-schema-validation=false"] if known else []),
            *args,
        ],
        cwd=repo,
        env=env,
        check=check,
        timeout=timeout,
    )
    if done.returncode == 0:
        _SCHEMA_CHECKED.add(digest)
    return done


# The .gitlab-ci.yml contents (sha256) gitlab-ci-local checked and found valid.
_SCHEMA_CHECKED: set[str] = set()


def listed_jobs(repo: Path, *variables: str) -> dict[str, dict[str, object]]:
    """The jobs a pipeline with these variables would have (``when: never`` left out)."""
    args = [a for v in variables for a in ("--variable", v)]
    jobs = json.loads(gcl(repo, "--list-json", *args).stdout)
    return {job["name"]: job for job in jobs if job["when"] != "never"}


def ci_files(repo: Path) -> set[str]:
    found = {str(p.relative_to(repo)) for p in repo.glob(".github/**/*") if p.is_file()}
    if (repo / ".gitlab-ci.yml").exists():
        found.add(".gitlab-ci.yml")
    return found


# --- the image, checked without a Docker engine ------------------------------------


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction: comments dropped, continuations joined."""
    steps: list[tuple[str, str]] = []
    pending = ""
    for line in dockerfile.splitlines():
        if line.lstrip().startswith("#") or not (pending or line.strip()):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, args = (pending + line).strip().partition(" ")
        steps.append((keyword.upper(), " ".join(args.split())))
        pending = ""
    return steps


class DockerIgnore:
    """.dockerignore with Docker's rules (moby/patternmatcher): patterns are paths
    relative to the context, ``*``/``?``/``[...]`` stay within one path segment,
    ``**`` spans segments, a pattern that matches a folder matches everything in it,
    ``!`` re-includes, and the last matching line wins."""

    def __init__(self, lines: list[str]) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            keep = line.startswith("!")
            pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
            self.rules.append((keep, re.compile(self._regex(pattern))))

    @classmethod
    def read(cls, path: Path) -> DockerIgnore:
        return cls(path.read_text(encoding="utf-8").splitlines())

    @staticmethod
    def _regex(pattern: str) -> str:
        out, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                out, i = out + ".*", i + 2
            elif pattern[i] == "*":
                out, i = out + "[^/]*", i + 1
            elif pattern[i] == "?":
                out, i = out + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i + 1)
                body = pattern[i + 1 : end]
                out += "[" + ("^" + body[1:] if body[:1] in "!^" and body else body) + "]"
                i = end + 1
            else:
                out, i = out + re.escape(pattern[i]), i + 1
        return out

    def ignores(self, path: str) -> bool:
        parts = path.split("/")
        candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        ignored = False
        for keep, rule in self.rules:
            if any(rule.fullmatch(c) for c in candidates):
                ignored = not keep
        return ignored


def copy_sources(steps: list[tuple[str, str]]) -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY from the build context (not --from)."""
    copies = []
    for keyword, args in steps:
        words = args.split()
        if keyword == "COPY" and not any(w.startswith("--from") for w in words):
            paths = [w for w in words if not w.startswith("--")]
            copies.append((paths[:-1], paths[-1]))
    return copies


def context_files(repo: Path, source: str, ignore: DockerIgnore) -> tuple[list[str], list[str]]:
    """The files under ``source`` the build context holds, and those .dockerignore drops."""
    root = repo / source.rstrip("/")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    rels = [p.relative_to(repo).as_posix() for p in files]
    return ([r for r in rels if not ignore.ignores(r)], [r for r in rels if ignore.ignores(r)])


@pytest.mark.slow  # gitlab-ci-local, actionlint and check-jsonschema per option
@pytest.mark.parametrize("ci", CI_OPTIONS)
def test_the_ci_option_decides_which_files_exist_and_they_pass_their_schemas(
    generate: Callable[..., Path], ci: str
) -> None:
    repo = generate("--ci", ci)
    gitlab = {".gitlab-ci.yml"} if ci in ("gitlab", "both") else set()
    github = (
        {".github/dependabot.yml"} | {f".github/workflows/{w}" for w in WORKFLOWS}
        if ci in ("github", "both")
        else set()
    )
    assert ci_files(repo) == gitlab | github
    # The image does not depend on the CI system.
    assert (repo / "Dockerfile").is_file() and (repo / ".dockerignore").is_file()
    schemas = {".gitlab-ci.yml": "vendor.gitlab-ci", ".github/dependabot.yml": "vendor.dependabot"}
    for path in sorted(gitlab | github):
        schema = schemas.get(path, "vendor.github-workflows")
        done = run([BIN / "check-jsonschema", "--builtin-schema", schema, path], cwd=repo)
        assert "ok -- validation done" in done.stdout


@pytest.mark.slow  # gitlab-ci-local per case
@pytest.mark.parametrize(
    "options",
    [
        ("--ci", "gitlab"),
        ("--ci", "both", "--python-version", "3.13", "--dvc-remote", "s3://bucket/dvc"),
    ],
    ids=["gitlab", "both-s3"],
)
def test_gitlab_ci_local_lists_the_jobs_and_stages_and_expands_the_pipeline(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], options: tuple[str, ...]
) -> None:
    repo = copy_repo(generate(*options))
    listed = listed_jobs(repo)
    assert {name: job["stage"] for name, job in listed.items()} == JOBS
    preview = yaml.safe_load(gcl(repo, "--preview").stdout)
    assert [s for s in preview["stages"] if not s.startswith(".")] == STAGES
    assert {name for name in preview if name in JOBS} == set(JOBS)
    python = "3.13" if "3.13" in options else "3.11"
    assert re.fullmatch(rf"python:{re.escape(python)}\.\d+-\w+", preview["lint"]["image"]["name"])
    # `extends` resolved: the package job builds and pushes the commit's image.
    package = preview["package"]
    assert package["image"]["name"].startswith("docker:") and package["needs"][0]["job"] == "train"
    assert any(
        'docker push "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA"' in line
        for line in package["script"]
    )
    assert preview["deploy-production"]["needs"][0]["job"] == "deploy-staging"
    assert preview["deploy-production"]["environment"]["name"] == "production"
    # Remote credentials: masked variables -> .dvc/config.local, only where needed.
    writes = [line for line in preview["train"]["script"] if "dvc remote modify --local" in line]
    if "s3://bucket/dvc" in options:
        assert [re.findall(r"default (\w+) \"\$(\w+)\"", w)[0] for w in writes] == [
            ("access_key_id", "DVC_REMOTE_ACCESS_KEY_ID"),
            ("secret_access_key", "DVC_REMOTE_SECRET_ACCESS_KEY"),
        ]
    else:
        assert writes == []  # a folder remote has no credentials


@pytest.mark.slow  # gitlab-ci-local per pipeline source
def test_gitlab_rules_train_on_schedules_and_deliver_only_from_the_default_branch(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate("--ci", "gitlab"))

    def when(*variables: str) -> dict[str, object]:
        return {name: job["when"] for name, job in listed_jobs(repo, *variables).items()}

    # A push to the default branch: training and both deployments wait for a person.
    assert when() == {
        "lint": "on_success",
        "validate": "on_success",
        "test": "on_success",
        "train": "manual",
        "package": "on_success",
        "deploy-staging": "manual",
        "deploy-production": "manual",
    }
    scheduled = when("CI_PIPELINE_SOURCE=schedule")
    assert scheduled["train"] == "on_success" and scheduled["deploy-production"] == "manual"
    # A feature branch is checked, never trained or deployed.
    assert when("CI_COMMIT_BRANCH=feature") == {
        "lint": "on_success",
        "validate": "on_success",
        "test": "on_success",
    }


def test_no_secret_is_written_into_the_ci_files(generate: Callable[..., Path]) -> None:
    repo = generate("--dvc-remote", "ssh://ci-user:s3cr3t-pw@dvc.example.com/srv/dvc")
    for path in sorted(ci_files(repo)):
        text = (repo / path).read_text(encoding="utf-8")
        assert "s3cr3t-pw" not in text, path
    gitlab = (repo / ".gitlab-ci.yml").read_text(encoding="utf-8")
    assert 'dvc remote modify --local default password "$DVC_REMOTE_PASSWORD"' in gitlab
    workflow = (repo / ".github/workflows/train-deliver.yml").read_text(encoding="utf-8")
    assert "DVC_REMOTE_PASSWORD: ${{ secrets.DVC_REMOTE_PASSWORD }}" in workflow
    # the SSH plugin comes from the hashed lock both CI files install
    assert "pip install --require-hashes -r requirements/lock.txt" in workflow
    assert "pip install --require-hashes -r requirements/lock.txt" in gitlab
    assert "\ndvc-ssh==" in (repo / "requirements/lock.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "options",
    [
        ("--ci", "github"),
        ("--ci", "both", "--python-version", "3.12", "--dvc-remote", "ssh://me@host/srv/dvc"),
        ("--ci", "github", "--no-example", "--dvc-remote", "s3://bucket/dvc"),
    ],
    ids=["github", "both-ssh", "github-s3"],
)
def test_actionlint_reports_nothing(
    generate: Callable[..., Path], options: tuple[str, ...]
) -> None:
    repo = generate(*options)
    # actionlint checks the `run:` scripts only when ShellCheck is there.
    need_tool("shellcheck")
    done = run([BIN / "actionlint", "-no-color"], cwd=repo, check=False)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    workflows = {
        p.name: yaml.safe_load(p.read_text()) for p in repo.glob(".github/workflows/*.yml")
    }
    assert set(workflows) == WORKFLOWS
    for name, workflow in workflows.items():
        assert workflow["permissions"] == {"contents": "read"}, name
        for job_name, job in workflow["jobs"].items():
            assert job["timeout-minutes"] <= 60, (name, job_name)
    jobs = workflows["train-deliver.yml"]["jobs"]
    assert jobs["staging"]["environment"] == "staging"
    assert jobs["production"]["environment"] == "production"
    assert set(jobs["production"]["needs"]) == {"package", "staging"}
    assert set(workflows["train-deliver.yml"][True]) == {"schedule", "workflow_dispatch"}


@pytest.mark.parametrize(
    "options",
    [(), ("--python-version", "3.13", "--no-example")],
    ids=["defaults", "3.13-no-example"],
)
def test_dockerfile_passes_hadolint_and_follows_the_template_pins(
    generate: Callable[..., Path], options: tuple[str, ...]
) -> None:
    repo = generate(*options)
    done = run([BIN / "hadolint", "--no-color", "Dockerfile"], cwd=repo, check=False)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    steps = instructions((repo / "Dockerfile").read_text(encoding="utf-8"))
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(repo / "setup.cfg", encoding="utf-8")
    python = cfg["mypy"]["python_version"]
    bases = [args.split()[0] for keyword, args in steps if keyword == "FROM"]
    assert len(bases) == 2 and len(set(bases)) == 1
    assert re.fullmatch(rf"python:{re.escape(python)}\.\d+-slim-[a-z]+", bases[0])
    # The image installs only what serving needs (its hashed lock), at the pins
    # setup.cfg declares (tests/test_lock.py parses the install lines themselves).
    installs = [args for keyword, args in steps if keyword == "RUN" and "pip install" in args]
    assert "--require-hashes -r requirements/serve.lock.txt" in installs[0]
    locked = lockfile.versions(
        lockfile.parse((repo / "requirements/serve.lock.txt").read_text(encoding="utf-8"))
    )
    for pin in cfg["options"]["install_requires"].split():
        name, version = pin.split("==")
        assert locked.get(name, {version}) == {version}, pin
    names = set(locked)
    assert {"mlflow", "scikit-learn", "fastapi", "uvicorn", "prometheus-client"} <= names
    assert not names & {"dvc", "papermill", "ipykernel"}
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users and re.fullmatch(r"\d+(:\d+)?", users[-1]) and not users[-1].startswith("0")
    final = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM") :]
    keywords = [k for k, _ in final]
    assert {"EXPOSE", "HEALTHCHECK", "CMD", "USER"} <= set(keywords)
    cmd = json.loads(dict(final)["CMD"])  # exec form: a JSON array
    script = cfg["options.entry_points"]["console_scripts"].split("=")[0].strip()
    assert cmd[:2] == [script, "serve"]
    assert "/ready" in dict(final)["HEALTHCHECK"]
    labels = " ".join(args for keyword, args in final if keyword == "LABEL")
    for label in ("source", "revision", "version"):
        assert f"org.opencontainers.image.{label}=" in labels


def test_dockerignore_keeps_data_caches_stores_notebooks_and_git_out(
    generate: Callable[..., Path],
) -> None:
    repo = generate()
    ignore = DockerIgnore.read(repo / ".dockerignore")
    for path in (
        "data/raw/sensors.csv",
        ".dvc/cache/files/md5/ab/cdef",
        ".dvc/config.local",
        "mlflow.db",
        "mlruns/0/meta.yaml",
        "mlartifacts/1/model.pkl",
        "notebooks/template.ipynb",
        ".git/HEAD",
        "models/old/model.pkl",
        "src/demo/__pycache__/cli.cpython-311.pyc",
        ".gitlab-ci-local/x",
    ):
        assert ignore.ignores(path), path
    for path in (
        "models/model/MLmodel",
        "models/model/model.pkl",
        "src/demo/serve.py",
        "setup.cfg",
        "README.md",
        "Dockerfile",
    ):
        assert not ignore.ignores(path), path


# --- the model server: the image's command and the host command ----------------------

# What a COPY may lose to .dockerignore: build leftovers and folder placeholders.
# What .dockerignore may drop from a COPY: build junk, placeholders, and the drift
# stage's reference statistics (a batch input beside the model, not served).
JUNK = re.compile(
    r"(^|/)(__pycache__|[^/]+\.egg-info)(/|$)|\.py[cod]$|(^|/)\.gitkeep$"
    r"|^models/reference\.json$"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(url: str, body: bytes | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def check_server(
    cmd: list[str],
    cwd: Path,
    env: dict[str, str],
    port: int,
    rows: list[dict[str, object]],
    log: Path,
) -> None:
    """Start the serving command, check its answers, stop it by its PID."""
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        server = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        # Wait until it answers (loading MLflow takes seconds) or dies.
        for _ in range(1500):
            if server.poll() is not None:
                pytest.fail(f"{cmd} exited {server.returncode}:\n{log.read_text()}")
            try:
                status, health = http(f"{url}/health")
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail(f"{cmd} never answered /health:\n{log.read_text()}")
        assert status == 200 and health["status"] == "ok"
        status, ready = http(f"{url}/ready")
        assert status == 200
        columns = list(ready["columns"])  # type: ignore[call-overload]
        records = [{c: row[c] for c in columns} for row in rows]
        status, answer = http(f"{url}/predict", json.dumps({"records": records}).encode())
        assert status == 200, answer
        probabilities = answer["failure_probability"]
        assert isinstance(probabilities, list) and len(probabilities) == len(records)
        assert all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in probabilities)
        # Malformed requests: a 4xx and a message that says what is wrong.
        status, answer = http(f"{url}/predict", b'{"records": [{"x": 1')
        assert status == 400 and "not valid JSON" in str(answer["error"])
        del records[0][columns[0]]
        status, answer = http(f"{url}/predict", json.dumps({"records": records}).encode())
        assert status == 422
        assert answer["error"] == f"record 0: missing column(s): {columns[0]}"
    finally:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode == 0, log.read_text()  # SIGTERM is a clean shutdown


def replay_copies(
    repo: Path, steps: list[tuple[str, str]], ignore: DockerIgnore, image: Path
) -> list[Path]:
    """Apply each stage's COPY lines from the build context to ``image/stage<n>``,
    as the engine would (.dockerignore applied); return the stage roots."""
    roots: list[Path] = []
    workdir = "/"
    for keyword, args in steps:
        if keyword == "FROM":
            roots.append(image / f"stage{len(roots)}")
            roots[-1].mkdir(parents=True)
            workdir = "/"
        elif keyword == "WORKDIR":
            workdir = os.path.join(workdir, args)
        elif keyword == "COPY" and "--from" not in args:
            [(sources, dest)] = copy_sources([(keyword, args)])
            target = roots[-1] / os.path.join(workdir, dest).lstrip("/")
            for source in sources:
                kept, dropped = context_files(repo, source, ignore)
                assert (repo / source).exists(), f"COPY {source}: not in the repository"
                assert kept, f"COPY {source}: .dockerignore excludes all of it"
                assert all(JUNK.search(d) for d in dropped), f"COPY {source} loses {dropped}"
                base = source.rstrip("/")
                for rel in kept:
                    inside = rel[len(base) :].lstrip("/") or Path(rel).name
                    (target / inside).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(repo / rel, target / inside)
    return roots


def recording_remote(folder: Path) -> tuple[Path, Path]:
    """A bare git remote that, like GitLab, accepts push options; its pre-receive
    hook writes each push's options (``GIT_PUSH_OPTION_<i>``), one a line, to the
    returned file: what GitLab would read to open the merge request."""
    remote, seen = folder / "origin.git", folder / "push-options.txt"
    run(["git", "init", "-q", "--bare", remote], cwd=folder)
    run(["git", "config", "receive.advertisePushOptions", "true"], cwd=remote)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\ni=0\nwhile [ $i -lt ${GIT_PUSH_OPTION_COUNT:-0} ]; do\n"
        f'  eval "echo \\"\\$GIT_PUSH_OPTION_$i\\"" >> {seen}\n  i=$((i+1))\ndone\n',
        encoding="utf-8",
    )
    hook.chmod(0o755)
    return remote, seen


def retrain_variables(remote: Path, token: bool = True) -> list[str]:
    """gitlab-ci-local arguments: a scheduled pipeline whose train job pushes to ``remote``
    (RETRAIN_REMOTE; the token is required all the same, as GitLab would need it)."""
    variables = ["CI_PIPELINE_SOURCE=schedule", f"RETRAIN_REMOTE={remote}"]
    variables += ["RETRAIN_TOKEN=glpat-test"] if token else []
    return [a for v in variables for a in ("--variable", v)]


def test_the_train_job_retrains_and_then_the_image_command_and_host_command_serve(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    project_env: ProjectEnv,
    tmp_path: Path,
) -> None:
    need_tool("rsync")
    repo = copy_repo(generate())
    # Continuous training, as a scheduled pipeline runs it: the GitLab `train` job in
    # gitlab-ci-local's shell executor (dvc pull, dvc repro, the tests, the metrics
    # diff against the default branch, the model-quality gate, dvc push, then
    # dvc.lock and the log row pushed on a branch with merge-request push options).
    # Its `origin` is a local bare repo that records the push options.
    origin, seen = recording_remote(tmp_path)
    run(["git", "remote", "add", "origin", origin], cwd=repo)
    run(["git", "push", "-q", "origin", "HEAD"], cwd=repo)
    default = run(["git", "branch", "--show-current"], cwd=repo).stdout.strip()
    done = gcl(
        repo,
        "--force-shell-executor",
        *retrain_variables(origin),
        "train",
        env=project_env.env(),
        check=False,
        timeout=1200,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0 and "PASS  train" in out, out[-6000:]
    assert re.search(r"train > =+ \d+ passed", out), out[-3000:]
    assert "roc_auc" in (repo / "reports/metrics-diff.md").read_text(encoding="utf-8")
    assert any((tmp_path / "demo-dvc-remote").rglob("*")), "dvc push sent nothing"
    assert (repo / "models/model/MLmodel").is_file()
    # The gate ran: no champion yet, so the challenger won, and said so.
    assert "promote --check --report reports/promotion.md" in out
    assert (repo / "reports/promotion.md").read_text(encoding="utf-8").strip()
    check_retrain_branch(origin, seen, default, repo)
    rows = list(csv.DictReader((repo / "data/processed/test.csv").open()))[:3]
    # The CSV's numbers as JSON reads them: ids and hours are integers (the data contract).
    typed = [{k: json.loads(v) for k, v in row.items()} for row in rows]

    # The image, without an engine: the build context's files land where COPY puts
    # them; the build stage's `pip install --no-deps .` runs on exactly those files
    # (no .git: the version comes from the build argument); then the final stage's
    # CMD runs in its WORKDIR with the model at the path the CMD names.
    steps = instructions((repo / "Dockerfile").read_text(encoding="utf-8"))
    build, final = replay_copies(
        repo, steps, DockerIgnore.read(repo / ".dockerignore"), tmp_path / "image"
    )
    assert "pip install --no-cache-dir --no-deps ." in [a for k, a in steps if k == "RUN"][-1]
    venv_root = tmp_path / "image" / "opt-venv"
    venv.create(venv_root, with_pip=False, symlinks=True)
    child_site = next(venv_root.glob("lib/python*/site-packages"))
    (child_site / "_parent.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = base_env()
    env.update(
        PATH=f"{venv_root / 'bin'}{os.pathsep}{env['PATH']}",
        VIRTUAL_ENV=str(venv_root),
        SETUPTOOLS_SCM_PRETEND_VERSION="0.0.0",
        HOME=str(tmp_path),
    )
    run(
        [
            venv_root / "bin/python",
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            build / "src",
        ],
        cwd=build / "src",
        env=env,
    )
    cmd = json.loads(dict(steps)["CMD"])
    port = free_port()
    args = {"--host": "127.0.0.1", "--port": str(port)}
    cmd = [args.get(cmd[i - 1], word) if i else word for i, word in enumerate(cmd)]
    model_at = cmd[cmd.index("--model") + 1]
    cmd[cmd.index("--model") + 1] = str(final / model_at.lstrip("/"))
    assert (final / model_at.lstrip("/") / "MLmodel").is_file()
    app = final / [a for k, a in steps if k == "WORKDIR"][-1].lstrip("/")
    check_server(cmd, app, env, port, typed, tmp_path / "image.log")

    # The host command of the README, in the repository, with its defaults.
    port = free_port()
    check_server(
        [cmd[0], "serve", "--port", str(port)],
        repo,
        project_env.env(),
        port,
        typed,
        tmp_path / "host.log",
    )


def check_retrain_branch(origin: Path, seen: Path, default: str, repo: Path) -> None:
    """The train job's proposal, as the remote received it: one branch retrain/<id>
    on top of the default branch, with the new dvc.lock (whose outputs DVC pushed) and
    one more row in the experiment log, and the push options that open the MR."""
    branches = run(
        ["git", "for-each-ref", "--format=%(refname:short)", "refs/heads/retrain/"], cwd=origin
    ).stdout.split()
    assert len(branches) == 1 and re.fullmatch(r"retrain/\d+", branches[0]), branches
    branch = branches[0]

    def show(rev: str) -> str:
        return run(["git", "show", rev], cwd=origin).stdout

    parent = run(["git", "rev-parse", f"{branch}^", default], cwd=origin).stdout.split()
    assert parent[0] == parent[1], "the branch is one commit on the default branch"
    changed = run(["git", "diff", "--name-only", default, branch], cwd=origin).stdout.split()
    assert sorted(changed) == ["dvc.lock", "reports/experiments.csv"]
    lock = yaml.safe_load(show(f"{branch}:dvc.lock"))
    assert {"train", "evaluate"} <= set(lock["stages"])
    model = next(o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model")
    cache = next((repo.parent / "demo-dvc-remote").rglob(model["md5"].split(".")[0][2:] + "*"))
    assert cache.exists(), "the model dvc.lock names is in the DVC remote"
    before = list(csv.DictReader(show(f"{default}:reports/experiments.csv").splitlines()))
    after = list(csv.DictReader(show(f"{branch}:reports/experiments.csv").splitlines()))
    assert len(after) == len(before) + 1 and float(after[-1]["test_roc_auc"]) > 0.5
    author = run(["git", "log", "-1", "--format=%an <%ae>|%s", branch], cwd=origin).stdout
    assert author.strip().endswith(f"|Retrain the model (pipeline {branch.split('/')[1]})")
    options = seen.read_text(encoding="utf-8").splitlines()
    assert options[:3] == [
        "merge_request.create",
        f"merge_request.target={default}",
        f"merge_request.title=Retrained model from pipeline {branch.split('/')[1]}",
    ], options
    description = options[3]
    assert description.startswith("merge_request.description=Retrained by pipeline ")
    assert re.search(r"test\.roc_auc: - -> 0\.\d+", description), description
    assert "model-quality gate passed" in description
    assert options[4:] == ["merge_request.remove_source_branch"]


def test_a_capitalised_project_name_gets_a_valid_lowercase_image_name(
    generate: Callable[..., Path],
) -> None:
    from pyscaffoldext.dsproject_ops.validate.docker import _command_images, valid_reference

    repo = generate("--ci", "both", name="MyProj.Data_x")
    seen = []
    for rel in ("README.md", "Dockerfile", "docs/ci-cd.md"):
        for line in (repo / rel).read_text(encoding="utf-8").splitlines():
            seen += [(rel, image) for image in _command_images(line)]
    assert {rel for rel, _ in seen} == {"README.md", "Dockerfile", "docs/ci-cd.md"}
    assert {image for _, image in seen} == {"myproj-data-x"}
    assert valid_reference("myproj-data-x") and not valid_reference("MyProj.Data_x")
    done = run([BIN / "dsops", "validate", repo], cwd=repo, check=False)
    assert done.returncode == 0 and "DKR008" not in done.stdout, done.stdout
