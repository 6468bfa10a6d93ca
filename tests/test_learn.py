"""``dsops learn``: the catalogues, the guide page, and a scripted learner who completes
every lesson on a generated repository with the real commands, while every check is
shown to leave the repository exactly as it was."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import BIN, Dist, ProjectEnv, base_env, run

from pyscaffoldext.dsproject_ops.answers import build
from pyscaffoldext.dsproject_ops.errors import DsopsError
from pyscaffoldext.dsproject_ops.onboarding.learn import catalogue, checks, page
from pyscaffoldext.dsproject_ops.onboarding.learn.lessons import ORDER
from pyscaffoldext.dsproject_ops.onboarding.learn.text import cells, wrap
from pyscaffoldext.dsproject_ops.paths import project_template
from pyscaffoldext.dsproject_ops.render import render

DSOPS = BIN / "dsops"


def dsops(*args: str, env: dict[str, str] | None = None, check: bool = False) -> Any:
    return run([DSOPS, *args], env=env or base_env(), check=check)


def _keys(data: Any, prefix: str = "") -> set[str]:
    if isinstance(data, dict) and not (set(data) <= set(catalogue.VARIANTS)):
        found: set[str] = set()
        for key, value in data.items():
            found |= _keys(value, f"{prefix}.{key}" if prefix else str(key))
        return found
    return {prefix}


def _texts(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [t for v in data.values() for t in _texts(v)]
    return [data] if isinstance(data, str) else []


# ------------------------------------------------------------------- catalogues


def test_every_language_has_every_text_of_the_english_catalogue() -> None:
    english = catalogue.load("en")
    assert set(catalogue.languages()) >= {"en", "zh"}
    for code in catalogue.languages():
        raw = (catalogue.HERE / f"{code}.yaml").read_text(encoding="utf-8")
        import yaml

        own = yaml.safe_load(raw)
        assert _keys(own) - {"language", "name"} == _keys(english) - {"language", "name"}, code
        assert set(own["lessons"]) == set(ORDER), code


def test_lesson_texts_use_only_known_placeholders_and_every_check_message_exists() -> None:
    for code in catalogue.languages():
        data = catalogue.load(code)
        for text in _texts(data["lessons"]):
            assert catalogue.placeholders(text) <= set(catalogue.PLACEHOLDERS), text
            assert "{{" not in text and "{%" not in text, text
    source = Path(checks.__file__).read_text(encoding="utf-8")
    used = set(re.findall(r'"([a-z]+\.[a-z_]+)"', source)) - {
        "dvc.lock",
        "dvc.yaml",
        "experiments.csv",
    }
    used = {k for k in used if k.split(".")[0] in (*ORDER, "data")}
    assert used <= set(catalogue.load("en")["messages"]), used - set(
        catalogue.load("en")["messages"]
    )


def test_the_cached_copy_of_a_catalogue_follows_an_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    folder = tmp_path / "catalogues"
    shutil.copytree(catalogue.HERE, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setattr(catalogue, "HERE", folder)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    catalogue.load.cache_clear()
    try:
        assert catalogue.load("en")["lessons"]["hooks"]["title"] == "Code quality and hooks"
        assert list((tmp_path / "cache" / "dsproject-ops" / "learn").glob("en-*.json"))
        english = folder / "en.yaml"
        english.write_text(
            english.read_text(encoding="utf-8").replace(
                "title: Code quality and hooks", "title: Hooks first"
            ),
            encoding="utf-8",
        )
        catalogue.load.cache_clear()
        assert catalogue.load("en")["lessons"]["hooks"]["title"] == "Hooks first"
        (folder / "en.yaml").write_text("lessons: [broken\n", encoding="utf-8")
        catalogue.load.cache_clear()
        with pytest.raises(DsopsError, match="cannot be read"):
            catalogue.load("en")
    finally:
        catalogue.load.cache_clear()


def test_the_language_comes_from_the_option_then_the_locale() -> None:
    assert catalogue.choose_language(None, {"LANG": "zh_CN.UTF-8"}) == "zh"
    assert catalogue.choose_language(None, {"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN"}) == "en"
    assert catalogue.choose_language(None, {"LANG": "fr_FR.UTF-8"}) == "en"
    assert catalogue.choose_language(None, {}) == "en"
    assert catalogue.choose_language("zh-Hans", {"LANG": "en_US"}) == "zh"
    with pytest.raises(DsopsError, match="no such catalogue"):
        catalogue.choose_language("xx", {})


def test_wrapping_counts_chinese_characters_as_two_columns() -> None:
    text = catalogue.load("zh")["lessons"]["pipeline"]["why"]
    lines = wrap(text, indent="    ", first="  为什么: ")
    assert len(lines) > 2 and all(cells(line) <= 80 for line in lines)
    assert "".join(line.strip() for line in lines).replace(" ", "").startswith("为什么:dvc.yaml")


# ------------------------------------------------------------------ guide page


def test_the_guide_page_is_generated_from_the_catalogue() -> None:
    """Single source: the template's docs/learn.md is what the catalogue makes
    (rewrite it with `python -m pyscaffoldext.dsproject_ops.onboarding.learn.page`)."""
    written = (project_template() / page.RELATIVE).read_text(encoding="utf-8")
    assert written == page.source()
    nav = (project_template() / "mkdocs.yml").read_text(encoding="utf-8")
    assert "learn.md" in nav


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"ci": "gitlab"},
        {"ci": "github"},
        {"ci": "none", "example": False},
        {"dvc_remote": "ssh://alice:s3cret@nas.local/srv/dvc"},
    ],
)
def test_the_rendered_page_follows_the_answers(values: dict[str, Any]) -> None:
    answers = build("demo", **values)
    text = render(answers)["docs/learn.md"]
    assert "{" not in text.replace("{}", ""), "a placeholder or tag was left unrendered"
    for lesson in ORDER:
        assert f"`dsops learn check {lesson}`" in text
    ci = answers.ci
    assert (".gitlab-ci.yml" in text) == (ci in ("gitlab", "both"))
    assert (".github/workflows" in text) == (ci in ("github", "both"))
    assert ("no CI configuration" in text) == (ci == "none")
    assert ("data/external/FILE" in text) == answers.example
    assert "s3cret" not in text
    if "://" in answers.dvc_remote:
        assert "ssh://alice@nas.local/srv/dvc" in text and "--local" in text


def test_dsops_help_names_the_course() -> None:
    done = dsops("--help", check=True)
    assert re.search(r"^  learn\s+\S", done.stdout, re.M)


# --------------------------------------------------------------- the CLI alone


def test_list_status_and_reset_outside_git_say_progress_is_not_saved(tmp_path: Path) -> None:
    listed = dsops("learn", "--list", "--format", "json", "-C", str(tmp_path), check=True)
    assert [item["id"] for item in json.loads(listed.stdout)] == list(ORDER)
    status = dsops("learn", "-C", str(tmp_path), check=True)
    assert "Progress is not saved" in status.stdout
    assert all(cells(line) <= 80 for line in status.stdout.splitlines())
    zh = dsops("learn", "--lang", "zh", "-C", str(tmp_path), check=True)
    assert "待完成" in zh.stdout and all(cells(line) <= 80 for line in zh.stdout.splitlines())
    bad = dsops("learn", "check", "nonsense", "-C", str(tmp_path))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unknown lesson" in bad.stderr
    missing = dsops("learn", "-C", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such folder" in missing.stderr


def test_a_hand_made_folder_gets_answers_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("notes\n", encoding="utf-8")
    (tmp_path / "dvc.yaml").write_text("stages: [not, a, mapping\n", encoding="utf-8")
    done = dsops("learn", "check", "all", "--format", "json", "-C", str(tmp_path))
    assert done.returncode == 1, done.stderr
    results = {r["id"]: r for r in json.loads(done.stdout)["results"]}
    assert set(results) == set(ORDER)
    assert results["hooks"]["status"] == "skipped"
    assert results["data"]["hint"] == "git init"
    assert all(r["message"] for r in results.values())


@pytest.mark.slow  # runs PyScaffold's putup
def test_a_plain_pyscaffold_project_is_told_how_to_adopt_the_workflow(tmp_path: Path) -> None:
    repo = tmp_path / "plain"
    run([BIN / "putup", repo.name], cwd=tmp_path)
    before = _snapshot(repo)
    done = dsops("learn", "check", "all", "--format", "json", "-C", str(repo))
    assert done.returncode == 1, done.stderr
    assert _snapshot(repo) == before
    results = {r["id"]: r for r in json.loads(done.stdout)["results"]}
    assert results["data"]["hint"] == "dvc init"
    assert results["upgrade"]["code"] == "upgrade.foreign"
    assert results["ci"]["status"] == "skipped" and results["serving"]["status"] == "skipped"
    assert "add-notebook-stage" not in results["notebooks"]["hint"]  # not our CLI
    assert results["pipeline"]["hint"].endswith('"python -m plain.MODULE"')
    # Adopting it leaves conflicts: the lesson names them, and the way back.
    dsops("upgrade", str(repo))
    unfinished = json.loads(
        dsops("learn", "check", "upgrade", "--format", "json", "-C", str(repo)).stdout
    )
    assert unfinished["results"][0]["code"] == "upgrade.unfinished"
    conflicted = run(["git", "diff", "--name-only", "--diff-filter=U"], cwd=repo).stdout.split()
    assert conflicted, "adopting a plain PyScaffold project leaves conflicts"
    assert all(name in unfinished["results"][0]["message"] for name in conflicted)
    assert "dsops upgrade --abort" in unfinished["results"][0]["hint"]


def test_the_sandbox_is_a_fresh_repository_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "practice"
    done = dsops("learn", "--sandbox", str(target), check=True)
    assert "dsops learn" in done.stdout
    log = run(["git", "log", "--oneline"], cwd=target).stdout.splitlines()
    assert len(log) == 1 and (target / "docs" / "learn.md").is_file()
    again = dsops("learn", "--sandbox", str(target))
    assert again.returncode == 2 and "not empty" in again.stderr


# --------------------------------------------------------------- the learner


def _snapshot(repo: Path) -> tuple[str, dict[str, str]]:
    """git status plus the hash of every tracked file as it is on disk."""
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo).stdout
    tracked = run(["git", "ls-files", "-z"], cwd=repo).stdout.split("\0")
    hashes = {
        rel: hashlib.sha256((repo / rel).read_bytes()).hexdigest()
        for rel in tracked
        if rel and (repo / rel).is_file()
    }
    return status, hashes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Learner:
    def __init__(self, repo: Path, env: ProjectEnv) -> None:
        self.repo = repo
        self.project_env = env
        self.env = env.env()
        self.url = "http://127.0.0.1:1"

    def check(self, lesson: str, expect: str) -> dict[str, Any]:
        """One check, proven read-only: git status and every tracked file unchanged."""
        before = _snapshot(self.repo)
        done = run(
            [
                DSOPS,
                "learn",
                "check",
                lesson,
                "--format",
                "json",
                "--url",
                self.url,
                "-C",
                self.repo,
            ],
            env=self.env,
            check=False,
        )
        assert _snapshot(self.repo) == before, f"`dsops learn check {lesson}` changed the repo"
        assert done.returncode in (0, 1), done.stderr
        result: dict[str, Any] = json.loads(done.stdout)["results"][0]
        assert result["status"] == expect, (lesson, result)
        assert (done.returncode == 1) == (expect == "missing")
        if expect == "missing":
            assert result["hint"], result
        return result

    def do(self, *cmd: str | Path) -> None:
        self.project_env.run(list(cmd), cwd=self.repo)

    def commit(self, message: str, *paths: str) -> None:
        self.do("git", "add", *paths)
        # The hooks are installed (lesson 1); their environments would be built from
        # the package index on the first commit, which lesson 1 marks as optional.
        self.do("git", "commit", "-q", "--no-verify", "-m", message)


def test_a_scripted_learner_completes_every_lesson(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    project_env: ProjectEnv,
    tmp_path: Path,
) -> None:
    repo = copy_repo(generate())
    me = Learner(repo, project_env)

    assert me.check("hooks", "missing")["hint"] == "pre-commit install"
    me.do("pre-commit", "install")
    me.check("hooks", "passed")

    me.check("environment", "missing")
    project_env.install(repo)
    me.check("environment", "passed")

    me.check("data", "missing")
    (repo / "data" / "external" / "sites.csv").write_text("machine,site\n1,north\n", "utf-8")
    me.do("dvc", "add", "-q", "data/external/sites.csv")
    assert "git add data/external/sites.csv.dvc" in me.check("data", "missing")["hint"]
    me.commit("Version the machine sites", "data/external/sites.csv.dvc")
    me.check("data", "passed")

    assert me.check("remote", "missing")["hint"] == "dvc push"
    me.do("dvc", "push", "-q")
    me.check("remote", "passed")

    assert me.check("pipeline", "missing")["hint"] == "dvc repro"
    me.do("dvc", "repro", "-q")
    assert "dvc.lock" in me.check("pipeline", "missing")["message"]  # not committed yet
    me.commit("Run the pipeline", "dvc.lock", "reports/experiments.csv")
    me.check("pipeline", "passed")
    params = (repo / "params.yaml").read_text(encoding="utf-8")
    (repo / "params.yaml").write_text(params.replace("max_depth: 6", "max_depth: 7"), "utf-8")
    assert "train.max_depth" in me.check("pipeline", "missing")["message"]
    (repo / "params.yaml").write_text(params, "utf-8")
    me.check("pipeline", "passed")
    me.check("remote", "missing")  # the pipeline's outputs are new objects
    me.do("dvc", "push", "-q")
    me.check("remote", "passed")

    assert me.check("experiments", "missing")["hint"].startswith("dvc exp run -S ")
    me.do("dvc", "exp", "run", "-q", "-S", "evaluate.decision_threshold=0.6")
    done = me.check("experiments", "passed")
    assert "MLflow runs: 2" in done["message"] and "CSV log rows: 2" in done["message"]

    me.check("tests", "missing")
    me.do("python", "-m", "pytest", "-q", "tests/test_data_quality.py")
    assert "test_model_quality.py" in me.check("tests", "missing")["message"]
    me.do("python", "-m", "pytest", "-q", "tests/test_model_quality.py", "tests/test_package.py")
    me.check("tests", "passed")

    assert "add-notebook-stage" in me.check("notebooks", "missing")["hint"]
    notebook = repo / "notebooks" / "explore.ipynb"
    notebook.write_bytes((repo / "notebooks" / "template.ipynb").read_bytes())
    me.do(repo.name, "add-notebook-stage", "notebooks/explore.ipynb")
    assert me.check("notebooks", "missing")["hint"] == "dvc repro explore"
    me.do("dvc", "repro", "-q", "explore")
    me.check("notebooks", "passed")

    me.check("ci", "missing")
    origin = tmp_path / "origin.git"
    run(["git", "init", "-q", "--bare", origin])
    me.do("git", "remote", "add", "origin", origin)
    me.do("git", "push", "-q", "-u", "origin", "HEAD")
    me.check("ci", "passed")

    port = _free_port()
    me.url = f"http://127.0.0.1:{port}"
    missing = me.check("serving", "missing")
    assert missing["hint"] == f"{repo.name} serve"
    server = subprocess.Popen(
        [project_env.bin / repo.name, "serve", "--port", str(port)],
        cwd=repo,
        env=me.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        time.sleep(1)  # the socket listens once the model is loaded
        served = me.check("serving", "passed")
    finally:
        server.terminate()
        server.wait(timeout=30)
    engine = (
        _has("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    )
    if not engine:  # the container part is skipped with its reason, and the offline variant
        assert any("hadolint Dockerfile" in n for n in served["notes"]), served

    # The repository is on the current template: this lesson has nothing to fail on
    # here (test_a_plain_pyscaffold_project_... shows it failing on an adopted one).
    me.check("upgrade", "passed")

    status = json.loads(run([DSOPS, "learn", "--format", "json", "-C", repo], env=me.env).stdout)
    assert [item["status"] for item in status["lessons"]] == ["passed"] * len(ORDER)
    assert status["next"] is None and status["saved"] is True
    git_dir = Path(run(["git", "rev-parse", "--absolute-git-dir"], cwd=repo).stdout.strip())
    assert (git_dir / "dsops" / "learn.json").is_file()
    text = run([DSOPS, "learn", "-C", repo], env=me.env).stdout
    assert "11 of 11 lessons passed" in text
    run([DSOPS, "learn", "reset", "-C", repo], env=me.env)
    assert not (git_dir / "dsops" / "learn.json").exists()
    for lesson in ORDER:  # every lesson shown in Chinese fits an 80-column terminal
        shown = run([DSOPS, "learn", "show", lesson, "--lang", "zh", "-C", repo], env=me.env)
        assert all(cells(line) <= 80 for line in shown.stdout.splitlines()), shown.stdout


def _has(program: str) -> bool:
    import shutil

    return shutil.which(program) is not None


@pytest.mark.slow  # builds an old template and upgrades
def test_the_upgrade_lesson_fails_behind_the_template_and_passes_after_an_upgrade(
    tmp_path: Path,
) -> None:
    """A repository generated by an older template (archived in a history folder, as a
    platform team's would be) is told to upgrade; the real `dsops upgrade` and a commit
    pass the lesson."""
    import shutil

    from pyscaffoldext.dsproject_ops.paths import template_root
    from pyscaffoldext.dsproject_ops.upgrade import history
    from pyscaffoldext.dsproject_ops.writer import write_project

    old = tmp_path / "templates-0.0.9"
    shutil.copytree(template_root(), old, ignore=shutil.ignore_patterns("__pycache__"))
    spec = json.loads((old / "cookiecutter.json").read_text(encoding="utf-8"))
    spec["_template_version"] = "0.0.9"
    (old / "cookiecutter.json").write_text(json.dumps(spec, indent=2) + "\n", "utf-8")
    history.snapshot(old, tmp_path / "history")
    answers = build("older", template_version="0.0.9")
    repo = write_project(tmp_path / "older", render(answers, root=old), answers)
    env = base_env()
    env["DSOPS_TEMPLATE_HISTORY"] = str(tmp_path / "history")

    def check(expect_code: str) -> dict[str, Any]:
        before = _snapshot(repo)
        done = dsops("learn", "check", "upgrade", "--format", "json", "-C", str(repo), env=env)
        assert _snapshot(repo) == before
        result: dict[str, Any] = json.loads(done.stdout)["results"][0]
        assert result["code"] == expect_code, result
        return result

    behind = check("upgrade.behind")
    assert "0.0.9" in behind["message"] and behind["hint"].startswith("dsops upgrade --dry-run")
    run([DSOPS, "upgrade", repo], env=env)
    assert check("upgrade.uncommitted")["hint"].startswith("git commit")
    run(["git", "commit", "-q", "-m", "Upgrade the template"], cwd=repo, env=env)
    check("upgrade.passed")


def test_every_command_the_learn_page_shows_exists(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    project_env: ProjectEnv,
) -> None:
    """The page's commands run in the generated repository's environment: the program
    is installed (or is a bootstrap tool), its subcommand's --help works, a parameter
    given to `dvc exp run -S` is in params.yaml."""
    import shutil

    from test_onboarding_docs import _has_key, help_works, load, shown_commands, subcommand

    outside = {"git", "conda", "docker", "gitlab-ci-local", "cp", "actionlint", "hadolint"}
    for options in ((), ("--ci", "gitlab", "--no-example")):
        repo = copy_repo(generate(*options))
        project_env.install(repo)
        env = project_env.env()
        programs = {"dvc", "pre-commit", "pytest", "pip", "mlflow", "python", "dsops", repo.name}
        text = (repo / "docs" / "learn.md").read_text(encoding="utf-8")
        commands = shown_commands(text, programs | outside)
        assert len(commands) > 20
        params = load(repo / "params.yaml")
        seen: set[tuple[str, ...]] = set()
        for words in commands:
            if words[0] in outside:
                continue
            assert shutil.which(words[0], path=env["PATH"]), words
            if words[:3] == ["dvc", "exp", "run"]:
                key = words[words.index("-S") + 1].split("=")[0]
                assert _has_key(params, key), words
            head = tuple(subcommand(words))
            if (str(repo), *head) not in seen:
                seen.add((str(repo), *head))
                help_works(project_env, repo, head)
        shutil.rmtree(repo)


def test_the_wheel_ships_every_catalogue(release_dist: Dist) -> None:
    import zipfile

    names = zipfile.ZipFile(release_dist.wheel).namelist()
    for code in catalogue.languages():
        assert f"pyscaffoldext/dsproject_ops/onboarding/learn/{code}.yaml" in names, code


def test_the_ci_lesson_lists_the_real_jobs_and_a_skip_is_never_a_pass(
    demo: Path, copy_repo: Callable[[Path], Path]
) -> None:
    from pyscaffoldext.dsproject_ops.onboarding.facts import read

    shown = json.loads(dsops("learn", "show", "ci", "--format", "json", "-C", str(demo)).stdout)
    assert [j["name"] for j in shown["jobs"]] == [j.name for j in read(demo).jobs]
    assert ".gitlab-ci.yml" in shown["task"] and ".github/workflows" in shown["task"]
    repo = copy_repo(demo)
    dsops("learn", "skip", "ci", "--reason", "no forge yet", "-C", str(repo), check=True)
    status = json.loads(dsops("learn", "--format", "json", "-C", str(repo)).stdout)
    ci = next(item for item in status["lessons"] if item["id"] == "ci")
    assert ci["status"] == "skipped" and ci["reason"] == "by you: no forge yet"
    assert status["next"] == "hooks"
    text = dsops("learn", "-C", str(repo)).stdout
    assert "0 of 11 lessons passed, 1 skipped." in text


@pytest.mark.slow  # waits for DVC to give up on a server
def test_a_server_remote_that_does_not_answer_is_skipped_with_dvcs_reason(
    demo: Path, copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(demo)
    (repo / "data" / "external" / "sites.csv").write_text("machine,site\n1,north\n", "utf-8")
    run(["dvc", "add", "-q", "data/external/sites.csv"], cwd=repo)
    url = f"ssh://127.0.0.1:{_free_port()}/srv/dvc"
    run(["dvc", "remote", "modify", "default", "url", url], cwd=repo)
    before = _snapshot(repo)
    done = dsops("learn", "check", "remote", "--format", "json", "-C", str(repo))
    assert _snapshot(repo) == before
    result = json.loads(done.stdout)["results"][0]
    assert done.returncode == 0 and result["status"] == "skipped", result
    assert url in result["message"] and "ERROR" in result["message"]
