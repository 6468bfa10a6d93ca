"""The one module of the upgrade that touches the repository.

Reads only the paths the template renders (never walks the repository, so 100,000
untracked data files cost nothing), refuses anything it could not undo, and writes
under a journal: ``.git/dsops-upgrade/`` holds the index and a copy of every file it
is about to change, written *before* the first change. ``dsops upgrade --abort``
puts them back, whether the upgrade finished with conflicts or was killed halfway.
Conflicted files are left in git's conflicted state (index stages 1/2/3), exactly as
``git merge`` leaves them, so ``git status``, ``git mergetool`` and editors see them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from ..answers import Answers, with_template_version
from ..errors import DsopsError
from ..render import render
from . import history, policy
from .adopt import infer_answers
from .merge3 import Labels
from .plan import ADDED, CONFLICT, KEPT, REMOVED, UNCHANGED, Change, plan
from .record import recorded_answers, recorded_version

if TYPE_CHECKING:
    from ..repository import Repository

JOURNAL = "dsops-upgrade"
# Test-only fault injection (docs/upgrade.md): SIGKILL ourselves at a named point.
KILL_AT = "DSOPS_UPGRADE_KILL_AT"
ABORT_HINT = "run `dsops upgrade --abort` to restore the repository as it was"


@dataclass(frozen=True)
class Repo:
    top: Path  # the git work tree
    prefix: str  # the project folder inside it ("" or "sub/dir/")
    git_dir: Path

    @property
    def root(self) -> Path:
        return self.top / self.prefix if self.prefix else self.top

    @property
    def journal(self) -> Path:
        return self.git_dir / JOURNAL

    @cached_property
    def model(self) -> Repository:
        """The repository model reads the project's files (bounded, never through a
        symlink out of the repository); only the paths the template renders are read."""
        from ..repository import Repository

        return Repository(self.root)

    def git(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        done = subprocess.run(
            ["git", "--literal-pathspecs", *args], cwd=self.top, input=input, capture_output=True
        )
        if check and done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise DsopsError(f"git {args[0]} failed: {message[-1] if message else done.returncode}")
        return done.stdout


@dataclass
class Outcome:
    changes: list[Change]
    from_version: str | None
    to_version: str
    adopting: bool
    written: bool = False
    validate_code: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.kind == CONFLICT]


def open_repo(path: Path) -> Repo:
    if not path.is_dir():
        raise DsopsError(f"{path} is not a folder")
    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel", "--show-prefix", "--absolute-git-dir"],
        cwd=path,
        capture_output=True,
        text=True,
    )
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) != 3:
        raise DsopsError(
            f"{path} is not a git repository: dsops upgrade merges and undoes with git"
        )
    return Repo(Path(lines[0]), lines[1], Path(lines[2]))


# --- reading ------------------------------------------------------------------------


def _tracked(repo: Repo, paths: Sequence[str]) -> dict[str, tuple[str, str]]:
    """``{path: (mode, blob)}`` for the paths git tracks (stage 0 only)."""
    if not paths:
        return {}
    wanted = {repo.prefix + p: p for p in paths}
    out = repo.git("ls-files", "-s", "-z", "--", *wanted).decode("utf-8", "surrogateescape")
    found = {}
    for entry in filter(None, out.split("\0")):
        meta, name = entry.split("\t", 1)
        mode, blob, stage = meta.split()
        if name in wanted and stage == "0":
            found[wanted[name]] = (mode, blob)
    return found


def _read(repo: Repo, rel: str) -> str | None:
    return repo.model.text(rel)


def _check_state(repo: Repo) -> None:
    _settle_journal(repo)
    unmerged = repo.git("ls-files", "-u", "-z").decode(errors="replace")
    if unmerged:
        first = unmerged.split("\0")[0].split("\t", 1)[-1]
        raise DsopsError(
            f"the repository has unresolved conflicts ({first}): resolve and commit them, "
            "or run `dsops upgrade --abort` if an upgrade made them"
        )
    if not repo.git("rev-parse", "--verify", "-q", "HEAD", check=False):
        raise DsopsError("the repository has no commit yet: commit your files, then upgrade")
    # --untracked-files=no: git never walks untracked folders (data/ may hold millions).
    dirty = repo.git("status", "--porcelain", "-z", "--untracked-files=no").decode(errors="replace")
    if dirty:
        first = dirty.split("\0")[0][3:]
        raise DsopsError(
            f"the working tree has uncommitted changes ({first}): commit or stash them first"
        )


# --- the upgrade --------------------------------------------------------------------


def prepare(path: Path, to: str | None = None) -> tuple[Repo, Outcome, dict[str, tuple[str, str]]]:
    """Everything up to the plan; nothing is written."""
    repo = open_repo(path)
    _check_state(repo)
    setup_cfg = _read(repo, "setup.cfg") if _tracked(repo, ["setup.cfg"]) else None
    from_version = recorded_version(setup_cfg)
    to_version = to or history.current_version()
    to_root = history.template_for(to_version)  # an unknown --to: refused here
    answers: Answers
    if from_version is not None and setup_cfg is not None:
        answers = recorded_answers(setup_cfg)
        base_root: Path | None = history.template_for(from_version)
        base = render(answers, root=base_root)
        labels = Labels("yours", f"template {from_version}", f"template {to_version}")
    else:
        packages = [
            p.split("/")[1] for p in _tracked_glob(repo, "src/*/__init__.py") if p.count("/") == 2
        ]
        answers = infer_answers(repo.root.name, lambda rel: _read_tracked(repo, rel), packages)
        base, base_root = {}, None
        labels = Labels("yours", "nothing (adopted)", f"template {to_version}")
    # Same template, same answers: the same tree (the version only names the commit), so
    # an upgrade with nothing to do renders once.
    same = base_root is not None and base_root == to_root
    theirs = base if same else render(with_template_version(answers, to_version), root=to_root)
    paths = sorted(set(base) | set(theirs))
    tracked = _tracked(repo, paths)
    ours = {p: _read(repo, p) for p in tracked}
    unreadable = {p: repo.model.problem(p) for p in tracked if ours[p] is None}
    # The rules of the versions being rendered, from their own cookiecutter.json.
    rules = policy.combined(
        policy.for_template(base_root) if base_root is not None else None,
        policy.for_template(to_root),
    )
    changes = plan(base, theirs, ours, labels, adopting=from_version is None, policies=rules)
    # A symbolic link or a submodule where the template has a file: never merged; nor
    # a file the model cannot read as text (too large, not UTF-8).
    changes = [
        (
            Change(c.path, KEPT, ours=ours.get(c.path), note="a link or submodule: not merged")
            if tracked.get(c.path, ("",))[0] in ("120000", "160000") and c.kind != UNCHANGED
            else (
                (
                    Change(c.path, KEPT, note=f"not merged: {unreadable[c.path]}")
                    if theirs.get(c.path) != base.get(c.path)
                    else Change(c.path, UNCHANGED)
                )
                if unreadable.get(c.path)
                else c
            )
        )
        for c in changes
    ]
    outcome = Outcome(changes, from_version, to_version, from_version is None)
    for change in changes:
        if change.kind == ADDED:
            _check_free(repo, change.path)
    return repo, outcome, tracked


def _tracked_glob(repo: Repo, pattern: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--", repo.prefix + pattern],
        cwd=repo.top,
        capture_output=True,
    ).stdout.decode("utf-8", "surrogateescape")
    return [p[len(repo.prefix) :] for p in out.split("\0") if p]


def _read_tracked(repo: Repo, rel: str) -> str | None:
    return _read(repo, rel) if _tracked(repo, [rel]) else None


def _check_free(repo: Repo, rel: str) -> None:
    """A new file may not land on an untracked (or ignored) file of the user's."""
    path = repo.root / rel
    for parent in [path, *path.parents]:
        if parent == repo.root:
            break
        if os.path.lexists(parent) and (parent == path or not parent.is_dir()):
            raise DsopsError(
                f"{rel} is new in the template, but an untracked {parent.relative_to(repo.root)} "
                "is in the way: commit, move or delete it, then upgrade again"
            )


def upgrade(path: Path, to: str | None = None, dry_run: bool = False) -> Outcome:
    repo, outcome, tracked = prepare(path, to)
    if dry_run or not any(c.writes for c in outcome.changes):
        return outcome
    _apply(repo, outcome.changes, tracked)
    outcome.written = True
    return outcome


def _checkpoint(name: str) -> None:
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _apply(repo: Repo, changes: list[Change], tracked: dict[str, tuple[str, str]]) -> None:
    writes = [c for c in changes if c.writes]
    blobs = _hash_blobs(repo, writes)
    _write_journal(repo, writes, tracked)
    _checkpoint("journal")
    for n, change in enumerate(writes, 1):
        target = repo.root / change.path
        if change.kind == REMOVED:
            target.unlink()
            _remove_empty_parents(repo, target.parent)
        else:
            assert change.text is not None
            mode = tracked.get(change.path, ("100644", ""))[0]
            _write_file(target, change.text.encode("utf-8", "surrogateescape"), mode)
        _checkpoint(f"file-{n}")
    entries = []
    for change in writes:
        name = (repo.prefix + change.path).encode("utf-8", "surrogateescape")
        mode = tracked.get(change.path, ("100644", ""))[0]
        zero = "0" * 40
        if change.kind == REMOVED:
            entries.append(b"0 " + zero.encode() + b"\t" + name)
        elif change.kind == CONFLICT:
            # Stage 0 out; base (1, absent when both sides added the file), ours (2),
            # theirs (3) in: what `git merge` leaves, so tools see "both modified".
            entries.append(b"0 " + zero.encode() + b"\t" + name)
            if change.base is not None:
                entries.append(f"{mode} {blobs[(change.path, 1)]} 1\t".encode() + name)
            entries.append(f"{mode} {tracked[change.path][1]} 2\t".encode() + name)
            entries.append(f"{mode} {blobs[(change.path, 3)]} 3\t".encode() + name)
        else:
            entries.append(f"{mode} {blobs[(change.path, 0)]}\t".encode() + name)
    _checkpoint("before-index")
    repo.git("update-index", "-z", "--index-info", input=b"".join(e + b"\0" for e in entries))
    _checkpoint("index")
    # Kept for `dsops upgrade --abort` until the user commits the result (or resets it).
    conflicted = any(c.kind == CONFLICT for c in writes)
    _update_journal(repo, state="conflicts" if conflicted else "applied")
    repo.git("update-index", "-q", "--refresh", check=False)


def _hash_blobs(repo: Repo, writes: list[Change]) -> dict[tuple[str, int], str]:
    """Write the blobs the index will name (harmless before the journal: unreferenced)."""
    wanted: list[tuple[tuple[str, int], str]] = []
    for c in writes:
        if c.kind == CONFLICT:
            if c.base is not None:
                wanted.append(((c.path, 1), c.base))
            wanted.append(((c.path, 3), c.theirs or ""))
        elif c.text is not None:
            wanted.append(((c.path, 0), c.text))
    if not wanted:
        return {}
    scratch = repo.git_dir / f"{JOURNAL}.blobs"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        files = []
        for n, (_, text) in enumerate(wanted):
            f = scratch / str(n)
            f.write_bytes(text.encode("utf-8", "surrogateescape"))
            files.append(str(f))
        out = repo.git(
            "hash-object", "-w", "--no-filters", "--stdin-paths", input="\n".join(files).encode()
        ).decode()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {key: sha for (key, _), sha in zip(wanted, out.split())}


def _write_file(target: Path, data: bytes, mode: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(target)
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o755 if mode == "100755" else 0o644)
    os.replace(tmp, target)


def _tmp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.dsops-tmp")


def _remove_empty_parents(repo: Repo, folder: Path) -> None:
    while folder != repo.root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


# --- the journal --------------------------------------------------------------------


def _write_journal(repo: Repo, writes: list[Change], tracked: dict[str, tuple[str, str]]) -> None:
    """Everything --abort needs, in place (by one rename) before the first change."""
    staging = repo.git_dir / f"{JOURNAL}.new"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "files").mkdir(parents=True)
    index = repo.git_dir / "index"
    if index.exists():
        shutil.copy2(index, staging / "index")
    files: dict[str, dict[str, object]] = {}
    created: list[str] = []
    for n, change in enumerate(writes):
        target = repo.root / change.path
        if change.path in tracked:
            shutil.copy2(target, staging / "files" / str(n))
            files[change.path] = {"copy": str(n), "mode": target.stat().st_mode & 0o777}
        else:
            files[change.path] = {"copy": None}
            for parent in reversed(target.parents):
                if len(parent.parts) > len(repo.root.parts) and not parent.exists():
                    created.append(str(parent.relative_to(repo.root)))
    head = repo.git("rev-parse", "HEAD").decode().strip()
    data = {"state": "applying", "head": head, "files": files, "created": sorted(set(created))}
    (staging / "journal.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    _fsync_tree(staging)
    os.rename(staging, repo.journal)


def _fsync_tree(folder: Path) -> None:
    for path in [*folder.rglob("*"), folder]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _update_journal(repo: Repo, **values: str) -> None:
    path = repo.journal / "journal.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(values)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _load_journal(repo: Repo) -> dict[str, object] | None:
    try:
        data: dict[str, object] = json.loads((repo.journal / "journal.json").read_text("utf-8"))
    except FileNotFoundError:
        return None
    return data


def _settle_journal(repo: Repo) -> None:
    """Refuse to start over an interrupted or uncommitted upgrade; forget one whose
    result was committed (HEAD moved) or dropped (nothing staged or changed). A
    refusal never deletes the journal: `--abort` must still work after it."""
    shutil.rmtree(repo.git_dir / f"{JOURNAL}.new", ignore_errors=True)  # never got in place
    journal = _load_journal(repo)
    if journal is None:
        if repo.journal.exists():  # a journal folder without its journal.json: unusable
            shutil.rmtree(repo.journal)
        return
    if journal.get("state") == "applying":
        raise DsopsError(f"an upgrade was interrupted: {ABORT_HINT}")
    head = repo.git("rev-parse", "-q", "--verify", "HEAD", check=False).decode().strip()
    if head != journal.get("head"):
        shutil.rmtree(repo.journal)  # the result was committed: nothing to undo
        return
    unmerged = repo.git("ls-files", "-u").strip()
    changed = repo.git("status", "--porcelain", "--untracked-files=no").strip()
    if not unmerged and not changed:
        shutil.rmtree(repo.journal)  # the user reset the result away: nothing to undo
        return
    if unmerged:
        raise DsopsError(
            "the last upgrade left unresolved conflicts: resolve them, `git add` them and "
            "commit; or run `dsops upgrade --abort` to undo the whole upgrade"
        )
    raise DsopsError(
        "the last upgrade is not committed yet: review and commit it (resolve its "
        "conflicts first, if any), or run `dsops upgrade --abort` to undo it"
    )


def abort(path: Path) -> list[str]:
    """Put back every file and the index as they were before the upgrade."""
    repo = open_repo(path)
    shutil.rmtree(repo.git_dir / f"{JOURNAL}.new", ignore_errors=True)
    journal = _load_journal(repo)
    if journal is None:
        raise DsopsError("no upgrade to abort in this repository")
    head = repo.git("rev-parse", "-q", "--verify", "HEAD", check=False).decode().strip()
    if head != journal.get("head"):
        raise DsopsError(
            "HEAD moved since the upgrade (its result was committed): nothing to abort; "
            f"remove {repo.journal} if you are sure"
        )
    files = journal.get("files")
    created = journal.get("created")
    assert isinstance(files, dict) and isinstance(created, list)
    restored = []
    for rel, entry in files.items():
        target = repo.root / rel
        tmp = _tmp_name(target)
        if tmp.exists():
            tmp.unlink()
        copy = entry.get("copy")
        if copy is None:
            if os.path.lexists(target):
                target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo.journal / "files" / str(copy), tmp)
            os.chmod(tmp, int(entry["mode"]))
            os.replace(tmp, target)
        restored.append(rel)
    for rel in sorted(created, key=len, reverse=True):
        folder = repo.root / rel
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    # A kill inside `git update-index` leaves its lock behind; the index is ours to restore.
    lock = repo.git_dir / "index.lock"
    if lock.exists():
        lock.unlink()
    saved = repo.journal / "index"
    if saved.exists():
        shutil.copy2(saved, repo.git_dir / "index.dsops-tmp")
        os.replace(repo.git_dir / "index.dsops-tmp", repo.git_dir / "index")
    repo.git("update-index", "-q", "--refresh", check=False)
    shutil.rmtree(repo.journal)
    return restored


def run_validate(path: Path) -> int | None:
    """``dsops validate`` on the result, when this installation has it."""
    import importlib

    from ..cli import COMMANDS

    if "validate" not in COMMANDS:
        return None
    module = importlib.import_module(COMMANDS["validate"][0], "pyscaffoldext.dsproject_ops")
    code: int = module.main([str(path)], "dsops validate")
    return code


def paths_of(changes: Iterable[Change]) -> list[str]:
    return [c.path for c in changes]
