"""lock: the hashed lock files agree with the pins they were made from."""

from __future__ import annotations

import re
from typing import Iterable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .. import locktext
from .context import Context
from .registry import Check, Issue

LOCK = "requirements/lock.txt"
SERVE = "requirements/serve.lock.txt"
REFRESH = "run `python scripts/lock.py` and commit requirements/"


class _Lock(Check):
    family = "lock"

    def applies(self, ctx: Context) -> bool:
        return ctx.text(LOCK) is not None


def _entries(ctx: Context, rel: str) -> tuple[list[locktext.Entry] | None, Issue | None]:
    text = ctx.text(rel)
    if text is None:
        return None, None
    try:
        return list(locktext.parsed(text)), None
    except locktext.LockError as exc:
        found = re.match(r"line (\d+): ", str(exc))
        return None, Issue(
            f"{rel} is not a hashed lock ({exc}): {REFRESH}",
            rel,
            int(found.group(1)) if found else None,
        )


def _setup_pins(ctx: Context) -> list[tuple[str, str, str]]:
    """(name, exact version, where) of install_requires and the ``testing`` extra."""
    options = ctx.setup_cfg.get("options", {})
    extras = ctx.setup_cfg.get("options.extras_require", {})
    found: list[tuple[str, str, str]] = []
    for raw, where in (
        (options.get("install_requires", ""), "install_requires"),
        (extras.get("testing", ""), "the testing extra"),
    ):
        for item in str(raw).splitlines():
            item = item.split("#", 1)[0].strip()
            try:
                req = Requirement(item) if item else None
            except InvalidRequirement:
                continue  # ENV and SYN checks report it
            exact = [s.version for s in req.specifier if s.operator == "=="] if req else []
            if req and len(exact) == 1:
                found.append((req.name, exact[0], where))
    return found


class LockMatchesPins(_Lock):
    """``requirements/lock.txt`` is a hashed lock (every entry ``name==version`` with
    its ``--hash`` lines) and locks every pin of setup.cfg (``install_requires`` and
    the ``testing`` extra) at the pinned version.

    CI, the README's pip and uv routes and ``pip install --require-hashes`` install the
    lock, not setup.cfg: a pin changed in setup.cfg (and environment.yml, which ENV004
    keeps equal to it) without refreshing the lock is a change nobody installs.
    Refresh with ``python scripts/lock.py``.
    """

    code = "LCK001"
    summary = "requirements/lock.txt is hashed and locks setup.cfg's pins"
    needs = (LOCK, "setup.cfg")

    def run(self, ctx: Context) -> Iterable[Issue]:
        entries, problem = _entries(ctx, LOCK)
        if problem:
            yield problem
        if entries is None:
            return
        locked = locktext.versions(entries)
        for name, version, where in _setup_pins(ctx):
            have = locked.get(canonicalize_name(name))
            if have is None:
                yield Issue(f"{name} ({where} of setup.cfg) is not in {LOCK}: {REFRESH}", LOCK, 1)
            elif version not in have:
                line = next(e.line for e in entries if e.name == canonicalize_name(name))
                yield Issue(
                    f"{LOCK} locks {name}=={'/'.join(sorted(have))} but setup.cfg pins "
                    f"{name}=={version}: {REFRESH}",
                    LOCK,
                    line,
                )


class ServeLockWithinLock(_Lock):
    """``requirements/serve.lock.txt`` (what the Docker image installs) is a hashed
    lock whose every package has a version ``requirements/lock.txt`` also locks.

    The model is trained and tested with the packages of lock.txt; a server with other
    versions (say another scikit-learn) may load it differently or not at all.
    """

    code = "LCK002"
    summary = "the serving lock uses the versions of the full lock"
    needs = (LOCK, SERVE)
    requires = ("LCK001",)

    def applies(self, ctx: Context) -> bool:
        return super().applies(ctx) and ctx.text(SERVE) is not None

    def run(self, ctx: Context) -> Iterable[Issue]:
        serve, problem = _entries(ctx, SERVE)
        if problem:
            yield problem
        full, _ = _entries(ctx, LOCK)
        if serve is None or full is None:
            return
        locked = locktext.versions(full)
        for entry in serve:
            if entry.version not in locked.get(entry.name, set()):
                have = "/".join(sorted(locked.get(entry.name, set()))) or "nothing"
                yield Issue(
                    f"{SERVE} locks {entry.name}=={entry.version} but {LOCK} has {have}: "
                    f"{REFRESH}",
                    SERVE,
                    entry.line,
                )
