"""`dsops fleet` on a fleet of real repositories in varied states, with local bare
remotes: each outcome, the table, the JSON and Markdown reports, the pushed branches,
idempotence, and that no repository's working tree, index or checked-out branch
changed (every file's bytes, the index with its stages, HEAD, the branch, git status).

The repositories are copies (``cp -a``) of one repository per state, made once from
the upgrade tests' 0.0.9 template (tests/test_upgrade_fixtures.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import test_upgrade_fixtures as fx
import yaml
from conftest import BIN
from suite_tools import runner_home
from test_upgrade_fixtures import OldTemplate, commit_all, git, make_old_repo, state

from pyscaffoldext.dsproject_ops.answers import build
from pyscaffoldext.dsproject_ops.errors import DsopsError
from pyscaffoldext.dsproject_ops.fleet import report
from pyscaffoldext.dsproject_ops.fleet.outcome import Result
from pyscaffoldext.dsproject_ops.fleet.targets import read_list, resolve
from pyscaffoldext.dsproject_ops.render import render, template_version
from pyscaffoldext.dsproject_ops.writer import write_project

NEW = template_version()
BRANCH = f"dsops/upgrade-{NEW}"
old_template = fx.old_template

# state -> (copies, expected outcome): the 50 repositories, one more below by
# git URL. Each is a copy of one repository per state (made once), with a copy of one
# bare remote per state: no git command runs per copy.
FLEET = {
    "clean": (9, "upgraded"),
    "merges": (8, "upgraded"),
    "conflicts": (8, "conflicts"),
    "dirty": (6, "refused"),
    "midmerge": (6, "refused"),
    "foreign": (6, "upgraded"),
    "current": (7, "up to date"),
}
assert sum(count for count, _ in FLEET.values()) == 50


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _originals(old: OldTemplate, top: Path) -> dict[str, Path]:
    """One repository per state, committed."""
    made = {}
    clean = make_old_repo(old, top / "clean" / "demo")
    made["clean"] = clean
    merges = make_old_repo(old, top / "merges" / "demo")
    _append(merges / "src/demo/cli.py", "# my trailing comment\n")
    commit_all(merges, "my edit")
    made["merges"] = merges
    conflicts = make_old_repo(old, top / "conflicts" / "demo")
    _replace(conflicts / "docs/index.md", "Old paragraph.", "My paragraph.")
    commit_all(conflicts, "my edit")
    made["conflicts"] = conflicts
    dirty = make_old_repo(old, top / "dirty" / "demo")
    _append(dirty / "README.md", "Uncommitted work.\n")
    made["dirty"] = dirty
    mid = make_old_repo(old, top / "midmerge" / "demo")
    git(mid, "checkout", "-q", "-b", "side")
    _append(mid / "README.md", "side\n")
    commit_all(mid, "side")
    git(mid, "checkout", "-q", "-")
    _append(mid / "README.md", "main\n")
    commit_all(mid, "main")
    git(mid, "-c", "user.name=U", "-c", "user.email=u@x", "merge", "side", check=False)
    assert (mid / ".git" / "MERGE_HEAD").exists()
    made["midmerge"] = mid
    foreign = top / "foreign" / "tool"
    (foreign / "tool").mkdir(parents=True)
    (foreign / "README.md").write_text("# A hand-made tool\n", encoding="utf-8")
    (foreign / ".gitignore").write_text("*.pyc\n/build/\n", encoding="utf-8")
    (foreign / "tool" / "__init__.py").write_text("VALUE = 1\n", encoding="utf-8")
    git(foreign, "init", "-q", "-b", "main")
    commit_all(foreign, "a hand-made repository")
    made["foreign"] = foreign
    answers = build("demo", author="Ann", email="ann@example.com")
    made["current"] = write_project(top / "current" / "demo", render(answers), answers)
    return made


def _bare(remotes: Path, name: str) -> Path:
    remote = remotes / f"{name}.git"
    git(remotes, "init", "-q", "--bare", str(remote))
    return remote


def _copy(source: Path, target: Path) -> None:
    # cp -a: modes, times and links as they are (git's index sees the files unchanged)
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)


def _add_origin(repo: Path, remote: Path, head: str) -> None:
    """What ``git remote add origin REMOTE`` and a push of HEAD to its main leave in
    the repository's .git, written directly (the remote's copy already holds main)."""
    with open(repo / ".git" / "config", "a", encoding="utf-8") as fh:
        fh.write(
            f'[remote "origin"]\n\turl = {remote}\n'
            "\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
        )
    tracking = repo / ".git" / "refs" / "remotes" / "origin" / "main"
    tracking.parent.mkdir(parents=True, exist_ok=True)
    tracking.write_text(head + "\n", encoding="ascii")


@pytest.fixture(scope="module")
def fleet(old_template: OldTemplate, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    top = tmp_path_factory.mktemp("fleet")
    originals = _originals(old_template, top / "originals")
    repos, remotes, seeds = top / "repos", top / "remotes", top / "seeds"
    for folder in (repos, remotes, seeds):
        folder.mkdir()
    expected: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for kind, (count, outcome) in FLEET.items():
        # One bare remote per state holding the repository's HEAD as main, then copies.
        seed = _bare(seeds, kind)
        git(originals[kind], "push", "-q", str(seed), "HEAD:refs/heads/main")
        head = git(originals[kind], "rev-parse", "HEAD").strip()
        for i in range(count):
            name = f"{kind}-{i:02d}"
            _copy(originals[kind], repos / name)
            _copy(seed, remotes / f"{name}.git")
            _add_origin(repos / name, remotes / f"{name}.git", head)
            expected[name], kinds[name] = outcome, kind
    assert (
        git(repos / "clean-00", "ls-remote", "origin", "main").split()[0]
        == git(repos / "clean-00", "rev-parse", "origin/main").strip()
    )
    # A repository known only by its URL: cloned into --clones, then upgraded.
    url_remote = _bare(remotes, "by-url")
    git(originals["clean"], "push", "-q", str(url_remote), "HEAD:refs/heads/main")
    git(url_remote, "symbolic-ref", "HEAD", "refs/heads/main")
    expected["by-url"], kinds["by-url"] = "upgraded", "clean"
    listing = top / "fleet.txt"
    listing.write_text(
        "# the platform team's repositories\n\n"
        + "\n".join(str(repos / n) for n in sorted(expected) if n.startswith(("clean", "merges")))
        + f"\nfile://{url_remote}\n",
        encoding="utf-8",
    )
    return {
        "top": top,
        "repos": repos,
        "remotes": remotes,
        "listing": listing,
        "expected": expected,
        "kinds": kinds,
        "old": old_template,
        "originals": originals,
    }


def _dsops_fleet(f: dict[str, Any], *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "dsops"),
            "fleet",
            "--from",
            str(f["listing"]),
            "--clones",
            str(f["top"] / "clones"),
            "-j",
            "2",
            # the rest by glob (the listed ones are taken once)
            str(f["repos"] / "*"),
            *args,
        ],
        cwd=f["top"],
        capture_output=True,
        text=True,
        env=f["old"].env(**env),
        timeout=1800,
    )


def _snapshot(repo: Path) -> dict[str, Any]:
    found = state(repo)
    found["branch"] = git(repo, "symbolic-ref", "-q", "HEAD", check=False)
    found["merge_head"] = (repo / ".git" / "MERGE_HEAD").exists()
    found["worktrees"] = git(repo, "worktree", "list", "--porcelain").count("worktree ")
    return found


def _remote_branches(remote: Path) -> list[str]:
    out = git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/dsops/")
    return out.split()


def _name(entry: dict[str, Any]) -> str:
    name: str = entry["name"]  # a folder's name; a URL's clone folder ("by-url")
    return name


def test_fleet_check_then_upgrade_then_again(fleet: dict[str, Any]) -> None:
    f = fleet
    expected: dict[str, str] = f["expected"]
    repos: Path = f["repos"]
    local = sorted(n for n in expected if n != "by-url")
    before = {n: _snapshot(repos / n) for n in local}

    # 1. Pre-screen: the dry run's predictions, nothing written anywhere.
    check = _dsops_fleet(f, "--check", "--report-json", str(f["top"] / "check.json"))
    assert check.returncode == 3, check.stdout + check.stderr  # some refused
    predicted = {
        _name(e): e for e in json.loads((f["top"] / "check.json").read_text())["repositories"]
    }
    assert set(predicted) == set(expected)
    would = {"upgraded": "would upgrade", "conflicts": "would conflict"}
    assert {n: e["status"] for n, e in predicted.items()} == {
        n: would.get(o, o) for n, o in expected.items()
    }
    for n, e in predicted.items():
        if expected[n] == "conflicts":
            assert e["conflicts"] == ["docs/index.md"]
    assert {n: _snapshot(repos / n) for n in local} == before
    for n in local:
        assert not git(repos / n, "for-each-ref", "refs/heads/dsops/")
        assert not _remote_branches(f["remotes"] / f"{n}.git")

    # 2. The upgrade, pushed.
    md, js = f["top"] / "fleet.md", f["top"] / "fleet.json"
    done = _dsops_fleet(f, "--push", "--report-md", str(md), "--report-json", str(js))
    assert done.returncode == 3, done.stdout + done.stderr
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["template_version"] == NEW and data["branch"] == BRANCH
    results = {_name(e): e for e in data["repositories"]}
    assert {n: e["status"] for n, e in results.items()} == expected
    counts = {s: list(expected.values()).count(s) for s in set(expected.values())}
    assert {k: v for k, v in data["counts"].items() if v} == counts
    # progress: one line per repository on stderr
    assert len([x for x in done.stderr.splitlines() if x.startswith("[")]) == len(expected)
    # the table: a row per repository, and the summary
    table = done.stdout
    for n in local:
        assert n in table
    assert f"{len(expected)} repositories: " in table
    assert (
        f"{counts['refused']} refused" in table
        and f"{counts['conflicts']} upgraded with conf" in table
    )
    assert "| repository | outcome | from | detail |" in md.read_text(encoding="utf-8")

    for n, e in results.items():
        kind = f["kinds"][n]
        remote = f["remotes"] / f"{n}.git"
        if e["status"] in ("upgraded", "conflicts"):
            assert e["pushed"] and e["branch"] == BRANCH and e["branch_state"] == "created"
            assert _remote_branches(remote) == [BRANCH]
            tip = git(remote, "rev-parse", BRANCH).strip()
            assert tip == e["commit"]
            cfg = git(remote, "show", f"{BRANCH}:setup.cfg")
            assert f"dsproject_ops_template = {NEW}" in cfg
            assert "Dsops-Fleet: " in git(remote, "log", "-1", "--format=%B", BRANCH)
            # the branch starts at the repository's commit
            assert (
                git(remote, "rev-parse", f"{BRANCH}^").strip()
                == git(remote, "rev-parse", "main").strip()
            )
        else:
            assert not e["pushed"] and not e["branch"]
            assert not _remote_branches(remote)
        if kind == "conflicts":
            assert e["conflicts"] == ["docs/index.md"]
            text = git(remote, "show", f"{BRANCH}:docs/index.md")
            assert "<<<<<<< yours\n" in text and "My paragraph." in text
            assert "- docs/index.md" in git(remote, "log", "-1", "--format=%B", BRANCH)
            assert "docs/index.md" in table
        if kind == "merges":
            assert "# my trailing comment" in git(remote, "show", f"{BRANCH}:src/demo/cli.py")
        if kind == "foreign":
            assert e["from_version"] is None
            assert git(remote, "show", f"{BRANCH}:README.md") == "# A hand-made tool\n"
        if kind == "dirty":
            assert "uncommitted changes" in e["reason"]
        if kind == "midmerge":
            assert "middle of a merge" in e["reason"]
    # The fleet's branch holds what a lone `dsops upgrade` gives (every file, markers
    # included): the warm, forked process changes the speed, never the result.
    for kind in ("clean", "merges", "conflicts", "foreign"):
        name = f"{kind}-00"  # the same folder name: an adopted project is named after it
        alone = f["top"] / "alone" / name
        alone.parent.mkdir(exist_ok=True)
        _copy(f["originals"][kind], alone)
        lone = subprocess.run(
            [str(BIN / "dsops"), "upgrade", str(alone)],
            capture_output=True,
            text=True,
            env=f["old"].env(),
            timeout=600,
        )
        assert lone.returncode == (1 if kind == "conflicts" else 0), lone.stdout + lone.stderr
        git(alone, "add", "-u", "--", ".")
        assert git(alone, "write-tree") == git(repos / name, "rev-parse", f"{BRANCH}^{{tree}}")
    # Nobody's checkout changed: files, index (stages too), HEAD, branch, status.
    assert {n: _snapshot(repos / n) for n in local} == before
    for n in local:
        branches = git(repos / n, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
        assert (BRANCH in branches.split()) == (expected[n] in ("upgraded", "conflicts"))

    # 3. Again: every branch is found unchanged; still one branch per remote.
    again = _dsops_fleet(f, "--push", "--report-json", str(js))
    assert again.returncode == 3, again.stdout + again.stderr
    second = {_name(e): e for e in json.loads(js.read_text(encoding="utf-8"))["repositories"]}
    assert {n: e["status"] for n, e in second.items()} == expected
    for n, e in second.items():
        remote = f["remotes"] / f"{n}.git"
        if e["branch"]:
            assert e["branch_state"] == "unchanged" and e["commit"] == results[n]["commit"]
            assert _remote_branches(remote) == [BRANCH]
    assert {n: _snapshot(repos / n) for n in local} == before


def test_a_crashing_upgrade_is_a_failed_row(old_template: OldTemplate, tmp_path: Path) -> None:
    repo = make_old_repo(old_template, tmp_path / "demo")
    plain = tmp_path / "plain"
    plain.mkdir()
    before = _snapshot(repo)
    scratch = tmp_path / "tmp"  # where the fleet makes its temporary worktrees
    scratch.mkdir()
    done = subprocess.run(
        [str(BIN / "dsops"), "fleet", str(repo), str(plain)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        # the upgrade's process SIGKILLs itself once its journal is written
        env=old_template.env(DSOPS_UPGRADE_KILL_AT="journal", TMPDIR=str(scratch)),
        timeout=600,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "failed" in done.stdout and "process was killed (SIGKILL)" in done.stdout
    assert "not a git repository" in done.stdout
    # the parent removed the dead child's worktree, and git's note of it
    assert _snapshot(repo) == before
    assert not any(scratch.iterdir())
    assert not git(repo, "for-each-ref", "refs/heads/dsops/")


def test_a_repository_past_its_timeout_is_a_failed_row_and_its_commands_end(
    old_template: OldTemplate, tmp_path: Path
) -> None:
    """A push whose remote hangs (a pre-receive hook sleeping for minutes): the
    repository is one failed row at --timeout, and the git commands its process
    started (the push, the remote's hook) are ended with it."""
    repo = make_old_repo(old_template, tmp_path / "demo")
    remote = _bare(tmp_path, "remote")
    pids = tmp_path / "hook.pid"
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho $$ > {pids}\nexec sleep 300\n", encoding="utf-8")
    hook.chmod(0o755)
    git(repo, "remote", "add", "origin", str(remote))
    before = _snapshot(repo)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run(
        [str(BIN / "dsops"), "fleet", str(repo), "--push", "--timeout", "20"],
        capture_output=True,
        text=True,
        env=old_template.env(TMPDIR=str(scratch)),
        timeout=600,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "failed" in done.stdout and "timed out after 20 s" in done.stdout
    assert _snapshot(repo) == before and not any(scratch.iterdir())
    if pids.exists():  # the push had begun (else the upgrade itself took 20 s)
        pid = int(pids.read_text())
        for _ in range(50):  # the kernel reaps it a moment later
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)
        assert not Path(f"/proc/{pid}").exists(), "the remote's hook outlived the timeout"
    assert not _remote_branches(remote)


def test_a_branch_with_a_persons_commit_is_never_overwritten(
    old_template: OldTemplate, tmp_path: Path
) -> None:
    repo = make_old_repo(old_template, tmp_path / "demo")
    env = old_template.env()
    cmd = [str(BIN / "dsops"), "fleet", str(repo)]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    # someone resolves something on the upgrade branch
    git(repo, "checkout", "-q", BRANCH)
    _append(repo / "README.md", "Reviewed.\n")
    commit_all(repo, "review")
    git(repo, "checkout", "-q", "-")
    tip = git(repo, "rev-parse", BRANCH)
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 3
    assert "commit(s) dsops fleet did not make" in again.stdout
    assert git(repo, "rev-parse", BRANCH) == tip


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    for args, message in (
        ([], "no repositories"),
        ([str(tmp_path / "nope-*")], "matches no folder"),
        ([str(tmp_path / "missing")], "no such folder"),
        ([str(tmp_path), "-j", "0"], "at least 1"),
        ([str(tmp_path), "--to", "9.9.9"], "unknown template version"),
        ([str(tmp_path), "--branch", "bad..name"], "not a valid branch name"),
        ([str(tmp_path), "--merge-request"], "needs --push"),
    ):
        done = subprocess.run(
            [str(BIN / "dsops"), "fleet", *args], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_targets_from_a_list(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    listing = tmp_path / "list.txt"
    listing.write_text(
        "# comment\n\na\n  b  \n*\nhttps://git.example.com/team/model.git\n"
        "git@git.example.com:team/other.git\n",
        encoding="utf-8",
    )
    targets = resolve(read_list(listing), tmp_path / "clones", base=tmp_path)
    assert [t.name for t in targets] == ["a", "b", "c", "model", "other"]  # each once
    assert targets[3].url and targets[3].path == tmp_path / "clones" / "model"
    with pytest.raises(DsopsError, match="same folder"):
        resolve(["https://x/one/model.git", "https://x/two/model"], tmp_path)


def test_report_escapes_markdown_cells() -> None:
    r = Result("a|b", "/x", "refused", reason="line one\nwith | pipe")
    text = report.markdown([r], NEW, check=False)
    assert "a\\|b" in text and "line one with \\| pipe" in text
    assert json.loads(report.as_json([r], NEW, False, BRANCH))["counts"]["refused"] == 1


def test_merge_request_push_options_reach_the_remote(
    old_template: OldTemplate, tmp_path: Path
) -> None:
    """GitLab opens the merge request from push options; a bare remote whose hook
    records them shows what GitLab would receive (one-line values, the conflicts)."""
    repo = make_old_repo(old_template, tmp_path / "demo")
    _replace(repo / "docs/index.md", "Old paragraph.", "My paragraph.")
    commit_all(repo, "my edit")
    remote = _bare(tmp_path, "remote")
    git(remote, "config", "receive.advertisePushOptions", "true")
    seen = tmp_path / "options.txt"
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\ni=0\nwhile [ $i -lt ${GIT_PUSH_OPTION_COUNT:-0} ]; do\n"
        f'  eval "echo \\"\\$GIT_PUSH_OPTION_$i\\"" >> {seen}\n  i=$((i+1))\ndone\n',
        encoding="utf-8",
    )
    hook.chmod(0o755)
    git(repo, "remote", "add", "origin", str(remote))
    js = tmp_path / "fleet.json"
    cmd = [str(BIN / "dsops"), "fleet", str(repo), "--push", "--merge-request"]
    cmd += ["--report-json", str(js)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=old_template.env(), timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr  # conflicts
    # The generated GitHub workflow's pull request description, from this report.
    workflow = yaml.safe_load((repo / ".github/workflows/template-upgrade.yml").read_text())
    program = workflow["jobs"]["propose"]["steps"][-1]["env"]["DESCRIPTION"]
    jq = shutil.which("jq")
    assert jq, "jq not found: apt-get install jq (GitHub's runners have it)"
    body = subprocess.run([jq, "-r", program, str(js)], capture_output=True, text=True).stdout
    assert body.startswith(f"Template upgrade {fx.OLD} -> {NEW} by dsops fleet.")
    assert "resolve them in this branch.\n- docs/index.md\n" in body
    assert "conflict        docs/index.md" in body and body.rstrip().endswith("~~~")
    options = seen.read_text(encoding="utf-8").splitlines()
    assert options[0] == "merge_request.create"
    assert options[1] == f"merge_request.title=Draft: Upgrade to dsproject-ops template {NEW}"
    assert options[2].startswith(f"merge_request.description=Template upgrade {fx.OLD} -> {NEW}")
    assert "resolve them here: docs/index.md." in options[2]
    assert _remote_branches(remote) == [BRANCH]
    # Again: the branch is unchanged, nothing is pushed twice, still one branch.
    seen.unlink()
    again = subprocess.run(cmd, capture_output=True, text=True, env=old_template.env(), timeout=600)
    assert again.returncode == 1 and "(unchanged, pushed)" in again.stdout
    assert not seen.exists() and _remote_branches(remote) == [BRANCH]


def test_the_scheduled_gitlab_job_proposes_the_upgrade_once(
    old_template: OldTemplate, tmp_path: Path
) -> None:
    """The generated `template-upgrade` job, run twice by gitlab-ci-local's shell
    executor as a scheduled pipeline, against a local bare remote: one upgrade branch,
    pushed, holding the upgrade; the second run leaves it as it was."""
    gcl = shutil.which("gitlab-ci-local")
    if gcl is None:
        pytest.fail(
            "gitlab-ci-local not found: `npm install --prefix .ci/node gitlab-ci-local@4.73.0`"
        )
    repo = make_old_repo(old_template, tmp_path / "demo")
    remote = _bare(tmp_path, "origin")
    git(remote, "config", "receive.advertisePushOptions", "true")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "HEAD:refs/heads/main")
    cmd = [
        gcl,
        "--force-shell-executor",
        "--ignore-predefined-vars",
        "CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_DEFAULT_BRANCH",
        "--variable",
        "CI_PIPELINE_SOURCE=schedule",
        "--variable",
        "CI_DEFAULT_BRANCH=main",
        "--variable",
        "DSOPS_TEMPLATE_UPGRADE=1",
        "--variable",
        f"DSOPS_UPGRADE_REMOTE={remote}",
        # dsops is installed here already (the job's own install needs the index)
        "--variable",
        "DSOPS_INSTALL=dsops --version",
        "--variable",
        f"DSOPS_TEMPLATE_HISTORY={old_template.history}",
        "template-upgrade",
    ]
    tips = []
    for _ in range(2):
        done = subprocess.run(
            cmd,
            cwd=repo,
            capture_output=True,
            text=True,
            # no rc file of this user's runs in the job (see runner_home)
            env=old_template.env(HOME=str(runner_home())),
            timeout=900,
        )
        out = done.stdout + done.stderr
        assert done.returncode == 0 and "PASS  template-upgrade" in out, out[-6000:]
        assert _remote_branches(remote) == [BRANCH]
        tips.append(git(remote, "rev-parse", BRANCH))
    assert tips[0] == tips[1]  # the second run found its branch unchanged
    assert "(unchanged, pushed)" in out
    assert f"dsproject_ops_template = {NEW}" in git(remote, "show", f"{BRANCH}:setup.cfg")
    assert git(remote, "rev-parse", f"{BRANCH}^") == git(remote, "rev-parse", "main")
    assert git(repo, "branch", "--show-current").strip() == "main"


def test_where_fork_is_missing_children_are_spawned(
    old_template: OldTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no fork: each repository's process is spawned instead (cold: it
    imports and compiles itself). Same results; the fork path is the rest of this file."""
    from pyscaffoldext.dsproject_ops.fleet import pool
    from pyscaffoldext.dsproject_ops.fleet.targets import Target
    from pyscaffoldext.dsproject_ops.fleet.worker import Options

    repos = [make_old_repo(old_template, tmp_path / name) for name in ("one", "two")]
    monkeypatch.setenv("DSOPS_TEMPLATE_HISTORY", str(old_template.history))
    monkeypatch.setattr(pool, "start_method", lambda: "spawn")
    seen: list[str] = []
    results = pool.run(
        [Target(r.name, r) for r in repos],
        Options(branch=BRANCH),
        2,
        lambda result: seen.append(result.name),
    )
    assert sorted(seen) == ["one", "two"]
    assert {r.name: r.status for r in results} == {"one": "upgraded", "two": "upgraded"}
    for repo in repos:
        assert f"dsproject_ops_template = {NEW}" in git(repo, "show", f"{BRANCH}:setup.cfg")
        assert git(repo, "status", "--porcelain") == ""
