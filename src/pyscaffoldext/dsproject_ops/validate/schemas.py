"""CI, Dependabot and compose files against their official JSON schemas, offline.

The schemas are the ones check-jsonschema vendors (SchemaStore's and GitLab's own),
read from its package folder without importing it. ``jsonschema`` is imported only
when a file changed: each file's findings are remembered in
``~/.cache/dsproject-ops/schemas`` under the schema's vendored SHA-256 and the file's
size and checksums, so a repository that did not change costs a small JSON read per
file. Each finding sits at the offending key's line (the error's path looked up in the
parsed YAML). Our semantic checks (``CI...``) run first: a file they already reject is
reported by them, once.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable

from .context import Context, Parsed
from .registry import Check, Issue, ToolMissing

MAX_FINDINGS = 20  # per file: the first ones locate the problem; the rest is noise
COMPOSE = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


_VENDOR: list[str] = []


def vendor_folder() -> str:
    """check-jsonschema's vendored schemas (found, not imported: its import is slow)."""
    if not _VENDOR:
        from importlib.util import find_spec

        spec = find_spec("check_jsonschema")
        if spec is None or spec.origin is None:
            raise ToolMissing("check-jsonschema")
        _VENDOR.append(os.path.join(os.path.dirname(spec.origin), "builtin_schemas", "vendor"))
    return _VENDOR[0]


def _cache_file(schema: str, digest: str, raw: bytes) -> str:
    import zlib  # hashlib would load OpenSSL: too slow for a per-commit hook

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = f"{schema}-{digest[:16]}-{len(raw)}-{zlib.crc32(raw):08x}-{zlib.adler32(raw):08x}"
    return os.path.join(base, "dsproject-ops", "schemas", f"{key}.json")


def errors(schema: str, text: str, data: Any) -> list[tuple[str, list[Any]]]:
    """(message, path) of each way ``data`` breaks the vendored schema ``schema``,
    through the cache."""
    folder = vendor_folder()
    try:
        with open(os.path.join(folder, "sha256", f"{schema}.sha256"), encoding="ascii") as f:
            digest = f.read().strip()
    except OSError:
        digest = ""
    cache = _cache_file(schema, digest, text.encode("utf-8")) if digest else ""
    if cache:
        try:
            with open(cache, encoding="utf-8") as stream:
                return [(str(m), list(p)) for m, p in json.load(stream)]
        except (OSError, ValueError, TypeError):
            pass
    found = _validate(os.path.join(folder, f"{schema}.json"), data)
    if cache:
        try:
            os.makedirs(os.path.dirname(cache), exist_ok=True)
            temporary = f"{cache}.{os.getpid()}.tmp"
            with open(temporary, "w", encoding="utf-8") as stream:
                json.dump(found, stream)
            os.replace(temporary, cache)
        except OSError:
            pass  # a read-only home: validate every time
    return found


def _validate(path: str, data: Any) -> list[tuple[str, list[Any]]]:
    import importlib

    # untyped: imported by name, so the type checker needs no stubs
    jsonschema: Any = importlib.import_module("jsonschema")
    best_match = importlib.import_module("jsonschema.exceptions").best_match
    with open(path, encoding="utf-8") as stream:
        schema = json.load(stream)
    validator = jsonschema.validators.validator_for(schema)(schema)
    found: list[tuple[str, list[Any]]] = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        # anyOf/oneOf: the branch that came closest says what is wrong; when none did
        # (all alike), the deepest of their errors is the most precise place
        best = best_match([error]) or error
        while best.context:
            best = max(best.context, key=lambda e: len(e.absolute_path))
        message = best.message if len(best.message) <= 240 else best.message[:237] + "..."
        found.append((message, list(best.absolute_path)))
        if len(found) == MAX_FINDINGS:
            break
    return found


def _where(path: list[Any]) -> str:
    return ".".join(str(p) for p in path) or "the document"


class _Schema(Check):
    """Base: ``schema`` (a vendored file's name) over ``files(ctx)``."""

    family = "schemas"
    schema = ""

    def files(self, ctx: Context) -> list[str]:
        raise NotImplementedError

    def applies(self, ctx: Context) -> bool:
        return bool(self.files(ctx))

    def document(self, data: Any) -> Any:
        """The data as the schema sees it (YAML 1.1 quirks undone)."""
        return data

    def key(self, part: Any) -> Any:
        """A path element of the schema's error, as a key of the parsed YAML."""
        return part

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel in self.files(ctx):
            parsed: Parsed | None = ctx.yaml(rel)
            if parsed is None or not parsed.ok:
                continue  # SYN001 reports it
            text = ctx.text(rel) or ""
            for message, path in errors(self.schema, text, self.document(parsed.data)):
                keys = [self.key(p) for p in path]
                yield Issue(
                    f"{_where(path)}: {message} (schema {self.schema}.json)",
                    rel,
                    parsed.line(*keys) or 1,
                )


class GitLabSchema(_Schema):
    """``.gitlab-ci.yml`` is valid per GitLab's own JSON schema (the one its editor
    uses): keywords, their types and allowed values, e.g. ``when: sometimes`` or
    ``retry: many``. The structure check ``CI001`` runs first with a plainer message;
    this one catches what a keyword list cannot."""

    code = "SCH001"
    summary = "GitLab CI is valid per GitLab's JSON schema"
    requires = ("CI001",)
    schema = "gitlab-ci"

    def files(self, ctx: Context) -> list[str]:
        return [".gitlab-ci.yml"] if ctx.is_file(".gitlab-ci.yml") else []


class _Workflow(_Schema):
    def document(self, data: Any) -> Any:
        # YAML 1.1 reads the key ``on`` as true; GitHub (YAML 1.2) reads "on".
        if isinstance(data, dict) and True in data:
            return {("on" if k is True else k): v for k, v in data.items()}
        return data


class GitHubWorkflowSchema(_Workflow):
    """Every workflow under ``.github/workflows/`` is valid per SchemaStore's GitHub
    workflow schema: triggers, job and step keywords, their types and allowed values
    (``runs-on``, ``permissions``, ``timeout-minutes``...)."""

    code = "SCH002"
    summary = "GitHub workflows are valid per the workflow JSON schema"
    requires = ("CI005",)
    schema = "github-workflows"

    def files(self, ctx: Context) -> list[str]:
        return ctx.workflows()

    def key(self, part: Any) -> Any:
        return True if part == "on" else part


class DependabotSchema(_Schema):
    """``.github/dependabot.yml`` is valid per SchemaStore's Dependabot v2 schema
    (ecosystems, schedule intervals, the required ``version: 2``)."""

    code = "SCH003"
    summary = "Dependabot's configuration is valid per its JSON schema"
    schema = "dependabot"

    def files(self, ctx: Context) -> list[str]:
        return [r for r in (".github/dependabot.yml", ".github/dependabot.yaml") if ctx.is_file(r)]


class ComposeSchema(_Schema):
    """A Compose file (``compose.yaml``, ``docker-compose.yml``...) is valid per the
    Compose specification's JSON schema."""

    code = "SCH004"
    summary = "Compose files are valid per the compose-spec JSON schema"
    schema = "compose-spec"

    def files(self, ctx: Context) -> list[str]:
        return [r for r in COMPOSE if ctx.is_file(r)]


class ActionSchema(_Schema):
    """A GitHub Action's metadata (``action.yml``) is valid per SchemaStore's schema
    (``runs.using``, inputs, outputs, branding)."""

    code = "SCH005"
    summary = "action.yml is valid per the GitHub Action JSON schema"
    schema = "github-actions"

    def files(self, ctx: Context) -> list[str]:
        return [
            r
            for r in ctx.files
            if r.rsplit("/", 1)[-1] in ("action.yml", "action.yaml")
            and (r.count("/") == 0 or r.startswith(".github/actions/"))
        ]
