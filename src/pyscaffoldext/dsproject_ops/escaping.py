"""One escaping path per target language: the Jinja filters every answer goes through.

An answer is data, never template or code: each place the template writes one uses
the filter of that file's language. The filters are registered once, by the
:class:`Escaping` Jinja extension, which both front-ends load: :mod:`.render` (``putup``)
adds it to its environment, and ``cookiecutter`` reads ``_extensions`` in
cookiecutter.json (``dsops_jinja.Escaping``, a shim beside the template that imports
this module). So both produce the same bytes, and a value needing no escaping is
written exactly as given.

Only the standard library and jinja2 are imported: any cookiecutter has them.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jinja2
import jinja2.ext

# Query parameters that carry a secret (``?token=...``, ``?X-Amz-Signature=...``).
SECRET_QUERY = re.compile(
    r"token|secret|passw|pwd|sig|signature|credential|api[-_]?key|access[-_]?key|auth",
    re.IGNORECASE,
)
# Remote schemes whose user name is a login, not a secret (the rest move it out).
LOGIN_SCHEMES = frozenset({"ssh", "hdfs", "webhdfs", "postgresql", "mysql", "mssql"})


def py_str(value: Any) -> str:
    """A Python string literal (double quotes, as black writes them)."""
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\x7f")


def ini_value(value: Any) -> str:
    """A one-line value of setup.cfg, which setuptools reads with interpolation."""
    return " ".join(str(value).split()).replace("%", "%%")


_YAML_PLAIN = re.compile(r"^[A-Za-z0-9_./~][A-Za-z0-9_./~+=@:-]*$")
_YAML_WORDS = re.compile(
    # YAML 1.1 booleans and null, and anything a number or a date could start with.
    r"^(?:y|n|yes|no|true|false|on|off|null|~|=|[-+.]?[0-9].*|\.inf|\.nan)$",
    re.IGNORECASE,
)


def yaml_str(value: Any) -> str:
    """A YAML scalar that loads back as this string: plain when that is unambiguous,
    else double-quoted (JSON's escapes are YAML's)."""
    text = str(value)
    # fullmatch: `$` would also match before a final newline ("A\n" is no plain scalar).
    plain = _YAML_PLAIN.fullmatch(text) and not _YAML_WORDS.fullmatch(text)
    # ": " or a final ":" would make a mapping key of it.
    if plain and ": " not in text and not text.endswith(":"):
        return text
    # YAML folds NEL, LS and PS like newlines and refuses what it deems unprintable:
    # those are written as escapes (8 hex digits beyond the BMP, never surrogate pairs).
    return "".join(
        (
            c
            if _YAML_PRINTABLE.match(c)
            else f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"
        )
        for c in json.dumps(text, ensure_ascii=False)
    )


_YAML_PRINTABLE = re.compile(
    "[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


def toml_str(value: Any) -> str:
    """A TOML basic string."""
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def md_text(value: Any) -> str:
    """Markdown prose kept as the user wrote it, minus what a renderer would run:
    template syntax (``{{``, ``{%``, ``{#``) and raw HTML tags become entities."""
    text = re.sub(r"\{(?=[{%#])", "&#123;", str(value))
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def md_code(value: Any) -> str:
    """The inside of a Markdown code span (the caller writes the backticks)."""
    text = str(value)
    if "`" in text:
        raise ValueError(f"{text!r} cannot be shown in a Markdown code span")
    return text


def shell_word(value: Any) -> str:
    """One word of a POSIX shell command line."""
    return shlex.quote(str(value))


def config_value(value: Any) -> str:
    """A value of DVC's config (configobj): quoted when it holds ``#`` (a comment)
    or ``,`` (a list), quotes or surrounding blanks."""
    text = str(value)
    if text and not re.search(r"[#,\"'\s]", text):
        return text
    for quote in ('"', "'"):
        if quote not in text:
            return f"{quote}{text}{quote}"
    for quote in ('"""', "'''"):
        if quote not in text:
            return f"{quote}{text}{quote}"
    raise ValueError("a value holding both kinds of triple quotes cannot be written")


def split_secrets(uri: str) -> tuple[str, dict[str, str]]:
    """``scheme://user:pw@host/p?token=t`` -> the URI without its secrets, and them.

    The secrets come back by name: ``user`` (when the user name may be a token:
    anything but a login scheme), ``password``, and each secret query parameter.
    Values are as written (still percent-encoded). A plain path has none.
    """
    if "://" not in uri:
        return uri, {}
    parts = urlsplit(uri)
    scheme = parts.scheme.lower().split("+", 1)[0]
    secrets: dict[str, str] = {}
    userinfo, at, host = parts.netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        if scheme in LOGIN_SCHEMES and user:
            host = f"{user}@{host}"
        elif user:
            secrets["user"] = user
        if colon:
            secrets["password"] = password
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not SECRET_QUERY.search(k)]
        if len(kept) != len(pairs):
            for key, value in pairs:
                if SECRET_QUERY.search(key):
                    secrets[f"query:{key}"] = value
            query = urlencode(kept)
    if not secrets:
        return uri, {}
    # Rebuilt as written: urlunsplit would drop the ``//`` of ``sqlite:///x.db``.
    rebuilt = f"{parts.scheme}://{host}{parts.path}" + (f"?{query}" if query else "")
    return rebuilt + (f"#{parts.fragment}" if parts.fragment else ""), secrets


def public_uri(value: Any) -> str:
    """The URI as a tracked file may show it: no password, token or secret query."""
    return split_secrets(str(value).strip())[0]


FILTERS = {
    "py_str": py_str,
    "ini_value": ini_value,
    "yaml_str": yaml_str,
    "toml_str": toml_str,
    "md_text": md_text,
    "md_code": md_code,
    "shell_word": shell_word,
    "config_value": config_value,
    "public_uri": public_uri,
}


class Escaping(jinja2.ext.Extension):
    """Registers :data:`FILTERS` in a Jinja environment (``putup`` and cookiecutter)."""

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.filters.update(FILTERS)
