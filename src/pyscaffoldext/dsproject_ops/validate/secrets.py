"""secrets: no credentials in tracked files, nor in untracked files that are not
ignored (the next ``git add -A`` would commit them)."""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from .context import Context
from .registry import Check, Issue

_PLACEHOLDER = re.compile(
    r"^(?:\$\{?\w+\}?|\$\{\{.*\}\}|\*+|x+|<[^>]*>|\{[^}]*\}|%\(\w+\)s|"
    r"changeme|password|secret|pass|passwd|example|dummy|your[-_]?\w*|"
    r"\.\.\.|pw|user|token)$",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(
    r"\b[a-z][a-z0-9+.\-]*://(?P<user>[^\s:/@'\"]+):(?P<pw>[^\s@/'\"]+)@" r"[^\s/'\"]+",
    re.IGNORECASE,
)
_TOKENS = {
    "aws_id": ("an AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "aws_secret": (
        "an AWS secret access key",
        r"(?i:aws_secret_access_key)\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40}\b",
    ),
    "github": ("a GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "gitlab": ("a GitLab token", r"\bglpat-[A-Za-z0-9_\-]{20,}\b"),
    "slack": ("a Slack token", r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b"),
    "key": ("a private key", r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    "google": ("a Google API key", r"\bAIza[0-9A-Za-z_\-]{35}\b"),
}
# Literal pieces every match contains: a file without any is skipped cheaply.
_HINTS = {
    "aws_id": ("AKIA", "ASIA"),
    "aws_secret": ("ws_secret_access_key", "WS_SECRET_ACCESS_KEY"),
    "github": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "gitlab": ("glpat-",),
    "slack": ("xox",),
    "key": ("PRIVATE KEY-----",),
    "google": ("AIza",),
}
_ASSIGNMENT = re.compile(
    r"^\s*[\"']?(?P<key>[A-Za-z_.\-]*(?:password|passwd|secret|token|api[_-]?key)"
    r"[A-Za-z_.\-]*)[\"']?\s*[:=]\s*[\"']?(?P<value>[^\s\"'#]+)",
    re.IGNORECASE | re.MULTILINE,
)
_HINT = re.compile(r"(?i:pass|secret|token|api.?key)")
_CONFIG_SUFFIXES = (
    ".cfg",
    ".ini",
    ".yml",
    ".yaml",
    ".toml",
    ".env",
    ".conf",
    ".json",
    ".properties",
    "config",
)
SECRET_FILES = (
    ".env",
    ".dvc/config.local",
    "id_rsa",
    "id_ed25519",
    ".netrc",
    ".pypirc",
    "credentials.json",
)


# Untracked files scanned at most: a forgotten, unignored virtual environment must
# not make validate read the world (each file is also size-limited by the model).
MAX_UNTRACKED = 5000
UNTRACKED = " (untracked: the next `git add -A` would commit it)"


def _scan(ctx: Context, notebooks: bool = False) -> Iterator[tuple[str, str, str]]:
    """(path, text, note) of every file to scan: tracked, then untracked and not
    ignored; notebooks only when asked (their outputs are data: only the precise
    token patterns look at them). A file behind a symlink out of the repository is
    never read."""
    tracked = set(ctx.files)
    untracked = [p for p in ctx.untracked if p not in tracked][:MAX_UNTRACKED]
    skipped = (".lock",) if notebooks else (".ipynb", ".lock")
    for rel, note in [(p, "") for p in ctx.files] + [(p, UNTRACKED) for p in untracked]:
        if rel.endswith(skipped) or rel.startswith("tests/data/"):
            continue
        text = ctx.text(rel)
        if text is not None:
            yield rel, text, note


def _pos(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


class PasswordInUrl(Check):
    """No URL in a tracked file, or an untracked one that is not ignored, carries a
    password (``scheme://user:secret@host``).

    Anyone who can read the repository, its forks and its history can use it. Remove
    it, rotate it, and take it from the environment or a git-ignored file.
    """

    code = "SEC001"
    family = "secrets"
    summary = "no passwords in URLs"

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, text, note in _scan(ctx):
            if "://" not in text:
                continue
            for match in _URL_PASSWORD.finditer(text):
                password = match.group("pw")
                if _PLACEHOLDER.match(password) or password.startswith(("$", "{", "%", "<")):
                    continue  # a variable or a placeholder, filled in at run time
                line, col = _pos(text, match.start())
                yield Issue(
                    "a URL with a password: remove the password, rotate it, and read it "
                    "from the environment or a git-ignored file" + note,
                    rel,
                    line,
                    col,
                )


class CloudKeysAndTokens(Check):
    """No cloud keys or access tokens (AWS access keys, GitHub/GitLab/Slack tokens,
    Google API keys, private keys) in tracked files, nor in untracked files that are
    not ignored (the next ``git add -A`` would commit them). Notebooks too: a key
    printed in a cell's output is committed with it.

    Rotate the key, then remove it; CI variables or a secret store hold it instead.
    """

    code = "SEC002"
    family = "secrets"
    summary = "no cloud keys or tokens"

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, text, note in _scan(ctx, notebooks=True):
            for name, hints in _HINTS.items():
                if not any(hint in text for hint in hints):
                    continue
                what, regex = _TOKENS[name]
                for match in re.finditer(regex, text):
                    line, col = _pos(text, match.start())
                    yield Issue(
                        f"{what} in a {'tracked' if not note else 'new'} file: rotate it and "
                        f"remove it{note}",
                        rel,
                        line,
                        col,
                    )


class PasswordAssignments(Check):
    """Configuration files (``*.cfg``, ``*.yml``, ``*.toml``, ``*.env``, ...) assign no
    literal value to keys named like ``password``, ``secret``, ``token`` or
    ``api_key``; references such as ``${VAR}`` or ``$CI_JOB_TOKEN`` are fine.
    Untracked files that are not ignored are scanned too. ``.dvc/config`` is
    ``DVC006``'s (which names the ``dvc remote modify --local`` that moves it)."""

    code = "SEC003"
    family = "secrets"
    summary = "no literal passwords in configuration files"

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, text, note in _scan(ctx):
            if rel == ".dvc/config" or not rel.endswith(_CONFIG_SUFFIXES):
                continue
            if not _HINT.search(text):
                continue
            for match in _ASSIGNMENT.finditer(text):
                value = match.group("value")
                if (
                    _PLACEHOLDER.match(value)
                    or value.startswith(("$", "{", "%"))
                    or value.lower() in ("true", "false", "null", "none", "~", "|", ">", "[]")
                ):
                    continue
                line, col = _pos(text, match.start("key"))
                yield Issue(
                    f"{match.group('key')} has a literal value: take it from the "
                    f"environment or a git-ignored file{note}",
                    rel,
                    line,
                    col,
                )


class SecretFilesNotTracked(Check):
    """Files that hold secrets by convention (``.env``, ``.dvc/config.local``,
    ``.netrc``, ``.pypirc``, SSH keys) are not tracked by git."""

    code = "SEC004"
    family = "secrets"
    summary = "no secret files in git"

    def applies(self, ctx: Context) -> bool:
        return ctx.git_index is not None

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel in ctx.tracked or []:
            name = rel.rsplit("/", 1)[-1]
            if rel in SECRET_FILES or name in SECRET_FILES or name.endswith((".pem", ".key")):
                yield Issue(
                    f"{rel} holds secrets and is tracked: `git rm --cached {rel}`, add "
                    "it to .gitignore and rotate what it held",
                    rel,
                )
