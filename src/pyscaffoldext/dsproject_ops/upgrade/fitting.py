"""The upgrade's plan, fitted to the repository it runs in.

:mod:`.apply` renders the template and calls :func:`plan_fitted`; this module reads
the few things the fitting needs (through :mod:`.apply`'s readers: tracked files
only, never a walk) and lets the pure rules of :mod:`.foreign` adjust the template's
files and the plan: the team's layout, its old extension record, its own ignore
files and placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from ..answers import Answers
from . import foreign, history
from .adopt import infer_answers
from .merge3 import Labels
from .plan import ADDED, MERGED, SKIPPED, Change, plan
from .policy import LEGACY, Policies

if TYPE_CHECKING:
    from .apply import Repo


@dataclass(frozen=True)
class Adoption:
    """A repository we did not make: its tracked files, layout and inferred answers."""

    answers: Answers
    layout: foreign.Layout
    read: Callable[[str], "str | None"]
    files: list[str]


def adoption_of(repo: "Repo") -> Adoption:
    from .apply import _read, _tracked_glob

    files = _tracked_glob(repo, "*")
    known = frozenset(files)

    def read(rel: str) -> str | None:
        return _read(repo, rel) if rel in known else None

    layout = foreign.find_layout(files)
    answers = infer_answers(repo.root.name, read, [layout.package] if layout.package else [])
    return Adoption(answers, layout, read, files)


def plan_fitted(
    repo: "Repo",
    base: Mapping[str, str],
    theirs: Mapping[str, str],
    labels: Labels,
    answers: Answers,
    to_root: Path,
    adoption: Adoption | None,
    policies: Policies = LEGACY,
) -> tuple[list[Change], dict[str, tuple[str, str]], dict[str, "str | None"], list[str]]:
    """``(changes, tracked, ours, notes)``: the plan of every template file (and of the
    team's own files adoption changes), the git entries and texts it read, and notes."""
    from .apply import _read, _tracked

    adopting = adoption is not None
    theirs = dict(theirs)
    notes: list[str] = []
    extra: dict[str, str] = {}  # the team's own files adoption changes
    if adoption is not None:
        theirs, notes = foreign.adapt_theirs(theirs, adoption.layout, adoption.read)
        extra = foreign.unhide_dvc_pointers(adoption.files, adoption.read)
        extra = {p: t for p, t in extra.items() if p not in theirs}
    paths = sorted(set(base) | set(theirs))
    tracked = _tracked(repo, paths + sorted(extra))
    ours = {p: _read(repo, p) for p in tracked}
    mine = foreign.migrated_ours(ours, history.pyscaffold_version(to_root))
    changes = foreign.restore_ours(
        plan(base, theirs, mine, labels, adopting=adopting, policies=policies), ours
    )
    package = answers.package
    if adoption is not None:
        layout = adoption.layout
    elif any(c.kind == ADDED and c.path.startswith(f"src/{package}/") for c in changes):
        layout = _layout(repo, package)  # only when the template adds a module
    else:
        layout = foreign.Layout()
    changes = foreign.adjust(
        changes,
        layout,
        package,
        lambda rel: _untracked(repo, rel),
        frozenset(adoption.files) if adoption is not None else frozenset(),
    )
    changes += [
        Change(p, MERGED, text, ours=ours[p], note="!*.dvc added: DVC pointer files stay trackable")
        for p, text in sorted(extra.items())
        if ours.get(p) is not None
    ]
    skipped = [c.path for c in changes if c.kind == SKIPPED]
    package_files = [p for p in theirs if p.startswith(f"src/{package}/")]
    if package_files and set(package_files) <= set(skipped):  # a flat package: one line
        skipped = [p for p in skipped if p not in package_files] + [f"src/{package}/*"]
    if skipped and "setup.cfg" in theirs:
        # The skips are recorded where validate reads them; setup.cfg is planned again.
        theirs["setup.cfg"] = foreign.ignore_skipped(theirs["setup.cfg"], skipped)
        cfg_base = {k: v for k, v in base.items() if k == "setup.cfg"}
        (again,) = plan(
            cfg_base,
            {"setup.cfg": theirs["setup.cfg"]},
            {"setup.cfg": mine.get("setup.cfg")},
            labels,
            adopting=adopting,
            policies=policies,
        )
        (again,) = foreign.restore_ours([again], ours)
        changes = [again if c.path == "setup.cfg" else c for c in changes]
    notes += foreign.layout_notes(layout, package, changes)
    if adoption is not None:
        notes += foreign.requirement_notes(adoption.read("requirements.txt"), history.pins(to_root))
    return changes, tracked, ours, notes


def _layout(repo: "Repo", package: str) -> foreign.Layout:
    """The package layout of a repository we made (for the shadowing rule only)."""
    from .apply import _tracked_glob

    return foreign.find_layout(_tracked_glob(repo, f"src/{package}/*"), package)


def _untracked(repo: "Repo", rel: str) -> bytes | None:
    """The bytes of an untracked (or ignored) regular file at ``rel``, else None."""
    from .apply import _tracked

    path = repo.root / rel
    if path.is_symlink() or not path.is_file() or rel in _tracked(repo, [rel]):
        return None
    return path.read_bytes()
