"""Issue 9: the same repository through ``cookiecutter`` as through ``putup``.

Both front-ends render the one template tree under ``templates/``; cookiecutter's
hooks (``templates/hooks/``) bring putup's validation, feature map and single
commit. Each case runs the real ``cookiecutter`` and the real ``putup`` with the
same answers and compares the results file by file, bytes and modes.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, ROOT, base_env, run

from pyscaffoldext.dsproject_ops.answers import CI_CHOICES, PYTHON_CHOICES, cookiecutter_json

# Every test runs the cookiecutter front-end (and most also putup): real runs, not the fast tier.
pytestmark = pytest.mark.slow

TEMPLATE = ROOT / "templates"
AUTHOR, EMAIL = "Ada Lovelace", "ada@example.com"

# What cannot match by nature, and is therefore not compared byte for byte:
# - everything under .git/ (the index holds file timestamps, the reflog times, and
#   the commit object holds the author and committer dates, so commit ids differ);
#   instead the commit's *tree* id, message, author, committer and branch must be equal,
#   which proves the same files with the same bytes and modes were committed.
# - the git identity's source: putup takes author and email from git (here
#   GIT_AUTHOR_NAME/EMAIL), cookiecutter from its answers; both are given the same.
NOT_COMPARED = {".git": "index timestamps, reflog times, commit dates and so commit ids"}

# (case id, putup options, project name, cookiecutter answers)
MATRIX: list[tuple[str, tuple[str, ...], str, dict[str, str]]] = [
    ("defaults", (), "demo", {}),
    (
        "gitlab-no-example",
        ("--ci", "gitlab", "--no-example"),
        "demo",
        {"ci": "gitlab", "example": "no"},
    ),
    (
        "github-py312",
        ("--ci", "github", "--python-version", "3.12"),
        "demo",
        {"ci": "github", "python_version": "3.12"},
    ),
    (
        "none-s3-http",
        (
            "--ci",
            "none",
            "--dvc-remote",
            "s3://bucket/dvc",
            "--mlflow-tracking-uri",
            "http://mlflow.example.com:5000",
        ),
        "demo",
        {
            "ci": "none",
            "dvc_remote": "s3://bucket/dvc",
            "mlflow_tracking_uri": "http://mlflow.example.com:5000",
        },
    ),
    ("dashed-name", (), "churn-model.v2", {}),
    (
        "secret-remote",
        ("--dvc-remote", "ssh://alice:s3cr%3At@Files.Example.com:2222/srv/dvc"),
        "demo",
        {"dvc_remote": "ssh://alice:s3cr%3At@Files.Example.com:2222/srv/dvc"},
    ),
]


def identity_env() -> dict[str, str]:
    env = base_env()
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"], env[f"GIT_{role}_EMAIL"] = AUTHOR, EMAIL
    return env


def cc_config(folder: Path, default_context: dict[str, str] | None = None) -> Path:
    """A cookiecutter user config that keeps its replay files out of $HOME."""
    config = folder / "cookiecutterrc.yaml"
    lines = [f"cookiecutters_dir: {folder / 'cookiecutters'}", f"replay_dir: {folder / 'replay'}"]
    if default_context:
        lines.append("default_context:")
        lines += [f"  {key}: {json.dumps(value)}" for key, value in default_context.items()]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def cookiecutter(
    out: Path,
    answers: dict[str, str],
    template: Path = TEMPLATE,
    config: Path | None = None,
    check: bool = True,
) -> Any:
    out.mkdir(parents=True, exist_ok=True)
    config = config or cc_config(out.parent)
    pairs = [f"{key}={value}" for key, value in answers.items()]
    return run(
        [BIN / "cookiecutter", "--no-input", "--config-file", config, template, "-o", out, *pairs],
        cwd=out,
        env=identity_env(),
        check=check,
    )


def putup(out: Path, name: str, options: tuple[str, ...], check: bool = True) -> Any:
    out.mkdir(parents=True, exist_ok=True)
    return run(
        [BIN / "putup", "--dsproject-ops", *options, name], cwd=out, env=identity_env(), check=check
    )


def files(repo: Path) -> dict[str, tuple[bytes, int]]:
    found = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo)
        if rel.parts[0] not in NOT_COMPARED and path.is_file():
            found[rel.as_posix()] = (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return found


def git(repo: Path, *args: str) -> str:
    return str(run(["git", *args], cwd=repo).stdout.strip())


def assert_same_repository(made_by_putup: Path, made_by_cc: Path) -> None:
    ours, theirs = files(made_by_putup), files(made_by_cc)
    assert sorted(theirs) == sorted(ours)
    for rel in ours:
        assert theirs[rel][0] == ours[rel][0], f"{rel}: different bytes"
        assert theirs[rel][1] == ours[rel][1], f"{rel}: different mode"
    for args in (
        ("rev-parse", "HEAD^{tree}"),
        ("rev-list", "--count", "HEAD"),
        ("log", "--format=%an <%ae>%n%cn <%ce>%n%B"),
        ("branch", "--show-current"),
        ("status", "--porcelain", "--untracked-files=all"),
    ):
        assert git(made_by_cc, *args) == git(made_by_putup, *args), args


@pytest.mark.parametrize("case", MATRIX, ids=[case[0] for case in MATRIX])
def test_cookiecutter_makes_the_putup_repository(
    case: tuple[str, tuple[str, ...], str, dict[str, str]], tmp_path: Path
) -> None:
    case_id, options, name, answers = case
    putup(tmp_path / "putup", name, options)
    given = {"author": AUTHOR, "email": EMAIL, **answers}
    if name != "demo":
        given["project_name"] = name
    if case_id == "defaults":
        # The other way to answer: a cookiecutter user config's default_context.
        config = cc_config(tmp_path, {"author": AUTHOR, "email": EMAIL})
        cookiecutter(tmp_path / "cc", {}, config=config)
    else:
        cookiecutter(tmp_path / "cc", given)
    assert_same_repository(tmp_path / "putup" / name, tmp_path / "cc" / name)
    assert_dsops_agrees(tmp_path / "putup" / name, tmp_path / "cc" / name)
    if case_id == "defaults":
        assert run([BIN / "dsops", "validate"], cwd=tmp_path / "cc" / name).returncode == 0


def assert_dsops_agrees(made_by_putup: Path, made_by_cc: Path) -> None:
    """`dsops validate` says the same of both; `dsops upgrade` (nothing to merge) does
    the same to both."""

    def said(command: str, repo: Path) -> tuple[int, str]:
        done = run([BIN / "dsops", command], cwd=repo, check=False)
        return done.returncode, (done.stdout + done.stderr).replace(str(repo), "<repo>")

    for command in ("validate", "upgrade"):
        # Exactly as clean as the putup-made repository (clean wherever that one is).
        assert said(command, made_by_cc) == said(command, made_by_putup), command
    assert git(made_by_cc, "status", "--porcelain") == git(made_by_putup, "status", "--porcelain")


def test_answers_typed_at_the_prompts(tmp_path: Path) -> None:
    """Interactive cookiecutter: the questions, their defaults, a menu choice, a no."""
    typed = ["churn-model", "", "", AUTHOR, EMAIL, "", "", "2", "", "", "3", "n"]
    out = tmp_path / "cc"
    out.mkdir()
    run(
        [BIN / "cookiecutter", "--config-file", cc_config(tmp_path), TEMPLATE, "-o", out],
        cwd=out,
        env=identity_env(),
        input="\n".join(typed) + "\n",
    )
    putup(
        tmp_path / "putup",
        "churn-model",
        ("--ci", "gitlab", "--python-version", "3.13", "--no-example"),
    )
    assert_same_repository(tmp_path / "putup" / "churn-model", out / "churn-model")


def test_a_remote_password_stays_out_of_tracked_files(tmp_path: Path) -> None:
    remote = "ssh://alice:s3cr%3At@Files.Example.com:2222/srv/dvc"
    cookiecutter(tmp_path / "cc", {"author": AUTHOR, "email": EMAIL, "dvc_remote": remote})
    repo = tmp_path / "cc" / "demo"
    holding = sorted(rel for rel, (data, _) in files(repo).items() if b"s3cr" in data)
    assert holding == [".dvc/config.local"]
    assert stat.S_IMODE((repo / ".dvc/config.local").stat().st_mode) == 0o600
    assert "ssh://alice@Files.Example.com:2222/srv/dvc" in (repo / ".dvc/config").read_text()
    assert git(repo, "check-ignore", ".dvc/config.local") == ".dvc/config.local"


def test_the_wheel_layout_finds_its_package(tmp_path: Path) -> None:
    """In a wheel the template sits inside the package (pyproject force-include)."""
    site = tmp_path / "site-packages"
    shutil.copytree(
        ROOT / "src" / "pyscaffoldext",
        site / "pyscaffoldext",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copytree(TEMPLATE, site / "pyscaffoldext" / "dsproject_ops" / "templates")
    putup(tmp_path / "putup", "demo", ("--ci", "gitlab"))
    cookiecutter(
        tmp_path / "cc",
        {"author": AUTHOR, "email": EMAIL, "ci": "gitlab"},
        template=site / "pyscaffoldext" / "dsproject_ops" / "templates",
    )
    assert_same_repository(tmp_path / "putup" / "demo", tmp_path / "cc" / "demo")


BAD = [
    ("bad name", (), {}),
    ("class", (), {}),
    ("demo", ("--package", "1pkg"), {"package": "1pkg"}),
    ("demo", ("--dvc-remote", "ftp://files/x"), {"dvc_remote": "ftp://files/x"}),
    ("demo", ("--mlflow-tracking-uri", "mlflow.db"), {"mlflow_tracking_uri": "mlflow.db"}),
    ("demo", ("--dvc-remote", "../remote\x07"), {"dvc_remote": "../remote\x07"}),
]


@pytest.mark.parametrize("name, options, answers", BAD)
def test_bad_answers_fail_alike_and_write_nothing(
    name: str, options: tuple[str, ...], answers: dict[str, str], tmp_path: Path
) -> None:
    by_putup = putup(tmp_path / "putup", name, options, check=False)
    by_cc = cookiecutter(tmp_path / "cc", {"project_name": name, **answers}, check=False)
    assert by_putup.returncode == by_cc.returncode == 1
    # PyScaffold prints its ERROR line on stdout; the hook prints it on stderr.
    error = by_putup.stdout.strip()
    assert error.startswith("ERROR: ") and "\n" not in error
    assert by_cc.stderr.strip() == error
    assert list((tmp_path / "putup").iterdir()) == []
    assert list((tmp_path / "cc").iterdir()) == []


def test_choices_are_the_same_lists_and_cookiecutter_checks_them(tmp_path: Path) -> None:
    """cookiecutter checks a choice or a yes/no answer itself, before any hook runs
    (its own message then): the lists must be ours, and nothing may be written."""
    spec = cookiecutter_json()
    assert tuple(spec["ci"]) == CI_CHOICES and tuple(spec["python_version"]) == PYTHON_CHOICES
    for answers in ({"ci": "travis"}, {"example": "maybe"}):
        done = cookiecutter(tmp_path / "cc", answers, check=False)
        assert done.returncode != 0
        assert list((tmp_path / "cc").iterdir()) == []


def test_the_hooks_import_only_the_standard_library_and_jinja2() -> None:
    """cookiecutter runs the hooks with its own Python: nothing but jinja2 may be needed."""
    import jinja2

    site = Path(jinja2.__file__).resolve().parents[1]
    probe = (
        "import sys; sys.path[:0] = sys.argv[1:];"
        "import pyscaffoldext.dsproject_ops.cookiecutter_hooks, pyscaffoldext.dsproject_ops.render,"
        " pyscaffoldext.dsproject_ops.writer;"
        "top = {m.split('.')[0] for m in sys.modules};"
        "print(sorted(top - set(sys.stdlib_module_names) - set(sys.builtin_module_names)"
        " - {'__main__'}))"
    )
    # -S: no site-packages, no .pth files; only our source and jinja2's folder.
    out = run([BIN / "python", "-S", "-c", probe, ROOT / "src", site])
    assert out.stdout.strip() == "['jinja2', 'markupsafe', 'pyscaffoldext']"
