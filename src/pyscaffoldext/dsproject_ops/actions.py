"""PyScaffold actions: each ``(struct, opts) -> (struct, opts)``, thin glue only.

The work happens in pure modules (:mod:`.answers`, :mod:`.render`) and one module
that writes (:mod:`.writer`); these actions wire them into ``putup``'s pipeline.
"""

from __future__ import annotations

import getpass
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from pyscaffold import actions as ps_actions
from pyscaffold.log import logger

from . import answers as answers_mod
from .errors import DsopsError
from .gitutil import is_configured
from .render import render

Struct = dict[str, Any]
Opts = dict[str, Any]
ANSWERS_KEY = "dsproject_ops_answers"


@contextmanager
def _git_identity_fallback() -> Iterator[None]:
    """Let PyScaffold's option defaults work where git knows no user."""
    if is_configured():
        yield
        return
    user = _login()
    added = {
        "GIT_AUTHOR_NAME": user,
        "GIT_AUTHOR_EMAIL": f"{user}@{socket.gethostname() or 'localhost'}",
    }
    added = {k: v for k, v in added.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry, no USER variable (containers)
        return "dsproject-ops"


def get_default_options(struct: Struct, opts: Opts) -> tuple[Struct, Opts]:
    """PyScaffold's defaults, plus a clear error for names that cannot be packages."""
    name = opts.get("name") or Path(str(opts.get("project_path", "."))).resolve().name
    answers_mod.check_project_name(str(name))
    if not opts.get("package"):
        opts = {
            **opts,
            "package": answers_mod.check_package(
                answers_mod.derive_package(str(name)), given=False
            ),
        }
    with _git_identity_fallback():
        result: tuple[Struct, Opts] = ps_actions.get_default_options(struct, opts)
    return result


def build_answers(struct: Struct, opts: Opts) -> tuple[Struct, Opts]:
    """Validate every option before anything is written."""
    from .extension import options_from

    answers = answers_mod.build(
        opts["name"],
        opts["package"],
        description=_given(opts, "description"),
        author=opts.get("author") or None,
        email=opts.get("email") or None,
        url=_given(opts, "url"),
        license=opts.get("license") or None,
        **options_from(opts),
    )
    return struct, {**opts, ANSWERS_KEY: answers}


def _given(opts: Opts, key: str) -> Any:
    """An option the user gave; PyScaffold's own placeholder (its description and
    url defaults) counts as not given, so cookiecutter.json's defaults apply to both
    front-ends (``putup`` and ``cookiecutter``) alike."""
    from pyscaffold.api import DEFAULT_OPTIONS

    value = opts.get(key)
    return None if not value or value == DEFAULT_OPTIONS.get(key) else value


def render_structure(struct: Struct, opts: Opts) -> tuple[Struct, Opts]:
    """Replace PyScaffold's default tree with ours: the template owns every file."""
    tree = render(opts[ANSWERS_KEY])
    return nest(tree), {**opts, "dsproject_ops_tree": tree}


def verify_target(struct: Struct, opts: Opts) -> tuple[Struct, Opts]:
    if opts.get("update"):
        return struct, opts  # the upgrade makes its own checks (clean tree, no conflicts)
    from .writer import check_target

    check_target(Path(opts["project_path"]).absolute(), bool(opts.get("force")))
    return struct, opts


def write_project(struct: Struct, opts: Opts) -> tuple[Struct, Opts]:
    if opts.get("update"):
        return upgrade_project(struct, opts)
    from .writer import write_project as write

    target = Path(opts["project_path"])
    tree = opts["dsproject_ops_tree"]
    if opts.get("pretend"):
        for rel in tree:
            logger.report("create", str(target / rel))
        return struct, opts
    write(target, tree, opts[ANSWERS_KEY], force=bool(opts.get("force")))
    return struct, opts


def upgrade_project(struct: Struct, opts: Opts) -> tuple[Struct, Opts]:
    """``putup --update``: the same three-way upgrade as ``dsops upgrade``."""
    run_update(Path(opts["project_path"]), bool(opts.get("pretend")))
    return struct, opts


def run_update(path: Path, pretend: bool) -> None:
    """The upgrade behind ``putup --update`` (with or without ``--dsproject-ops``)."""
    from .upgrade.cli import CONFLICTS, run_upgrade

    code = run_upgrade(path, dry_run=pretend)
    if code == CONFLICTS and pretend:
        raise DsopsError("the upgrade would leave conflicts (listed above); nothing was written")
    if code == CONFLICTS:
        raise DsopsError("conflicts remain: resolve them and commit, or `dsops upgrade --abort`")


def nest(tree: dict[str, str]) -> Struct:
    """``{"a/b.txt": text}`` -> ``{"a": {"b.txt": text}}`` (PyScaffold's structure)."""
    root: Struct = {}
    for rel, text in tree.items():
        node = root
        *folders, name = rel.split("/")
        for folder in folders:
            node = node.setdefault(folder, {})
        node[name] = text
    return root
