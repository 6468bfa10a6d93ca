"""The answers: every choice a generated repository is made from, validated once.

The same :class:`Answers` feeds ``putup``, ``cookiecutter``, ``dsops validate`` and
``dsops upgrade``. They are recorded in the generated ``setup.cfg`` under
``[pyscaffold]`` (keys prefixed ``dsproject_ops_``, which is how PyScaffold hands
extension options back on ``putup --update``).
"""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping
from urllib.parse import SplitResult, unquote, urlsplit

from .errors import DsopsError
from .escaping import config_value, split_secrets

PREFIX = "dsproject_ops_"
CI_CHOICES = ("both", "gitlab", "github", "none")
PYTHON_CHOICES = ("3.11", "3.12", "3.13")
# DVC's remote schemes (dvc.fs); a plain path means a local or mounted folder.
DVC_SCHEMES = frozenset(
    {
        "s3",
        "gs",
        "azure",
        "ssh",
        "hdfs",
        "webhdfs",
        "http",
        "https",
        "webdav",
        "webdavs",
        "oss",
        "gdrive",
    }
)
# Remote types whose DVC configuration takes a ``password`` (written to config.local).
PASSWORD_SCHEMES = frozenset({"ssh", "http", "https", "webdav", "webdavs"})
MLFLOW_SCHEMES = frozenset(
    {"sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks", "file"}
)
# Import names a project package must not take: they would shadow the
# dependencies the generated code imports.
_DEPENDENCY_MODULES = frozenset(
    {
        "numpy",
        "pandas",
        "sklearn",
        "mlflow",
        "yaml",
        "dvc",
        "papermill",
        "matplotlib",
        "pytest",
        "scipy",
        "joblib",
        "nbformat",
        "setuptools",
    }
)
_DIST_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def cookiecutter_json() -> dict[str, Any]:
    """The template's own questions and defaults (read once, by :mod:`.spec`)."""
    from .spec import load

    return load().data


def defaults() -> dict[str, Any]:
    """Plain defaults from cookiecutter.json (a list's first item is its default).

    ``package`` and ``dvc_remote`` are derived from the project name instead.
    """
    found: dict[str, Any] = {}
    for key, value in cookiecutter_json().items():
        if key.startswith("_") or key in ("project_name", "package", "dvc_remote"):
            continue
        found[key] = value[0] if isinstance(value, list) else value
    return found


def default_remote(project_name: str) -> str:
    """A folder beside the repository: it works right after generation, offline."""
    return f"../{project_name}-dvc-remote"


@dataclass(frozen=True)
class Answers:
    """Everything a generated repository depends on."""

    project_name: str
    package: str
    description: str
    author: str
    email: str
    url: str
    license: str
    ci: str
    dvc_remote: str
    mlflow_tracking_uri: str
    python_version: str
    example: bool
    template_version: str = ""
    # Secrets: never recorded nor rendered. The DVC ones go only to the git-ignored
    # .dvc/config.local (an SSH password, or the whole URL when it holds a token), the
    # MLflow ones only to the git-ignored .env (``MLFLOW_*`` variables MLflow reads).
    dvc_password: str = field(default="", repr=False, compare=False)
    dvc_local_url: str = field(default="", repr=False, compare=False)
    mlflow_env: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    @property
    def gitlab(self) -> bool:
        return self.ci in ("gitlab", "both")

    @property
    def github(self) -> bool:
        return self.ci in ("github", "both")

    def values(self) -> dict[str, Any]:
        """The answers as cookiecutter's questions name them (no secret)."""
        skip = ("dvc_password", "dvc_local_url", "mlflow_env", "template_version")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}

    def recorded(self) -> dict[str, str]:
        """The keys written to ``setup.cfg [pyscaffold]`` (beside PyScaffold's own)."""
        return {
            PREFIX + "template": self.template_version,
            PREFIX + "ci": self.ci,
            PREFIX + "dvc_remote": self.dvc_remote,
            PREFIX + "mlflow_tracking_uri": self.mlflow_tracking_uri,
            PREFIX + "python_version": self.python_version,
            PREFIX + "example": "true" if self.example else "false",
        }


def one_line(text: str) -> str:
    """Fold a free-text value for files that take one line (INI, YAML, metadata)."""
    return " ".join(text.split())


def build(
    project_name: str,
    package: str | None = None,
    **values: Any,
) -> Answers:
    """Validate raw values (from argparse, the Python API or cookiecutter)."""
    from .spec import template_version

    name = check_project_name(project_name)
    pkg = check_package(package if package else derive_package(name), given=bool(package))
    known = {f.name for f in fields(Answers)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise DsopsError(f"unknown option(s): {', '.join(unknown)}")
    clean: dict[str, Any] = defaults()
    clean.update({k: v for k, v in values.items() if v is not None})
    for key in ("description", "author", "email", "url", "license"):
        if key in clean:
            clean[key] = check_text(key, str(clean[key]))
    clean["url"] = check_project_url(str(clean.get("url", "")))
    clean["ci"] = check_choice("--ci", str(clean["ci"]).lower(), CI_CHOICES)
    clean["python_version"] = check_choice(
        "--python-version", str(clean["python_version"]), PYTHON_CHOICES
    )
    clean["example"] = to_bool("example", clean["example"])
    remote = check_dvc_remote(str(clean.get("dvc_remote") or default_remote(name)))
    clean["dvc_remote"], secrets = split_secrets(remote)
    if set(secrets) == {"password"} and remote.lower().startswith("ssh://"):
        # dvc-ssh takes the password as its own option, beside the URL with the user.
        _decoded_secret("--dvc-remote", secrets["password"])  # writable once decoded
        if not clean.get("dvc_password"):
            clean["dvc_password"] = secrets["password"]  # as written: the writer decodes it
    elif secrets:
        # A token (as user name or query parameter): the whole URL, locally only.
        clean["dvc_local_url"] = _local_value("--dvc-remote", remote)
    uri = check_tracking_uri(str(clean["mlflow_tracking_uri"]))
    clean["mlflow_tracking_uri"], clean["mlflow_env"] = mlflow_secrets(uri)
    clean.setdefault("template_version", template_version())
    return Answers(project_name=name, package=pkg, **clean)


def from_recorded(section: Mapping[str, str], metadata: Mapping[str, str]) -> Answers:
    """Rebuild answers from a generated ``setup.cfg`` (its ``[pyscaffold]`` and
    ``[metadata]`` sections), as ``dsops validate`` and ``dsops upgrade`` do."""
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key.startswith(PREFIX):
            field = key[len(PREFIX) :]
            values["template_version" if field == "template" else field] = value.strip()
    for key, meta in (
        ("description", "description"),
        ("author", "author"),
        ("email", "author_email"),
        ("url", "url"),
        ("license", "license"),
    ):
        if metadata.get(meta):
            values[key] = metadata[meta].strip()
    name = metadata.get("name", "").strip()
    answers = build(name, section.get("package", "").strip() or None, **values)
    return answers


def derive_package(name: str) -> str:
    """The same rule as ``package`` in cookiecutter.json: lower case, '-' and '.' to '_'."""
    return name.lower().replace("-", "_").replace(".", "_")


# A folder name is at most 255 bytes; the staging folder beside it adds ~35.
MAX_NAME = 200


def check_project_name(name: str) -> str:
    name = name.strip()
    if len(name) > MAX_NAME:
        raise DsopsError(
            f"invalid project name {name[:20]!r}...: it is {len(name)} characters long, "
            f"at most {MAX_NAME} fit in a folder name"
        )
    if not _DIST_NAME.fullmatch(name):  # `$` alone lets a final newline through
        raise DsopsError(
            f"invalid project name {name!r}: use letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return name


def check_package(package: str, given: bool = True) -> str:
    hint = "" if given else " (derived from the project name; choose one with --package)"
    if not package.isidentifier() or not package.isascii():
        why = "it starts with a digit" if package[:1].isdigit() else "it is not a Python identifier"
        raise DsopsError(f"cannot use {package!r} as the Python package name: {why}{hint}")
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        raise DsopsError(
            f"cannot use {package!r} as the Python package name: it is a Python keyword{hint}"
        )
    if package in sys.stdlib_module_names or package in sys.builtin_module_names:
        raise DsopsError(
            f"cannot use {package!r} as the Python package name: "
            f"it shadows the standard library module {package!r}{hint}"
        )
    if package in _DEPENDENCY_MODULES:
        raise DsopsError(
            f"cannot use {package!r} as the Python package name: "
            f"it shadows the dependency {package!r}{hint}"
        )
    return package


def check_text(key: str, value: str) -> str:
    """Free text is kept as given, but it must be writable as UTF-8 text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise DsopsError(f"--{key} contains characters that cannot be written as UTF-8")
    bad = [c for c in value if unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t"]
    if bad:
        raise DsopsError(f"--{key} contains a control character ({bad[0]!r}); remove it")
    syntax = re.search(r"\{[{%#]", value)
    if syntax:
        # Any generated file would show it as unrendered template code (TPL001).
        raise DsopsError(
            f"--{key} contains {syntax.group(0)!r}, which reads as template code; "
            "put a blank between the two characters"
        )
    return value


def check_choice(flag: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise DsopsError(f"invalid {flag} {value!r}: choose one of {', '.join(choices)}")
    return value


def to_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "on"):
        return True
    if text in ("0", "false", "no", "n", "off"):
        return False
    raise DsopsError(f"invalid value for {key}: {value!r} (use true or false)")


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``ssh://user:secret@host/p`` -> (``ssh://user@host/p``, ``user``, ``secret``)."""
    public, secrets = split_secrets(url)
    user = urlsplit(url).username if "://" in url else None
    return public, user, secrets.get("password")


# RFC 3986's characters, without '#': a fragment means nothing to DVC or MLflow. Any
# other character (blank, quote, backtick, brace, backslash, non-ASCII) must be
# percent-encoded, so a URI never needs escaping to be pasted into a file.
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=%]*")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# A folder path is written to INI, YAML, Markdown code spans: no quotes, backticks,
# braces or backslashes (use '/'), nothing invisible.
_PATH_FORBIDDEN = set("\"'`{}\\")


def shown(value: str) -> str:
    """A value as an error message may echo it: credentials replaced by ``***``."""
    text = re.sub(r"(//[^/@?#]*:)[^/@?#]*@", r"\1***@", value)
    text = re.sub(r"(//)[^/@:?#]+@(?=[^/]*$|[^/]*/)", r"\1***@", text)
    return re.sub(
        r"([?&][^=&#]*(?:token|secret|passw|pwd|sig|credential|key|auth)[^=&#]*=)[^&#]*",
        r"\1***",
        text,
        flags=re.IGNORECASE,
    )


def check_uri(flag: str, value: str) -> SplitResult:
    """Parse a URI with urllib.parse; refuse, in one line, what does not round-trip."""
    show = shown(value)
    bad = next((c for c in value if not _URI_CHARS.fullmatch(c) or c == "#"), None)
    if bad is not None:
        what = {"#": "'#' (a fragment)", " ": "a blank"}.get(bad, repr(bad))
        raise DsopsError(
            f"invalid {flag} {show!r}: {what} is not allowed in a URI; "
            "percent-encode it (e.g. %23 for '#', %20 for a blank)"
        )
    if _BAD_PERCENT.search(value):
        raise DsopsError(f"invalid {flag} {show!r}: '%' must start a %XX escape (write %25)")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise DsopsError(f"invalid {flag} {show!r}: {exc}") from None
    if port == 0:
        raise DsopsError(f"invalid {flag} {show!r}: port 0 is not a port")
    rebuilt = f"{parts.scheme}://{parts.netloc}{parts.path}" + (
        f"?{parts.query}" if parts.query else ""
    )
    if "://" in value and rebuilt != value:
        raise DsopsError(f"invalid {flag} {show!r}: it does not read back as written")
    if parts.netloc and parts.netloc.rpartition("@")[2] in ("", ":") and "://" in value:
        raise DsopsError(f"invalid {flag} {show!r}: the URL names no host")
    return parts


def _decoded_secret(flag: str, secret: str) -> str:
    """A percent-decoded secret that can be written to a one-line local setting."""
    decoded = unquote(secret)
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in decoded):
        raise DsopsError(f"invalid {flag}: the credential decodes to a control character")
    return _local_value(flag, decoded)


def _local_value(flag: str, value: str) -> str:
    try:
        config_value(value)
    except ValueError:
        raise DsopsError(f"invalid {flag}: the credential holds both \"\"\" and '''") from None
    return value


def check_dvc_remote(remote: str) -> str:
    """A URL with a scheme DVC knows, or a filesystem path."""
    value = remote.strip()
    show = shown(value)
    if not value or any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise DsopsError(
            f"invalid --dvc-remote {show!r}: give a URL (ssh://, s3://, ...) or a folder path"
        )
    if "://" in value:
        scheme = value.split("://", 1)[0].lower()
        if scheme not in DVC_SCHEMES:
            raise DsopsError(
                f"invalid --dvc-remote {show!r}: DVC has no {scheme!r} remotes; "
                f"use one of {', '.join(sorted(DVC_SCHEMES))} or a folder path"
            )
        parts = check_uri("--dvc-remote", value)
        if not parts.netloc:
            raise DsopsError(f"invalid --dvc-remote {show!r}: the URL names no host or bucket")
        _public, secrets = split_secrets(value)
        if {"user", "password"} & set(secrets) and scheme not in PASSWORD_SCHEMES:
            raise DsopsError(
                f"invalid --dvc-remote {show!r}: {scheme}:// remotes take no credentials in "
                "the URL; give the URL without them and set them with "
                "`dvc remote modify --local default ...`"
            )
        return value
    if re.match(r"^[^/\s:@]+@[^/\s:]+:", value):
        raise DsopsError(
            f"invalid --dvc-remote {show!r}: an scp-style address; "
            "write it as ssh://user@host/path"
        )
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", value):
        raise DsopsError(
            f"invalid --dvc-remote {show!r}: neither a URL (scheme://host/path) nor a folder path"
        )
    if any(c.isspace() for c in value):
        raise DsopsError(
            f"invalid --dvc-remote {show!r}: a folder path with a blank; "
            "choose a folder whose path has none (the docs show it as one word)"
        )
    bad = next((c for c in value if c in _PATH_FORBIDDEN), None)
    if bad is not None:
        raise DsopsError(
            f"invalid --dvc-remote {show!r}: a folder path may not contain {bad!r}"
            + (" (use '/')" if bad == "\\" else "")
        )
    return value


def check_tracking_uri(uri: str) -> str:
    value = uri.strip()
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    scheme = scheme.split("+", 1)[0]
    show = shown(value)
    if scheme not in MLFLOW_SCHEMES:
        raise DsopsError(
            f"invalid --mlflow-tracking-uri {show!r}: use sqlite:///file.db, "
            "http(s)://host:port or another MLflow store URI"
        )
    if scheme == "sqlite" and not value.startswith("sqlite:///"):
        raise DsopsError(
            f"invalid --mlflow-tracking-uri {show!r}: SQLite URIs look like sqlite:///mlflow.db"
        )
    parts = check_uri("--mlflow-tracking-uri", value)
    if scheme in ("http", "https") and not parts.hostname:
        raise DsopsError(f"invalid --mlflow-tracking-uri {show!r}: the URL names no host")
    return value


# The variables MLflow reads for a tracking server's credentials.
_MLFLOW_VARS = {"user": "MLFLOW_TRACKING_USERNAME", "password": "MLFLOW_TRACKING_PASSWORD"}
_TOKEN_KEYS = ("token", "access_token")


def mlflow_secrets(uri: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The URI tracked files show, and the ``.env`` variables holding its secrets."""
    public, secrets = split_secrets(uri)
    if not secrets:
        return uri, ()
    flag = "--mlflow-tracking-uri"
    if not uri.lower().startswith(("http://", "https://")):
        # A database store takes its password in the URI: the whole URI, locally.
        return public, (("MLFLOW_TRACKING_URI", _decoded_secret(flag, uri)),)
    env: list[tuple[str, str]] = []
    for name, secret in secrets.items():
        if name in _MLFLOW_VARS:
            env.append((_MLFLOW_VARS[name], _decoded_secret(flag, secret)))
        elif name[len("query:") :].lower() in _TOKEN_KEYS:
            env.append(("MLFLOW_TRACKING_TOKEN", _decoded_secret(flag, secret)))
        else:
            raise DsopsError(
                f"invalid {flag} {shown(uri)!r}: MLflow takes no {name[6:]!r} parameter; "
                "give a token as ?token=... (it goes to .env as MLFLOW_TRACKING_TOKEN)"
            )
    return public, tuple(env)


def check_project_url(url: str) -> str:
    """The project's home page: empty, or an http(s) URL without credentials."""
    value = url.strip()
    if not value:
        return value
    show = shown(value)
    if not value.lower().startswith(("http://", "https://")):
        raise DsopsError(f"invalid --url {show!r}: give an http:// or https:// address")
    parts = check_uri("--url", value)
    if not parts.hostname:
        raise DsopsError(f"invalid --url {show!r}: the URL names no host")
    if split_secrets(value)[1]:
        raise DsopsError(f"invalid --url {show!r}: a public home page takes no credentials")
    return value


def with_template_version(answers: Answers, version: str) -> Answers:
    return replace(answers, template_version=version)
