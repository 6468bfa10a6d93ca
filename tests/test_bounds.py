"""Bounded reading (issue 13 #3, #4): hostile files become findings with their real
reason, within 200 MB; symlinks out of the repository are never read; untracked
files that `git add -A` would commit are secret-scanned.

Each hostile repository is checked in a child process that reports its own peak
memory (``VmHWM``), so one runaway parse cannot take the test run down with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from pyscaffoldext.dsproject_ops.onboarding import facts as facts_mod
from pyscaffoldext.dsproject_ops.onboarding.tour import render, sections
from pyscaffoldext.dsproject_ops.repository import MAX_ALIAS_NODES, MAX_DEPTH, MAX_NODES

MAX_RSS_MB = 200
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip([""] + list("abcdefgh"), "abcdefghi")
)

# The child's own peak: VmHWM of its address space. Linux's ru_maxrss is not that: exec
# carries over the peak of the address space it replaces, so a child started from a
# large pytest worker reported the worker's size.
_CHILD = """
import json, resource, sys
from pathlib import Path
from pyscaffoldext.dsproject_ops.validate.runner import validate
result = validate(Path(sys.argv[1]))
def peak_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({
    "findings": [[f.code, f.file, f.message] for f in result.findings],
    "skipped": result.skipped,
    "rss_mb": peak_mb(),
}))
"""


def checked(root: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["rss_mb"] < MAX_RSS_MB, report["rss_mb"]
    crashed = [f for f in report["findings"] if "crashed" in f[2]]
    assert not crashed, crashed
    return report


def messages(report: dict[str, Any], rel: str) -> list[str]:
    return [f"{code}: {message}" for code, file, message in report["findings"] if file == rel]


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.mark.parametrize("rel", [".gitlab-ci.yml", "dvc.yaml", "environment.yml"])
def test_alias_bomb_is_a_finding(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], rel: str
) -> None:
    assert len(BOMB) < 1200  # ~1 KB expanding to 9**9 strings
    repo = copy_repo(generate())
    (repo / rel).write_text(BOMB, encoding="utf-8")
    report = checked(repo)
    assert messages(report, rel) == [
        f"SYN001: YAML not checked: alias expansion exceeds {MAX_ALIAS_NODES} nodes"
    ]
    assert any(rel in why for why in report["skipped"].values())


def test_deep_nesting_is_a_finding(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    (repo / "params.yaml").write_text("x: " + "[" * 990 + "]" * 990 + "\n", encoding="utf-8")
    (repo / "dvc.yaml").write_text("- " * 990 + "1\n", encoding="utf-8")  # block style
    report = checked(repo)
    expected = [f"SYN001: YAML not checked: nesting deeper than {MAX_DEPTH} levels"]
    assert messages(report, "params.yaml") == expected
    assert messages(report, "dvc.yaml") == expected


def test_large_and_non_utf8_files_say_why(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    env = (repo / "environment.yml").read_text(encoding="utf-8")
    padding = "# " + "x" * 98 + "\n"
    (repo / "environment.yml").write_text(env + padding * 21_000, encoding="utf-8")
    (repo / "params.yaml").write_bytes("train:\n  note: caf\xe9\n".encode("latin-1"))
    report = checked(repo)
    size = (repo / "environment.yml").stat().st_size // 1024  # the template's own part varies
    assert messages(report, "environment.yml") == [
        "SYN001: YAML not checked: too large to check (2.1 MB > 1 MB limit)",
        f"GIT002: environment.yml is {size} KB (limit 500 KB): version it with DVC",
    ]
    assert messages(report, "params.yaml") == [
        "SYN001: YAML not checked: not UTF-8 (byte 0xe9 on line 2)"
    ]
    everything = json.dumps(report["findings"])
    assert "missing or empty" not in everything


def test_one_megabyte_of_yaml_stays_within_budget(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    (repo / "conf").mkdir()
    # the densest YAML there is: ~490,000 nodes in 1 MB, refused while streaming
    (repo / "conf" / "dense.yml").write_text("[" + "v," * 490_000 + "v]\n", encoding="utf-8")
    # just under the node limit: parsed, every key's position taken
    (repo / "conf" / "big.yml").write_text(
        "".join(f"key{i}: [a, b, c]\n" for i in range(MAX_NODES // 5 - 10)), encoding="utf-8"
    )
    git(repo, "add", "conf")
    report = checked(repo)  # the RSS bound is asserted there
    assert messages(report, "conf/dense.yml") == [
        f"SYN001: YAML not checked: more than {MAX_NODES} YAML nodes, too many to check",
        "GIT002: conf/dense.yml is 957 KB (limit 500 KB): version it with DVC",
    ]
    assert [m for m in messages(report, "conf/big.yml") if m.startswith("SYN")] == []


def test_symlink_out_of_the_repository_is_never_read(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "vault.yml"
    secret.write_text(
        "url: https://admin:S3cretPassw0rd@db.example.com\npassword: S3cretPassw0rd\n",
        encoding="utf-8",
    )
    repo = copy_repo(generate())
    (repo / "params.yaml").unlink()
    os.symlink(secret, repo / "params.yaml")
    os.symlink(outside, repo / "vault")
    git(repo, "add", "-A")
    report = checked(repo)
    everything = json.dumps(report["findings"])
    assert "SEC00" not in everything, everything  # the target was never scanned
    [finding] = messages(report, "params.yaml")
    assert finding.startswith("SYN001: YAML not checked: a symlink to outside the repository")
    facts = facts_mod.read(repo, environ={})
    assert facts.params == ()
    assert any(
        p.path == "params.yaml" and "outside the repository" in p.message for p in facts.problems
    )
    assert "S3cret" not in render(sections(facts))


def test_untracked_not_ignored_files_are_secret_scanned(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    (repo / "deploy.cfg").write_text(
        "[db]\nurl = postgresql://app:Hunter2Hunter2@db.internal/app\n", encoding="utf-8"
    )
    # git-ignored: never committed by `git add -A`, so not a finding
    (repo / ".dvc" / "config.local").write_text(
        "['remote \"s\"']\n    password = Hunter2Hunter2\n", encoding="utf-8"
    )
    report = checked(repo)
    found = messages(report, "deploy.cfg")
    assert found and all("untracked" in m for m in found), found
    assert any(m.startswith("SEC001") for m in found)
    assert not messages(report, ".dvc/config.local")


def test_tour_and_doctor_facts_name_a_non_utf8_setup_cfg(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_bytes("[metadata]\nname = caf\xe9\n".encode("latin-1"))
    facts = facts_mod.read(tmp_path, environ={})
    assert [(p.path, p.message) for p in facts.problems] == [
        ("setup.cfg", "not UTF-8 (byte 0xe9 on line 2)")
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pyscaffoldext.dsproject_ops.cli", "doctor"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
