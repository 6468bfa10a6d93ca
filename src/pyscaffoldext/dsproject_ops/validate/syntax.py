"""syntax: configuration files and notebooks parse."""

from __future__ import annotations

from typing import Iterable

from ..repository.formats import kind_of
from .context import Context
from .registry import Check, Issue


class _Parses(Check):
    kind = ""
    what = ""

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel in ctx.files:
            if kind_of(rel) != self.kind:
                continue
            parsed = ctx.parse_any(rel)
            if parsed is not None and parsed.error is not None:
                err = parsed.error
                if err.unreadable:  # too large, not UTF-8, out of the repository, a bound
                    yield Issue(f"{self.what} not checked: {err.message}", rel, err.line)
                else:
                    yield Issue(
                        f"{self.what} does not parse: {err.message}", rel, err.line, err.column
                    )


class YamlParses(_Parses):
    """YAML files (``*.yml``, ``*.yaml``, ``*.dvc``, ``dvc.lock``) parse.

    The message and position come from the YAML parser. A file that is too large
    (over 1 MB), not UTF-8, behind a symlink out of the repository, nested deeper than
    100 levels or whose aliases expand past 100,000 nodes is "not checked", with that
    reason. Checks that need the file (CI, DVC, pre-commit, environment) are skipped
    until it parses.
    """

    code = "SYN001"
    family = "syntax"
    summary = "YAML files parse"
    kind = "yaml"
    what = "YAML"


class TomlParses(_Parses):
    """TOML files (``pyproject.toml`` and others) parse, per Python's ``tomllib``."""

    code = "SYN002"
    family = "syntax"
    summary = "TOML files parse"
    kind = "toml"
    what = "TOML"


class IniParses(_Parses):
    """INI files (``setup.cfg``, ``.dvc/config``, ``tox.ini``, ``.flake8``) parse, with
    duplicate sections and keys refused as setuptools refuses them."""

    code = "SYN003"
    family = "syntax"
    summary = "INI files parse"
    kind = "ini"
    what = "INI"


class JsonParses(_Parses):
    """JSON files parse."""

    code = "SYN004"
    family = "syntax"
    summary = "JSON files parse"
    kind = "json"
    what = "JSON"


class NotebooksParse(Check):
    """Notebooks (``*.ipynb``) are valid JSON with nbformat 4's structure: a
    ``cells`` list of cells, each with a ``cell_type`` and a ``source``.

    A notebook broken by a merge or a hand edit cannot be opened, stripped by
    nbstripout or run by papermill. Restore it from git or repair the JSON.
    """

    code = "SYN005"
    family = "syntax"
    summary = "notebooks parse"

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel in ctx.files:
            if kind_of(rel) != "notebook":
                continue
            parsed = ctx.json(rel)
            if parsed is None:
                continue
            if parsed.error is not None and parsed.error.unreadable:
                yield Issue(f"notebook not checked: {parsed.error.message}", rel)
                continue
            if parsed.error is not None:
                err = parsed.error
                yield Issue(f"notebook is not valid JSON: {err.message}", rel, err.line, err.column)
                continue
            data = parsed.data
            if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
                yield Issue("notebook has no `cells` list: restore it from git", rel, 1)
                continue
            if not isinstance(data.get("nbformat"), int) or data["nbformat"] < 4:
                yield Issue("notebook lacks `nbformat: 4`: save it again with Jupyter", rel, 1)
            for index, cell in enumerate(data["cells"]):
                if not isinstance(cell, dict) or "cell_type" not in cell or "source" not in cell:
                    yield Issue(
                        f"cell {index} has no cell_type or source: repair it in Jupyter",
                        rel,
                        _cell_line(ctx.text(rel) or "", index),
                    )


def _cell_line(text: str, index: int) -> int | None:
    seen = -1
    for number, line in enumerate(text.splitlines(), 1):
        if '"cell_type"' in line:
            seen += 1
            if seen == index:
                return number
    return None


class PythonCompiles(Check):
    """Python files (``*.py``: the package, tests, scripts) compile.

    A half-resolved edit or merge otherwise shows up only when a DVC stage, the
    service or CI imports the module. The message and position are Python's own.
    Files that compiled before are remembered by their size and checksums (in
    ``~/.cache/dsproject-ops``, per Python version): only changed files are compiled.
    """

    code = "SYN006"
    family = "syntax"
    summary = "Python files compile"

    def run(self, ctx: Context) -> Iterable[Issue]:
        import zlib  # hashlib would load OpenSSL: too slow for a per-commit hook

        known = _compiled_cache()
        good = set(known)
        for rel in ctx.files:
            if not rel.endswith(".py"):
                continue
            text = ctx.text(rel)
            if text is None:
                continue
            raw = text.encode("utf-8", "surrogatepass")
            key = f"{len(raw)}-{zlib.crc32(raw):08x}-{zlib.adler32(raw):08x}"
            if key in known:
                continue
            try:
                # bytecode, not only a syntax tree: `return` outside a function and the
                # like are compile-time errors too; nothing is executed
                compile(text, rel, "exec", dont_inherit=True)
                good.add(key)
            except SyntaxError as exc:
                yield Issue(
                    f"Python does not compile: {exc.msg}", rel, exc.lineno, exc.offset or None
                )
            except ValueError as exc:  # NUL bytes
                yield Issue(f"Python does not compile: {exc}", rel, 1)
        if good != known:
            _compiled_cache(good)


def _compiled_cache(keys: set[str] | None = None) -> set[str]:
    """The keys of Python texts that compiled; with ``keys``: remember those instead
    (5,000 at most: a bound, not a history)."""
    import json
    import os
    import sys

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    path = os.path.join(base, "dsproject-ops", f"python{version}-compiles.json")
    if keys is None:
        try:
            with open(path, encoding="utf-8") as stream:
                return {str(k) for k in json.load(stream)}
        except (OSError, ValueError, TypeError):
            return set()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump(sorted(keys)[-5000:], stream)
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only home: compile every time
    return keys
