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
PLACEHOLDERS = ("project", "package", "remote", "exp_set")
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
    import yaml

    def read(code: str) -> dict[str, Any]:
        path = HERE / f"{code}.yaml"
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
        except (OSError, yaml.YAMLError) as exc:
            raise DsopsError(f"{path}: the lesson catalogue cannot be read ({exc})") from None
        if not isinstance(data, dict):
            raise DsopsError(f"{path}: the lesson catalogue is not a mapping")
        return data

    base = read(DEFAULT)
    if language == DEFAULT:
        return base
    return _merged(base, read(language))


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
