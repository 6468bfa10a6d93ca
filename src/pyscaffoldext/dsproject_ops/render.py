"""Render the template tree: a pure function from answers to ``{path: text}``.

The tree under ``templates/`` is a cookiecutter template, and this module renders it
the way cookiecutter does (same context shape, same Jinja settings, private ``__``
variables rendered from ``cookiecutter.json``), so both front-ends produce the same
bytes. Which files exist for which answers is declared once, in the ``_features``
map of ``cookiecutter.json``; the cookiecutter post-generation hook reads the same map.
"""

from __future__ import annotations

import fnmatch
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from .answers import Answers, cookiecutter_json
from .escaping import Escaping
from .paths import PROJECT_DIR_NAME, template_root

Tree = dict[str, str]


def template_version() -> str:
    return str(cookiecutter_json()["_template_version"])


@lru_cache(maxsize=None)
def _environment(root: str) -> jinja2.Environment:
    # cookiecutter's StrictEnvironment: undefined names fail, trailing newline kept; the
    # escaping filters are the extension cookiecutter loads from ``_extensions``.
    return jinja2.Environment(
        extensions=[Escaping],
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
    spec = _spec(root)
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
    features = ctx["cookiecutter"].get("_features", {})
    verbatim = ctx["cookiecutter"].get("_copy_without_render", [])
    tree: Tree = {}
    for source in _template_files(str(base)):
        rel = source.split("/", 1)[1]
        # Most paths hold no Jinja: compiling each would cost more than all the rest.
        path = _compiled(env, rel).render(ctx) if "{" in rel else rel
        if not _wanted(path, features, env, ctx):
            continue
        if any(fnmatch.fnmatch(rel, pattern) for pattern in verbatim):
            tree[path] = (base / source).read_text(encoding="utf-8")
        else:
            tree[path] = env.get_template(source).render(ctx)
    return dict(sorted(tree.items()))


def wanted_paths(answers: Answers, paths: list[str], root: Path | None = None) -> list[str]:
    """Filter rendered paths through the feature map (used by the cookiecutter hook test)."""
    base = root or template_root()
    env = _environment(str(base))
    ctx = context(answers, base)
    features = ctx["cookiecutter"].get("_features", {})
    return [p for p in paths if _wanted(p, features, env, ctx)]


# Compiling is most of a render's cost, and `dsops upgrade` renders twice: each
# distinct snippet (a `__` key, a path, a `_features` condition) is compiled once.
_SNIPPET = "snippet:"


def _snippet(name: str) -> str | None:
    return name[len(_SNIPPET) :] if name.startswith(_SNIPPET) else None


@lru_cache(maxsize=None)
def _compiled(env: jinja2.Environment, source: str) -> jinja2.Template:
    return env.get_template(_SNIPPET + source)


@lru_cache(maxsize=None)
def _expression(env: jinja2.Environment, condition: str) -> Any:
    return env.compile_expression(condition)


def _wanted(
    path: str, features: dict[str, str], env: jinja2.Environment, ctx: dict[str, Any]
) -> bool:
    for pattern, condition in features.items():
        if fnmatch.fnmatch(path, pattern) and not _expression(env, condition)(**ctx):
            return False
    return True


def _spec(root: Path | None) -> dict[str, Any]:
    if root is None:
        return cookiecutter_json()
    import json

    with open(root / "cookiecutter.json", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@lru_cache(maxsize=None)
def _template_files(root: str) -> tuple[str, ...]:
    """Template sources relative to ``root`` (``{{cookiecutter.project_name}}/...``)."""
    top = os.path.join(root, PROJECT_DIR_NAME)
    found: list[str] = []
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith((".pyc", ".pyo")):
                continue
            found.append(os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/"))
    return tuple(sorted(found))
