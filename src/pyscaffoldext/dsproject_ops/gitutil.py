"""The few git calls we make, with an identity that works on an unconfigured machine."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Sequence

from .errors import DsopsError

FALLBACK_NAME = "dsproject-ops"
FALLBACK_EMAIL = "dsproject-ops@localhost"


def git(
    repo: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise DsopsError(
            f"git {args[0]} failed in {repo}: {said[-1] if said else f'exit {done.returncode}'}"
        )
    return done


def identity_env(name: str, email: str) -> dict[str, str]:
    """The environment for a commit: the user's git identity when set, else the
    project's author (so ``putup`` works where git knows no ``user.name``)."""
    env = dict(os.environ)
    name = " ".join(name.split()) or FALLBACK_NAME
    email = "".join(email.split()) or FALLBACK_EMAIL
    for role in ("AUTHOR", "COMMITTER"):
        env.setdefault(f"GIT_{role}_NAME", name)
        env.setdefault(f"GIT_{role}_EMAIL", email)
    return env


def init_and_commit(repo: Path, paths: Sequence[str], message: str, name: str, email: str) -> None:
    """``git init`` (if needed), add ``paths``, one commit; no hooks, no signing."""
    if not (repo / ".git").exists():
        branch = git(repo, "config", "--get", "init.defaultBranch", check=False).stdout.strip()
        git(repo, "init", "-q", "-b", branch or "main")
    git(repo, "add", "-f", "--", *paths)
    if git(repo, "diff", "--cached", "--quiet", check=False).returncode == 0:
        return  # `--force` over an identical tree: nothing new to commit
    commit(repo, message, name, email)


def commit(repo: Path, message: str, name: str, email: str, paths: Sequence[str] = ()) -> None:
    git(
        repo,
        "-c",
        "commit.gpgsign=false",
        "commit",
        "-q",
        "--no-verify",
        "-m",
        message,
        *(["--", *paths] if paths else []),
        env=identity_env(name, email),
    )


def is_configured() -> bool:
    """Does git know who the user is (environment or config)?"""
    if os.environ.get("GIT_AUTHOR_NAME") and os.environ.get("GIT_AUTHOR_EMAIL"):
        return True
    for key in ("user.name", "user.email"):
        done = subprocess.run(["git", "config", "--get", key], capture_output=True, text=True)
        if done.returncode != 0 or not done.stdout.strip():
            return False
    return True
