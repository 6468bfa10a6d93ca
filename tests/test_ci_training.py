"""Issue 15: continuous training that lands, in the generated CI files.

The full run (the GitLab ``train`` job in gitlab-ci-local's shell executor against a
local bare remote that records push options, then serving what it trained) is
tests/test_cicd.py's ``test_the_train_job_retrains_...``: one training run serves
both. Here: the job's rules (no loop, no training in upgrade schedules), its
one-line failure without the token, and the GitHub workflow's training job.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from conftest import run
from suite_tools import need_tool
from test_cicd import gcl, listed_jobs, recording_remote, retrain_variables

from pyscaffoldext.dsproject_ops.answers import build
from pyscaffoldext.dsproject_ops.render import render

TOKEN_LINE = (
    "train: set the masked CI/CD variable RETRAIN_TOKEN (a project access token with role "
    "Developer and scope write_repository) so the job can push its merge request; "
    "docs/ci-cd.md"
)


@pytest.mark.slow  # runs the train job in gitlab-ci-local's shell executor
def test_the_train_job_without_its_token_fails_in_one_line_before_training(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], tmp_path: Path
) -> None:
    need_tool("rsync")
    repo = copy_repo(generate("--ci", "gitlab"))
    origin, seen = recording_remote(tmp_path)
    run(["git", "remote", "add", "origin", origin], cwd=repo)
    args = retrain_variables(origin, token=False)
    done = gcl(repo, "--force-shell-executor", *args, "train", check=False, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "FAIL  train" in out, out[-4000:]
    # gitlab-ci-local echoes the script line too; the job's own output is one line.
    said = [line for line in out.splitlines() if "RETRAIN_TOKEN" in line and "echo" not in line]
    assert said and all(line.endswith(TOKEN_LINE) for line in said), out[-4000:]
    # Checked first: nothing was installed, trained or pushed.
    assert "pip install" not in out and "cli repro" not in out, out[-4000:]
    assert not (repo / "dvc.lock").exists() and not seen.exists()
    branches = run(["git", "for-each-ref", "refs/heads/"], cwd=origin).stdout
    assert branches == ""


@pytest.mark.slow  # seven gitlab-ci-local runs per case (a Node.js process each)
@pytest.mark.parametrize("options", [("--ci", "gitlab"), ("--ci", "both", "--no-example")])
def test_training_never_loops_and_upgrade_schedules_never_train(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], options: tuple[str, ...]
) -> None:
    repo = copy_repo(generate(*options))
    assert listed_jobs(repo, "CI_PIPELINE_SOURCE=schedule")["train"]["when"] == "on_success"
    assert listed_jobs(repo, "CI_PIPELINE_SOURCE=web")["train"]["when"] == "on_success"
    # "Run pipeline" on a retrain branch, or its merge request's pipeline: no training.
    for variables in (
        ("CI_PIPELINE_SOURCE=web", "CI_COMMIT_BRANCH=retrain/1234"),
        ("CI_PIPELINE_SOURCE=schedule", "CI_COMMIT_BRANCH=retrain/1234"),
        ("CI_PIPELINE_SOURCE=push", "CI_COMMIT_BRANCH=retrain/1234"),
        ("CI_PIPELINE_SOURCE=merge_request_event", "CI_COMMIT_BRANCH="),
        # The template-upgrade schedule proposes an upgrade, never a model.
        ("CI_PIPELINE_SOURCE=schedule", "DSOPS_TEMPLATE_UPGRADE=1"),
    ):
        jobs = listed_jobs(repo, *variables)
        assert "train" not in jobs and "package" not in jobs, (variables, sorted(jobs))
        # GitLab refuses to create a pipeline whose job needs one that is not in it.
        for name, job in jobs.items():
            for need in job.get("needs") or []:
                assert need["job"] in jobs or need["optional"], (variables, name, need)
    preview = yaml.safe_load(gcl(repo, "--preview").stdout)
    train = preview["train"]
    script = "\n".join(train["before_script"] + train["script"])
    # The token first; the gate before anything is pushed; the branch last.
    order = ["RETRAIN_TOKEN", "cli repro", "dvc push", "git add dvc.lock", "git push"]
    if "--no-example" not in options:
        order.insert(2, "promote --check --report reports/promotion.md")
    else:
        assert "promote" not in script  # no model, no promote command
    at = [script.index(step) for step in order]
    assert at == sorted(at), list(zip(order, at))
    assert "merge_request.create" in script and "merge_request.target=$CI_DEFAULT_BRANCH" in script


def _train_job(repo: Path) -> dict[str, Any]:
    workflow = yaml.safe_load((repo / ".github/workflows/train-deliver.yml").read_text())
    job: dict[str, Any] = workflow["jobs"]["train"]
    return job


@pytest.mark.parametrize(
    "options", [("--ci", "github"), ("--ci", "both", "--no-example")], ids=["github", "noex"]
)
def test_the_github_training_job_proposes_a_pull_request_after_the_gate(
    generate: Callable[..., Path], options: tuple[str, ...]
) -> None:
    repo = generate(*options)
    need_tool("shellcheck")
    done = run([need_tool("actionlint"), "-no-color"], cwd=repo, check=False)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    job = _train_job(repo)
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert job["if"] == "${{ !startsWith(github.ref_name, 'retrain/') }}"
    steps = job["steps"]
    runs = [str(step.get("run", "")) for step in steps]
    gate = [i for i, r in enumerate(runs) if "promote --check --report reports/promotion.md" in r]
    push = runs.index("dvc push")
    [propose] = [i for i, r in enumerate(runs) if "gh pr create" in r]
    if "--no-example" in options:
        assert gate == []
    else:
        assert gate and gate[0] < push
    assert push < propose
    script = runs[propose]
    assert "git add dvc.lock reports/experiments.csv" in script
    assert 'branch="retrain/$GITHUB_RUN_ID"' in script and "--body-file" in script
    assert "gh pr edit" in script  # a re-run updates its pull request
    assert steps[propose]["env"]["GH_TOKEN"] == "${{ secrets.RETRAIN_TOKEN || github.token }}"
    assert "git -c user.name=" in script  # the commit's identity, set by the job
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload"))
    assert upload["if"] == "${{ !cancelled() }}"  # the report also when the gate fails


LOOP = ["data", "check", "train", "register", "promote", "serve", "monitor", "retrain"]


@pytest.mark.parametrize(
    "options",
    [{}, {"ci": "gitlab"}, {"ci": "github", "example": False}, {"ci": "none"}],
    ids=["both", "gitlab", "github-noexample", "none"],
)
def test_the_generated_docs_draw_the_loop_and_name_real_stages_and_jobs(
    options: dict[str, Any],
) -> None:
    tree = render(build("demo", **options))
    loop = tree["docs/loop.md"]
    assert "loop.md" in yaml.safe_load(tree["mkdocs.yml"])["nav"][4].values()
    assert "(loop.md)" in tree["docs/index.md"]
    # The diagram: a Mermaid flowchart whose arrows go round the loop in order.
    [chart] = re.findall(r"```mermaid\n(.*?)```", loop, re.S)
    edges = re.findall(r"^\s*(\w+)\[?.*?-->(?:\|[^|]*\|)?\s*(\w+)", chart, re.M)
    assert edges == list(zip(LOOP, LOOP[1:] + LOOP[:1])), edges
    assert all(f'{step}["{step}<br>' in chart for step in LOOP[:-1] + ["retrain"])
    # One table row per step: (step, its last cell: where it happens or what it needs).
    cells = [line.strip("| ").split(" | ") for line in loop.splitlines() if line.startswith("| ")]
    rows = [(row[0], row[-1]) for row in cells[1:]]
    assert [step for step, _ in rows] == LOOP, rows
    if options.get("example", True):
        # Every stage a row names is one of dvc.yaml's; every CI job, one of the CI files'.
        stages = set(yaml.safe_load(tree["dvc.yaml"])["stages"])
        named = {
            name
            for _, where in rows
            for words in re.findall(r"stages? ((?:`\w+`(?:, )?)+)", where)
            for name in re.findall(r"`(\w+)`", words)
        }
        assert {"get_data", "check_data", "train", "log", "drift"} <= named
        assert named <= stages, named - stages
    ci = options.get("ci", "both")
    retrain = dict(rows)["retrain"]
    if not options.get("example", True):
        assert "CI training job" in retrain
    elif ci in ("gitlab", "both"):
        assert "GitLab job `train`" in retrain and "train" in yaml.safe_load(tree[".gitlab-ci.yml"])
    if ci in ("github", "both") and options.get("example", True):
        workflow = yaml.safe_load(tree[".github/workflows/train-deliver.yml"])
        assert "GitHub job `train`" in retrain and "train" in workflow["jobs"]
    if ci == "none":
        assert "job" not in retrain and "ci-cd.md#" not in loop
    else:
        assert "[CI/CD](ci-cd.md#continuous-training-that-lands)" in loop
        assert "## Continuous training that lands" in tree["docs/ci-cd.md"]
        assert "RETRAIN_TOKEN" in tree["docs/ci-cd.md"]
