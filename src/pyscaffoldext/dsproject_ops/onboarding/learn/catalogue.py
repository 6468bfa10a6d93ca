"""The lesson texts: one YAML file per language beside this module.

A text is a string or a mapping of variants (see the head of ``en.yaml``); it is
chosen by :func:`pick` and filled by :func:`fill`. English is the reference: a key a
translation lacks falls back to English, so a partial translation still works.
"""

from __future__ import annotations

import os
import string
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ...errors import DsopsError

HERE = Path(__file__).resolve().parent
DEFAULT = "en"
# The placeholders a text may use; anything else in braces is a catalogue error.
PLACEHOLDERS = ("project", "package", "image", "remote", "exp_set")
# Variant keys, tried in this order against the repository's context.
VARIANTS = (
    "gitlab",
    "github",
    "both",
    "none",
    "example",
    "no_example",
    "local_remote",
    "server_remote",
    "default",
)


def languages() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in HERE.glob("*.yaml")))


def choose_language(given: str | None, environ: Mapping[str, str]) -> str:
    """``--lang`` first, then the locale (LC_ALL, LC_MESSAGES, LANG), then English.

    ``zh_CN.UTF-8`` and ``zh-Hans`` both select ``zh``.
    """
    available = languages()
    if given:
        code = _code(given)
        if code not in available:
            raise DsopsError(
                f"--lang {given}: no such catalogue (available: {', '.join(available)})"
            )
        return code
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(variable, "")
        if value:
            code = _code(value)
            return code if code in available else DEFAULT
    return DEFAULT


def _code(value: str) -> str:
    return value.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()


@lru_cache(maxsize=None)
def load(language: str) -> dict[str, Any]:
    """The catalogue of ``language``, with English filling any key it lacks."""
    base = _read(DEFAULT)
    if language == DEFAULT:
        return base
    return _merged(base, _read(language))


def _read(code: str) -> dict[str, Any]:
    """One catalogue, through a JSON copy in the user's cache: importing PyYAML (its
    resolver compiles dozens of regular expressions) would be most of `dsops learn`'s
    start-up. The copy is keyed by the YAML's checksum, so an edit is simply read again."""
    import json
    import zlib

    path = HERE / f"{code}.yaml"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DsopsError(f"{path}: the lesson catalogue cannot be read ({exc})") from None
    cached = _cache_folder()
    copy = cached / f"{code}-{zlib.crc32(raw):08x}-{len(raw)}.json" if cached else None
    if copy is not None:
        try:
            data: Any = json.loads(copy.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return data
        except (OSError, ValueError):
            pass
    import yaml

    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_loader())
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DsopsError(f"{path}: the lesson catalogue cannot be read ({exc})") from None
    if not isinstance(data, dict):
        raise DsopsError(f"{path}: the lesson catalogue is not a mapping")
    if copy is not None:
        _write_quietly(copy, json.dumps(data, ensure_ascii=False))
    return data


def _cache_folder() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "dsproject-ops" / "learn"
    return folder if folder.is_absolute() else None  # no home folder: no cache


def _write_quietly(path: Path, text: str) -> None:
    """A cache write that fails (read-only home, full disk) only costs speed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _merged(base[key], value)
        else:
            out[key] = value
    return out


def pick(text: Any, keys: tuple[str, ...]) -> str:
    """The variant of ``text`` for a repository whose context holds ``keys``."""
    if isinstance(text, str):
        return text
    if isinstance(text, Mapping):
        for key in VARIANTS:
            if key in text and (key in keys or key == "default"):
                return str(text[key])
        return str(next(iter(text.values()), ""))
    return ""


def fill(text: str, values: Mapping[str, str]) -> str:
    """Placeholders filled; one left unknown stays as written rather than failing."""
    return string.Formatter().vformat(text, (), _Lenient(values))


class _Lenient(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def placeholders(text: str) -> set[str]:
    """Every ``{name}`` a text uses (for the catalogue's own tests)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def environ_language() -> str:
    return choose_language(None, os.environ)
