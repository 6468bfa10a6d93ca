"""Issue 7: the generated onboarding guide builds, follows the answers, and tells the truth.

The guide is a template; the pipeline, the CI files and the project's command line
are written by other parts of the template. These tests read the rendered files and
hold the guide to them: every stage and job it names is real (and every real one is
named), and every command it shows runs in the generated repository's environment.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from conftest import ProjectEnv
from test_generate import MATRIX as GENERATED_MATRIX

from pyscaffoldext.dsproject_ops.answers import build
from pyscaffoldext.dsproject_ops.gitlab import GLOBAL_KEYWORDS
from pyscaffoldext.dsproject_ops.render import render

# The option sets test_generate.py generates too: the session makes each repository once.
MATRIX = GENERATED_MATRIX
GUIDE = (
    "docs/index.md",
    "docs/onboarding.md",
    "docs/howto.md",
    "docs/ci-cd.md",
    "docs/glossary.md",
    "mkdocs.yml",
)
# Tools a newcomer installs before the environment exists (the guide says so), or that
# run outside it (docker, gitlab-ci-local). Everything else must be in the environment.
OUTSIDE = {"git", "conda", "docker", "gitlab-ci-local", "cd", "export", "."}
FENCE = re.compile(r"```bash\n(.*?)```", re.S)
# `tool subcommand --help` runs already seen this session (a tool's answer is the same
# for every repository; MLflow takes seconds to start).
HELP_SEEN: set[tuple[str, ...]] = set()
INLINE = re.compile(r"`([^`\n]+)`")


# ------------------------------------------------------------------------ helpers


def ignore_tags(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    return None


class TolerantLoader(yaml.SafeLoader):
    """Reads GitLab files that use tags such as ``!reference``."""


TolerantLoader.add_multi_constructor("!", ignore_tags)


def load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=TolerantLoader) or {}


def stages(repo: Path) -> set[str]:
    if not (repo / "dvc.yaml").exists():
        return set()
    return set((load(repo / "dvc.yaml").get("stages") or {}))


def gitlab_jobs(repo: Path) -> set[str]:
    path = repo / ".gitlab-ci.yml"
    if not path.exists():
        return set()
    keywords = GLOBAL_KEYWORDS
    return {
        k
        for k, v in load(path).items()
        if isinstance(v, dict) and k not in keywords and not k.startswith(".")
    }


def github_jobs(repo: Path) -> set[str]:
    found: set[str] = set()
    for path in sorted((repo / ".github" / "workflows").glob("*.y*ml")):
        found |= set(load(path).get("jobs") or {})
    return found


def table_names(markdown: str, heading: str) -> set[str]:
    """The `code` names in the first column of the table under ``heading``."""
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ |\Z)", markdown, re.S | re.M)
    if not match:
        return set()
    return set(re.findall(r"^\| `([^`]+)` \|", match.group(1), re.M))


def guide_text(repo: Path) -> str:
    return "\n".join((repo / rel).read_text(encoding="utf-8") for rel in GUIDE)


def shown_commands(markdown: str, programs: set[str]) -> list[list[str]]:
    """Every command the guide shows: code blocks, and inline code naming a program."""
    lines: list[str] = []
    for block in FENCE.findall(markdown):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.split(r"\s{2,}#", line)[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    for span in INLINE.findall(FENCE.sub("", markdown)):
        if span.split()[0] in programs:
            lines.append(span)
    commands: list[list[str]] = []
    for line in lines:
        for part in re.split(r"&&|\|\||;|\|", line):
            words = shlex.split(part)
            if words:
                commands.append(words)
    return commands


# DVC's command groups: their next word is a subcommand too (`dvc exp run`).
GROUPS = {"exp", "remote", "stage", "metrics", "plots", "params", "cache"}


def subcommand(words: list[str]) -> list[str]:
    """The program and its subcommand words, up to the first option or argument."""
    head = [words[0]]
    for word in words[1:3]:
        if word.startswith("-") or any(c in word for c in "=/.:'\"") or word.isupper():
            break
        head.append(word)
        if word not in GROUPS:
            break
    return head


def help_works(project_env: ProjectEnv, repo: Path, head: tuple[str, ...]) -> None:
    if len(head) == 1 and head[0] in ("pytest", "python", "papermill"):
        return  # no subcommand to check: being installed (checked before) is enough
    if head[0] == "mlflow":
        # MLflow takes seconds to start: its one command list names every subcommand.
        listing = _mlflow_commands(project_env, repo)
        assert all(word in listing for word in head[1:]), (head, sorted(listing))
        return
    done = project_env.run([*head, "--help"], cwd=repo, check=False, timeout=120)
    assert done.returncode == 0, f"{' '.join(head)} --help failed:\n{done.stderr[-2000:]}"


_MLFLOW: set[str] = set()


def _mlflow_commands(project_env: ProjectEnv, repo: Path) -> set[str]:
    if not _MLFLOW:
        text = project_env.run(["mlflow", "--help"], cwd=repo, timeout=120).stdout
        _MLFLOW.update(re.findall(r"^  (\S+)\s", text.split("Commands:", 1)[1], re.M))
    return _MLFLOW


# ------------------------------------------------------------------------- tests


@pytest.mark.parametrize("options", MATRIX, ids=lambda o: " ".join(o) or "defaults")
def test_docs_build_offline_with_warnings_as_errors(
    generate: Callable[..., Path],
    project_env: ProjectEnv,
    tmp_path: Path,
    options: tuple[str, ...],
) -> None:
    repo = generate(*options)
    pinned = yaml.safe_load((repo / "environment.yml").read_text())["dependencies"]
    mkdocs_pin = next(d for d in pinned if isinstance(d, str) and d.startswith("mkdocs=="))
    done = project_env.run(["mkdocs", "--version"], cwd=repo)
    assert f"version {mkdocs_pin.split('==')[1]} " in done.stdout, (mkdocs_pin, done.stdout)
    done = project_env.run(["mkdocs", "build", "--strict", "-d", tmp_path / "site"], cwd=repo)
    assert "WARNING" not in done.stderr, done.stderr
    for page in ("onboarding", "howto", "ci-cd", "glossary"):
        assert (tmp_path / "site" / page / "index.html").is_file()


def test_docs_build_fails_on_a_broken_link(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    project_env: ProjectEnv,
    tmp_path: Path,
) -> None:
    """The strictness is real: a warning (here a link to a missing page) fails the build."""
    repo = copy_repo(generate())
    with open(repo / "docs" / "howto.md", "a", encoding="utf-8") as fh:
        fh.write("\nSee [the missing page](missing.md).\n")
    done = project_env.run(["mkdocs", "build", "-d", tmp_path / "site"], cwd=repo, check=False)
    assert done.returncode != 0 and "missing.md" in done.stderr, done.stderr


def _rendered(**options: Any) -> dict[str, str]:
    tree = render(build("demo", **options))
    return {rel: tree[rel] for rel in GUIDE}


def test_the_guide_follows_the_ci_choice() -> None:
    guides = {
        ci: "\n".join(_rendered(ci=ci).values()) for ci in ("both", "gitlab", "github", "none")
    }
    assert len(set(guides.values())) == 4
    for ci, text in guides.items():
        assert ("## GitLab CI" in text) == (ci in ("gitlab", "both")), ci
        assert (".gitlab-ci.yml" in text) == (ci in ("gitlab", "both")), ci
        assert ("## GitHub Actions" in text) == (ci in ("github", "both")), ci
        assert (".github/workflows" in text) == (ci in ("github", "both")), ci
        assert ("no CI configuration" in text) == (ci == "none"), ci


def test_the_guide_names_the_configured_remote_and_tracking_store() -> None:
    default = "\n".join(_rendered().values())
    other = "\n".join(
        _rendered(
            dvc_remote="ssh://alice:s3cret@nas.local/srv/dvc",
            mlflow_tracking_uri="http://mlflow.local:5000",
        ).values()
    )
    assert "`../demo-dvc-remote`" in default and "nas.local" not in default
    assert "`ssh://alice@nas.local/srv/dvc`" in other and "../demo-dvc-remote" not in other
    assert "s3cret" not in other, "a password must never reach a tracked file"
    assert "`http://mlflow.local:5000`" in other
    # The local store's UI is explained only where the store is local.
    ui = "mlflow server --backend-store-uri sqlite:///mlflow.db --host"
    assert ui in _rendered()["docs/onboarding.md"]
    assert ui not in _rendered(mlflow_tracking_uri="http://mlflow.local:5000")["docs/onboarding.md"]


def test_the_guide_follows_the_example_switch() -> None:
    with_example = _rendered()["docs/onboarding.md"]
    without = _rendered(example=False)["docs/onboarding.md"]
    assert with_example != without
    assert table_names(with_example, "The pipeline")
    assert not table_names(without, "The pipeline")
    assert "generated without the example" in without


@pytest.mark.parametrize("options", MATRIX, ids=lambda o: " ".join(o) or "defaults")
def test_the_guide_names_exactly_the_real_stages_and_jobs(
    generate: Callable[..., Path], options: tuple[str, ...]
) -> None:
    repo = generate(*options)
    onboarding = (repo / "docs" / "onboarding.md").read_text(encoding="utf-8")
    cicd = (repo / "docs" / "ci-cd.md").read_text(encoding="utf-8")
    assert table_names(onboarding, "The pipeline") == stages(repo)
    assert table_names(cicd, "GitLab CI") == gitlab_jobs(repo)
    assert table_names(cicd, "GitHub Actions") == github_jobs(repo)


# The github repository differs from the default only in its CI files (no commands).
@pytest.mark.parametrize(
    "options", MATRIX[:2] + MATRIX[3:], ids=lambda o: " ".join(o) or "defaults"
)
def test_every_command_the_guide_shows_exists_in_the_repository(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    project_env: ProjectEnv,
    options: tuple[str, ...],
) -> None:
    repo = copy_repo(generate(*options))
    project_env.install(repo)  # the console scripts of this repository
    env = project_env.env()
    project = repo.name
    programs = {
        "dvc",
        "pre-commit",
        "pytest",
        "pip",
        "mlflow",
        "mkdocs",
        "papermill",
        "python",
        project,
    } | OUTSIDE
    commands = shown_commands(guide_text(repo), programs)
    assert len(commands) > 20
    real_stages = stages(repo)
    added = {w[i + 1] for w in commands for i, x in enumerate(w[:-1]) if x == "-n"}
    params = load(repo / "params.yaml") if (repo / "params.yaml").exists() else {}
    hooks = {h["id"] for r in load(repo / ".pre-commit-config.yaml")["repos"] for h in r["hooks"]}
    env_name = yaml.safe_load((repo / "environment.yml").read_text())["name"]
    for words in commands:
        program = words[0]
        if program in OUTSIDE:
            if program == "git":
                done = project_env.run(["git", words[1], "-h"], cwd=repo, check=False)
                assert "is not a git command" not in done.stderr, words
            if words[:2] == ["conda", "activate"]:
                assert words[2] == env_name, words
            continue
        assert shutil.which(program, path=env["PATH"]), f"{program} is not installed: {words}"
        if words[:2] == ["dvc", "repro"] and len(words) > 2:
            assert words[2] in real_stages | added, f"no stage {words[2]!r}: {words}"
        if words[:3] == ["dvc", "exp", "run"] and "-S" in words:
            key = words[words.index("-S") + 1].split("=")[0]
            assert key == "KEY" or _has_key(params, key), f"no parameter {key!r}: {words}"
        if words[:2] == ["pre-commit", "run"] and len(words) > 2 and not words[2].startswith("-"):
            assert words[2] in hooks, words
        if words[:3] == ["dvc", "remote", "modify"]:
            name = next(w for w in words[3:] if not w.startswith("-"))
            assert f'remote "{name}"' in (repo / ".dvc" / "config").read_text(), words
        if program == "pytest":
            for arg in words[1:]:
                if arg.startswith("tests/"):
                    assert (repo / arg).exists(), words
        head = tuple(subcommand(words))
        key = (str(repo), *head) if program == project else head
        if key not in HELP_SEEN:
            HELP_SEEN.add(key)
            help_works(project_env, repo, head)


def _has_key(params: Any, dotted: str) -> bool:
    node = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_the_add_a_data_source_recipe_runs_as_written(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    project_env: ProjectEnv,
) -> None:
    """The how-to's first block, run line by line in a fresh checkout."""
    repo = copy_repo(generate())
    howto = (repo / "docs" / "howto.md").read_text(encoding="utf-8")
    section = howto.split("## Add a data source", 1)[1].split("## ", 1)[0]
    block = FENCE.findall(section)[0]
    added = re.search(r"dvc add (\S+)", block)
    assert added, block
    (repo / added.group(1)).write_text("machine,date,action\n1,2024-03-01,oil change\n")
    project_env.run(
        ["sh", "-ec", block],
        cwd=repo,
        GIT_AUTHOR_NAME="Ada",
        GIT_AUTHOR_EMAIL="ada@example.com",
        GIT_COMMITTER_NAME="Ada",
        GIT_COMMITTER_EMAIL="ada@example.com",
    )
    tracked = project_env.run(["git", "ls-files"], cwd=repo).stdout.split()
    assert f"{added.group(1)}.dvc" in tracked and added.group(1) not in tracked
    assert any((repo.parent / f"{repo.name}-dvc-remote").rglob("*")), "dvc push stored nothing"
