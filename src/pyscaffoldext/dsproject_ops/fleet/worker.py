"""One repository of a fleet: the only module of ``dsops fleet`` that runs git and
the upgrade.

The upgrade never runs in the user's checkout. It runs in a temporary ``git worktree``
of the last commit (detached), exactly as ``dsops upgrade`` runs (its ``main``, its
output captured), in a process of its own that :mod:`.pool` started for this one
repository (a crash there is one "failed" row); the result is committed there and the
upgrade branch is moved to that commit with a compare-and-swap (``git update-ref NEW
OLD``). The checked-out branch, the index and the working tree of the repository are
never touched; its ``.git`` gains the branch (and loses the worktree's bookkeeping
again at the end).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import DsopsError
from ..upgrade import preflight
from ..upgrade.plan import CLASSES, CONFLICT, KEPT, UNCHANGED
from .outcome import (
    CONFLICTS,
    FAILED,
    REFUSED,
    UP_TO_DATE,
    UPGRADED,
    WOULD_CONFLICT,
    WOULD_UPGRADE,
    Result,
)
from .targets import Target

# The trailer that marks a commit as the fleet's own: a branch holding any other
# commit has a person's work on it and is never overwritten.
TRAILER = "Dsops-Fleet"
FALLBACK_IDENTITY = ("dsops fleet", "dsops-fleet@localhost")
MAX_REPORT = 60_000  # characters of the upgrade's report kept per repository
_HEADER = re.compile(r"^upgrading .* from template (\S+) to (\S+)$|^adopting .* template (\S+) ")
# "deleted by you" writes nothing either
_QUIET = {UNCHANGED, KEPT, "deleted by you"}
_OBJECT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256


class Refused(Exception):
    """The repository is in a state the fleet leaves alone (one line why)."""


@dataclass(frozen=True)
class Options:
    branch: str  # e.g. dsops/upgrade-0.2.0
    to: str | None = None  # --to VERSION for `dsops upgrade`
    check: bool = False  # pre-screen: dry run only
    push: bool = False
    allow_dirty: bool = False
    merge_request: bool = False  # GitLab push options: open (or update) a merge request
    remote: str = "origin"
    timeout: float = 600.0


def process(target: Target, opts: Options, scratch: Path | None = None) -> Result:
    """Upgrade one repository, its temporary worktree made in the empty folder
    ``scratch`` (removed at the end); never raises (a surprise is a "failed" row).
    Runs the upgrade in this process: call it in a process of its own (:mod:`.pool`)."""
    start = time.monotonic()
    result = Result(target.name, str(target.url or target.path), FAILED)
    scratch = scratch or Path(tempfile.mkdtemp(prefix="dsops-fleet-"))
    try:
        _process(target, opts, result, scratch)
    except Refused as exc:
        result.status, result.reason = REFUSED, str(exc)
    except subprocess.TimeoutExpired as exc:
        result.status, result.reason = FAILED, f"timed out after {exc.timeout:.0f} s"
    except Exception as exc:  # noqa: BLE001 - one repository must not stop the fleet
        text = str(exc).strip().splitlines()
        result.status = FAILED
        result.reason = f"{type(exc).__name__}: {text[-1] if text else ''}".strip(": ")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.seconds = round(time.monotonic() - start, 2)
    return result


def git(
    cwd: Path, *args: str, check: bool = True, timeout: float = 300, input: str | None = None
) -> str:
    # No hooks: a repository's post-checkout or pre-commit hook is not ours to run.
    done = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_git_env(),
        input=input,
    )
    if check and done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise DsopsError(f"git {args[0]}: {lines[-1] if lines else f'exit {done.returncode}'}")
    return done.stdout


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"  # a fleet run never waits for a password
    env["LC_ALL"] = "C"
    # `git status` in the user's checkout must not rewrite its index (a refresh is
    # an "optional" write; a user's git running meanwhile would find it locked).
    env["GIT_OPTIONAL_LOCKS"] = "0"
    return env


def _process(target: Target, opts: Options, result: Result, scratch: Path) -> None:
    path, base = target.path, "HEAD"
    if target.url:
        _clone_or_fetch(target.url, path, opts.remote)
        base = f"refs/remotes/{opts.remote}/HEAD"
    if not path.is_dir():
        raise Refused("no such folder")
    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel", "--show-prefix", "--absolute-git-dir"],
        cwd=path,
        capture_output=True,
        text=True,
    )
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) != 3:
        raise Refused("not a git repository")
    top, prefix, git_dir = Path(lines[0]), lines[1], Path(lines[2])
    try:
        preflight.check_moment(git_dir)
    except DsopsError as exc:
        raise Refused(str(exc)) from None
    ref = f"refs/heads/{opts.branch}"
    head, head_tree, old = resolve(top, f"{base}^{{commit}}", f"{base}^{{tree}}", ref)
    if not head:
        raise Refused("no commit to start from (an empty repository)")
    if not opts.allow_dirty and not target.url:
        changed = git(top, "status", "--porcelain", "--untracked-files=no").splitlines()
        if changed:
            raise Refused(
                f"uncommitted changes ({len(changed)} files): commit or stash them "
                "(or --allow-dirty: the branch starts from the last commit)"
            )
    remote_sha = ""
    if opts.push:
        remote_sha = _remote_branch(top, opts.remote, opts.branch)
        if remote_sha and remote_sha != old:
            git(top, "fetch", "-q", opts.remote, f"+{ref}:refs/remotes/{opts.remote}/{opts.branch}")
            _only_ours(top, head, remote_sha, f"{opts.remote}/{opts.branch}")
            if not old and not opts.check:  # a fresh clone: start from the pushed branch
                git(top, "update-ref", ref, remote_sha, "0" * 40)
                old = remote_sha
    if old:
        _only_ours(top, head, old, opts.branch)
        if not opts.check:
            _not_checked_out(top, ref, opts.branch)
    tree = scratch / target.name
    try:
        git(top, "worktree", "add", "-q", "--detach", str(tree), head)
        _upgrade_in(tree, top, prefix, (head, head_tree), old, remote_sha, ref, opts, result)
    finally:
        # Removes the folder and git's note of it (so nothing is left to prune).
        git(top, "worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(scratch, ignore_errors=True)


def _upgrade_in(
    tree: Path,
    top: Path,
    prefix: str,
    start: tuple[str, str],  # the commit the branch starts from, and its tree
    old: str,
    remote_sha: str,
    ref: str,
    opts: Options,
    result: Result,
) -> None:
    head, head_tree = start
    project = tree / prefix if prefix else tree
    argv = [str(project)]
    if opts.check:
        argv.append("--dry-run")
    if opts.to:
        argv += ["--to", opts.to]
    code, stdout, stderr = upgrade(argv)
    result.report = stdout[-MAX_REPORT:]
    _versions(stdout, result)
    if code == 2:
        raise Refused(_last_line(stderr, "dsops upgrade refused").split("error: ", 1)[-1])
    if code not in (0, 1):
        raise DsopsError(f"dsops upgrade exited {code}: {_last_line(stderr, '')}")
    if opts.check:
        found = classes(stdout)
        result.conflicts = sorted(p for p, k in found.items() if k == CONFLICT)
        if code == 1:
            result.status = WOULD_CONFLICT
        elif all(k in _QUIET for k in found.values()):
            result.status = UP_TO_DATE
        else:
            result.status = WOULD_UPGRADE
        return
    unmerged = git(tree, "diff", "--name-only", "--diff-filter=U").splitlines()
    result.conflicts = sorted(set(unmerged))
    # Conflicted files go in with their markers: a person resolves them in the MR.
    git(tree, "add", "-u", "--", ".")
    new_tree = git(tree, "write-tree").strip()
    if new_tree == head_tree:
        result.status = UP_TO_DATE
        return
    result.status = CONFLICTS if result.conflicts else UPGRADED
    result.branch = opts.branch
    if old and _same_upgrade(top, old, head, new_tree):
        result.commit, result.branch_state = old, "unchanged"
    else:
        new = _commit(top, new_tree, head, _message(result, opts))
        # Compare-and-swap: if the branch moved since we looked, nothing is overwritten.
        git(top, "update-ref", "-m", "dsops fleet", ref, new, old or "0" * 40)
        result.commit, result.branch_state = new, ("updated" if old else "created")
    if opts.push:
        if result.branch_state == "unchanged" and remote_sha == result.commit:
            result.pushed = True
            return
        options = merge_request_options(result) if opts.merge_request else []
        done = subprocess.run(
            [
                "git",
                "push",
                "-q",
                *options,
                f"--force-with-lease={ref}:{remote_sha}",
                opts.remote,
                f"{ref}:{ref}",
            ],
            cwd=top,
            capture_output=True,
            text=True,
            timeout=opts.timeout,
            env=_git_env(),
        )
        if done.returncode != 0:
            raise DsopsError(
                f"push to {opts.remote} failed ({_last_line(done.stderr, 'no message')}); "
                f"the branch {opts.branch} is updated locally"
            )
        result.pushed = True


def upgrade(argv: list[str]) -> tuple[int, str, str]:
    """``dsops upgrade ARGV`` in this process: its exit code, stdout and stderr."""
    from ..upgrade.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv, "dsops upgrade")
    return code, out.getvalue(), err.getvalue()


def merge_request_options(result: Result) -> list[str]:
    """GitLab's push options that open a merge request for the pushed branch (or
    leave the open one, which the push updates). git allows no newline in a push
    option: the description is one line; the full report is in the commit message."""
    found = classes(result.report)
    counts: dict[str, int] = {}
    for kind in found.values():
        if kind not in _QUIET:
            counts[kind] = counts.get(kind, 0) + 1
    changed = ", ".join(f"{n} {k}" for k, n in counts.items())
    description = (
        f"Template upgrade {result.from_version or '(adopted)'} -> {result.to_version} "
        f"by dsops fleet: {changed or 'no file changes'}."
    )
    if result.conflicts:
        description += (
            f" Conflicts committed with markers, resolve them here: {', '.join(result.conflicts)}."
        )
    title = f"Upgrade to dsproject-ops template {result.to_version}"
    if result.conflicts:
        title = f"Draft: {title}"
    return [
        "-o",
        "merge_request.create",
        "-o",
        f"merge_request.title={title}",
        "-o",
        f"merge_request.description={description}",
        "-o",
        "merge_request.remove_source_branch",
    ]


def classes(output: str) -> dict[str, str]:
    """``{path: class}`` from the upgrade's report lines ``  <class>  <path>...``."""
    found = {}
    for line in output.splitlines():
        if not line.startswith("  "):
            continue
        stripped = line.strip()
        for kind in CLASSES:
            if stripped.startswith(kind + " "):
                found[stripped[len(kind) :].strip().split(" ")[0].rstrip(":")] = kind
                break
    return found


def _versions(output: str, result: Result) -> None:
    for line in output.splitlines():
        match = _HEADER.match(line)
        if match:
            result.from_version = match.group(1)
            result.to_version = match.group(2) or match.group(3) or ""
            return


def _last_line(text: str, default: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else default


def _message(result: Result, opts: Options) -> str:
    to = result.to_version or opts.to or "?"
    subject = f"Upgrade to dsproject-ops template {to}"
    body = [f"From template {result.from_version or '(none: adopted)'} by `dsops fleet`."]
    if result.conflicts:
        body.append("")
        body.append("Conflicts, committed with their markers (resolve them in this branch):")
        body += [f"- {p}" for p in result.conflicts]
    return f"{subject}\n\n" + "\n".join(body) + f"\n\n{TRAILER}: {to}\n"


def _commit(top: Path, tree: str, parent: str, message: str) -> str:
    """A commit of ``tree`` on ``parent`` (no hook runs: commit-tree has none)."""
    identity: list[str] = []
    if not git(top, "config", "user.email", check=False).strip():
        name, email = FALLBACK_IDENTITY
        identity = ["-c", f"user.name={name}", "-c", f"user.email={email}"]
    return git(top, *identity, "commit-tree", tree, "-p", parent, "-F", "-", input=message).strip()


def resolve(top: Path, *names: str) -> list[str]:
    """Each revision's object name, or "" where it names nothing (one git command)."""
    out = git(
        top, "cat-file", "--batch-check=%(objectname)", input="".join(f"{n}\n" for n in names)
    )
    found = out.splitlines()
    if len(found) != len(names):
        raise DsopsError("git cat-file: an unexpected answer")
    return [line if _OBJECT.fullmatch(line) else "" for line in found]


def _remote_branch(top: Path, remote: str, branch: str) -> str:
    if not git(top, "remote", "get-url", remote, check=False).strip():
        raise Refused(f"no remote {remote!r} to push to")
    out = git(top, "ls-remote", remote, f"refs/heads/{branch}", timeout=120)
    return out.split()[0] if out.strip() else ""


def _only_ours(top: Path, head: str, tip: str, name: str) -> None:
    """Refuse to overwrite a branch that holds a commit the fleet did not make."""
    theirs = git(top, "rev-list", "--invert-grep", f"--grep=^{TRAILER}: ", f"{head}..{tip}").split()
    if theirs:
        raise Refused(
            f"{name} holds {len(theirs)} commit(s) dsops fleet did not make (a person's "
            "work): merge or delete that branch first"
        )


def _not_checked_out(top: Path, ref: str, branch: str) -> None:
    listing = git(top, "worktree", "list", "--porcelain")
    if f"branch {ref}\n" in listing + "\n":
        raise Refused(f"{branch} is checked out in a working tree: the fleet never moves it")


def _same_upgrade(top: Path, old: str, head: str, new_tree: str) -> bool:
    """The existing branch already is this upgrade of this commit: one commit on
    ``head`` holding the same files."""
    return resolve(top, f"{old}^", f"{old}^{{tree}}") == [head, new_tree]


def _clone_or_fetch(url: str, path: Path, remote: str) -> None:
    if (path / ".git").exists():
        git(path, "fetch", "-q", "--prune", remote, timeout=600)
        git(path, "remote", "set-head", remote, "--auto", timeout=120)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["git", "clone", "-q", "--no-checkout", "--origin", remote, url, str(path)],
        capture_output=True,
        text=True,
        timeout=900,
        env=_git_env(),
    )
    if done.returncode != 0:
        raise Refused(f"cannot clone {url}: {_last_line(done.stderr, 'git clone failed')}")
