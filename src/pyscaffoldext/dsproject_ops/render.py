"""Render the template tree: a pure function from answers to ``{path: text}``.

The tree under ``templates/`` is a cookiecutter template, and this module renders it
the way cookiecutter does (same context shape, same Jinja settings, private ``__``
variables rendered from ``cookiecutter.json``), so both front-ends produce the same
bytes. Which files exist for which answers is declared once, in the ``_features``
map of ``cookiecutter.json``, and evaluated once, by :mod:`.spec` (which validate's
layout check and the cookiecutter post-generation hook ask too).
"""

from __future__ import annotations

import fnmatch
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from .answers import Answers
from .escaping import Escaping
from .lockfile import Locks
from .paths import template_root
from .spec import load, template_version

__all__ = ["Tree", "context", "render", "template_version", "wanted_paths"]

Tree = dict[str, str]


@lru_cache(maxsize=None)
def _environment(root: str) -> jinja2.Environment:
    # cookiecutter's StrictEnvironment: undefined names fail, trailing newline kept; the
    # escaping filters are the extension cookiecutter loads from ``_extensions``.
    return jinja2.Environment(
        extensions=[Escaping, Locks],
        # Snippets (``__`` keys, paths) load by name too, so the bytecode cache keeps them.
        loader=jinja2.ChoiceLoader(
            [jinja2.FunctionLoader(_snippet), jinja2.FileSystemLoader(root)]
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        bytecode_cache=_bytecode_cache(),
    )


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:  # a read-only or full cache folder only costs speed
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs: compiling ~50 templates was half of
    ``putup``'s time. Entries are keyed by each source's checksum, and Jinja checks the
    Python version, so a changed template or interpreter is simply compiled again."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "dsproject-ops", "jinja")
    if not os.path.isabs(folder):  # no home folder: never write beside the user's files
        return None
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return _QuietBytecodeCache(folder)


def context(answers: Answers, root: Path | None = None) -> dict[str, Any]:
    """The ``{"cookiecutter": {...}}`` context cookiecutter would build."""
    spec = load(root).data
    env = _environment(str(root or template_root()))
    given = answers.values()
    data: dict[str, Any] = {}
    for key, default in spec.items():
        if key.startswith("__"):
            continue
        data[key] = default if key.startswith("_") else given.get(key, default)
    for key, raw in spec.items():
        if key.startswith("__"):
            data[key] = _compiled(env, raw).render(cookiecutter=data)
    return {"cookiecutter": data}


def render(answers: Answers, root: Path | None = None) -> Tree:
    """Every generated file, as text keyed by its POSIX path in the repository."""
    base = root or template_root()
    env = _environment(str(base))
    ctx = context(answers, base)
    spec = load(base)
    verbatim = spec.copy_without_render
    tree: Tree = {}
    for source, path in spec.files(ctx["cookiecutter"]):
        rel = source.split("/", 1)[1]
        if any(fnmatch.fnmatch(rel, pattern) for pattern in verbatim):
            tree[path] = (base / source).read_text(encoding="utf-8")
        else:
            tree[path] = env.get_template(source).render(ctx)
    return dict(sorted(tree.items()))


def wanted_paths(answers: Answers, paths: list[str], root: Path | None = None) -> list[str]:
    """Filter rendered paths through the feature map (used by the cookiecutter hook test)."""
    base = root or template_root()
    values = context(answers, base)["cookiecutter"]
    spec = load(base)
    return [p for p in paths if spec.wanted(p, values)]


# Compiling is most of a render's cost, and `dsops upgrade` renders twice: each
# distinct snippet (a `__` key, a path, a `_features` condition) is compiled once.
_SNIPPET = "snippet:"


def _snippet(name: str) -> str | None:
    return name[len(_SNIPPET) :] if name.startswith(_SNIPPET) else None


@lru_cache(maxsize=None)
def _compiled(env: jinja2.Environment, source: str) -> jinja2.Template:
    return env.get_template(_SNIPPET + source)
