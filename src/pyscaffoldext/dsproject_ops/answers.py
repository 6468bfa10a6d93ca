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
from urllib.parse import urlsplit, urlunsplit

from .errors import DsopsError

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
    # Never recorded nor rendered: it only goes to the git-ignored .dvc/config.local.
    dvc_password: str = field(default="", repr=False, compare=False)

    @property
    def gitlab(self) -> bool:
        return self.ci in ("gitlab", "both")

    @property
    def github(self) -> bool:
        return self.ci in ("github", "both")

    def values(self) -> dict[str, Any]:
        """The answers as cookiecutter's questions name them (no secret)."""
        skip = ("dvc_password", "template_version")
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
    clean["ci"] = check_choice("--ci", str(clean["ci"]).lower(), CI_CHOICES)
    clean["python_version"] = check_choice(
        "--python-version", str(clean["python_version"]), PYTHON_CHOICES
    )
    clean["example"] = to_bool("example", clean["example"])
    remote = check_dvc_remote(str(clean.get("dvc_remote") or default_remote(name)))
    clean["dvc_remote"], _user, password = split_credentials(remote)
    if password and not clean.get("dvc_password"):
        clean["dvc_password"] = password
    clean["mlflow_tracking_uri"] = check_tracking_uri(str(clean["mlflow_tracking_uri"]))
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


def check_project_name(name: str) -> str:
    name = name.strip()
    if not _DIST_NAME.match(name):
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
    """``ssh://user:secret@host/p`` -> (``ssh://user@host/p``, ``user``, ``secret``).

    Only the URL without the password is ever written to a tracked file.
    """
    parts = urlsplit(url)
    if "://" not in url or parts.password is None:
        return url, parts.username if "://" in url else None, None
    # Host and port as written (no lower-casing, IPv6 brackets kept): the same
    # string operation as ``__dvc_remote`` in cookiecutter.json, so both front-ends agree.
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username}@{host}" if parts.username else host
    return urlunsplit(parts._replace(netloc=netloc)), parts.username, parts.password


def check_dvc_remote(remote: str) -> str:
    """A URL with a scheme DVC knows, or a filesystem path."""
    value = remote.strip()
    if not value or any(unicodedata.category(c) == "Cc" for c in value):
        raise DsopsError(
            f"invalid --dvc-remote {remote!r}: give a URL (ssh://, s3://, ...) or a folder path"
        )
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme.lower() not in DVC_SCHEMES:
            raise DsopsError(
                f"invalid --dvc-remote {remote!r}: DVC has no {parts.scheme!r} remotes; "
                f"use one of {', '.join(sorted(DVC_SCHEMES))} or a folder path"
            )
        if not parts.netloc:
            raise DsopsError(f"invalid --dvc-remote {remote!r}: the URL names no host or bucket")
        if parts.password is not None and parts.scheme.lower() not in PASSWORD_SCHEMES:
            # Not echoed: the value holds a secret.
            raise DsopsError(
                f"invalid --dvc-remote: {parts.scheme}:// remotes take no password in the URL; "
                "give the URL without it and set credentials with "
                "`dvc remote modify --local default ...`"
            )
        return value
    if re.match(r"^[^/\s:@]+@[^/\s:]+:", value):
        raise DsopsError(
            f"invalid --dvc-remote {remote!r}: an scp-style address; "
            "write it as ssh://user@host/path"
        )
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", value):
        raise DsopsError(
            f"invalid --dvc-remote {remote!r}: neither a URL (scheme://host/path) nor a folder path"
        )
    return value


def check_tracking_uri(uri: str) -> str:
    value = uri.strip()
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    scheme = scheme.split("+", 1)[0]
    if scheme not in MLFLOW_SCHEMES:
        raise DsopsError(
            f"invalid --mlflow-tracking-uri {uri!r}: use sqlite:///file.db, "
            "http(s)://host:port or another MLflow store URI"
        )
    if scheme == "sqlite" and not value.startswith("sqlite:///"):
        raise DsopsError(
            f"invalid --mlflow-tracking-uri {uri!r}: SQLite URIs look like sqlite:///mlflow.db"
        )
    if scheme in ("http", "https") and not urlsplit(value).netloc:
        raise DsopsError(f"invalid --mlflow-tracking-uri {uri!r}: the URL names no host")
    return value


def with_template_version(answers: Answers, version: str) -> Answers:
    return replace(answers, template_version=version)
