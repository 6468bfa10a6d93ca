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
from typing import Any, Callable, Iterable

from .context import Context, Parsed
from .registry import Check, Issue, ToolMissing

MAX_FINDINGS = 20  # per file: the first ones locate the problem; the rest is noise
COMPOSE = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


# Part of each cached result's name: bump it when what is cached changes meaning.
FORMAT = 2
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
    key = (
        f"{schema}-{FORMAT}-{digest[:16]}-{len(raw)}-{zlib.crc32(raw):08x}-{zlib.adler32(raw):08x}"
    )
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
    path = os.path.join(folder, f"{schema}.json")
    return cached(schema, digest, text, lambda: _validate(path, data))


def cached(
    name: str, digest: str, text: str, compute: Callable[[], list[tuple[str, list[Any]]]]
) -> list[tuple[str, list[Any]]]:
    """``compute()``'s result for ``text`` against the schema ``name`` at ``digest``,
    remembered in the cache (no digest: computed every time)."""
    cache = _cache_file(name, digest, text.encode("utf-8")) if digest else ""
    if cache:
        try:
            with open(cache, encoding="utf-8") as stream:
                return [(str(m), list(p)) for m, p in json.load(stream)]
        except (OSError, ValueError, TypeError):
            pass
    found = compute()
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


def _validate(path: str, data: Any, registry: Any = None) -> list[tuple[str, list[Any]]]:
    import importlib

    # untyped: imported by name, so the type checker needs no stubs
    jsonschema: Any = importlib.import_module("jsonschema")
    best_match = importlib.import_module("jsonschema.exceptions").best_match
    with open(path, encoding="utf-8") as stream:
        schema = json.load(stream)
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema) if registry is None else cls(schema, registry=registry(schema))
    found: list[tuple[str, list[Any]]] = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        # anyOf/oneOf: the branch that came closest says what is wrong; when none did
        # (all alike), the deepest of their errors is the most precise place
        best = best_match([error]) or error
        while best.context:
            best = max(best.context, key=lambda e: len(e.absolute_path))
        message = best.message if len(best.message) <= 240 else best.message[:237] + "..."
        where = list(best.absolute_path)
        if best.validator == "additionalProperties" and isinstance(best.instance, dict):
            # one unexpected key: its own line, not its parent's
            allowed = set(best.schema.get("properties") or ())
            extra = [k for k in best.instance if k not in allowed]
            if len(extra) == 1 and not best.schema.get("patternProperties"):
                where.append(extra[0])
        found.append((message, where))
        if len(found) == MAX_FINDINGS:
            break
    return _without_echoes(found)


def _without_echoes(found: list[tuple[str, list[Any]]]) -> list[tuple[str, list[Any]]]:
    """Drops ``unevaluatedProperties`` errors above another error: a property that
    failed its own schema counts as unevaluated too, so its parent repeats it."""
    return [
        (message, path)
        for message, path in found
        if not message.startswith("Unevaluated properties")
        or not any(p[: len(path)] == path and len(p) > len(path) for _, p in found)
    ]


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


# -- Kubernetes -------------------------------------------------------------------------
_K8S: list[tuple[str, str]] = []


def kubernetes_folder() -> tuple[str, str]:
    """(folder of the strict schemas of the newest Kubernetes that kubernetes-validate
    ships, a digest naming it): found, not imported."""
    if not _K8S:
        import re
        from importlib.util import find_spec

        spec = find_spec("kubernetes_validate")
        if spec is None or spec.origin is None:
            raise ToolMissing("kubernetes-validate")
        base = os.path.join(os.path.dirname(spec.origin), "kubernetes-json-schema")
        versions = []
        for name in os.listdir(base):
            found = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)-local-strict", name)
            if found:
                versions.append((tuple(int(x) for x in found.groups()), name))
        if not versions:
            raise ToolMissing("kubernetes-validate")
        name = max(versions)[1]
        try:
            with open(os.path.join(os.path.dirname(spec.origin), "version.py")) as stream:
                release = stream.read().split("=")[-1].strip().strip("'\"")
        except OSError:
            release = "unknown"
        _K8S.append((os.path.join(base, name), f"{release}-{name}"))
    return _K8S[0]


def _k8s_registry(folder: str) -> Callable[[Any], Any]:
    def build(schema: Any) -> Any:
        import importlib

        referencing: Any = importlib.import_module("referencing")
        with open(os.path.join(folder, "_definitions.json"), encoding="utf-8") as stream:
            definitions = json.load(stream)
        return referencing.Registry().with_resources(
            [
                ("/api/_definitions.json", referencing.Resource.from_contents(definitions)),
            ]
        )

    return build


def _patches(ctx: Context) -> set[str]:
    """Files the kustomizations under k8s/ use as patches (partial objects)."""
    found: set[str] = set()
    for rel in ctx.files:
        if not rel.startswith("k8s/") or rel.rsplit("/", 1)[-1] not in (
            "kustomization.yaml",
            "kustomization.yml",
        ):
            continue
        data = ctx.data(rel)
        if not isinstance(data, dict):
            continue
        folder = rel.rsplit("/", 1)[0]
        listed: list[Any] = list(data.get("patchesStrategicMerge") or [])
        listed += [p.get("path") for p in data.get("patches") or [] if isinstance(p, dict)]
        listed += list(data.get("patchesJson6902") or [])
        for item in listed:
            if isinstance(item, dict):
                item = item.get("path")
            if isinstance(item, str):
                found.add(os.path.normpath(f"{folder}/{item}"))
    return found


class KubernetesSchema(Check):
    """Every Kubernetes object under ``k8s/`` (not the kustomizations, not their
    patches) is valid per the Kubernetes OpenAPI schema that ``kubernetes-validate``
    ships, strict flavour, for the newest Kubernetes it knows: field names (``limit``
    for ``limits``), types (``replicas: "2"``), required fields; and its
    ``apiVersion`` still serves its kind (``autoscaling/v2beta2`` was removed in
    1.26). Objects of other groups (custom resources) are left alone. Offline; each
    file's result is cached like the other schemas'."""

    code = "SCH006"
    family = "schemas"
    summary = "Kubernetes manifests are valid per Kubernetes' JSON schemas"

    def manifests(self, ctx: Context) -> list[tuple[str, dict[str, Any]]]:
        patches = _patches(ctx) if any(r.startswith("k8s/") for r in ctx.files) else set()
        found = []
        for rel in ctx.files:
            if not rel.startswith("k8s/") or not rel.endswith((".yaml", ".yml")):
                continue
            if rel in patches:
                continue
            data = ctx.data(rel)
            if (
                isinstance(data, dict)
                and isinstance(data.get("kind"), str)
                and isinstance(data.get("apiVersion"), str)
                and not data["apiVersion"].startswith("kustomize.config.k8s.io/")
            ):
                found.append((rel, data))
        return found

    def applies(self, ctx: Context) -> bool:
        return bool(self.manifests(ctx))

    def run(self, ctx: Context) -> Iterable[Issue]:
        import re

        folder, digest = kubernetes_folder()
        version = re.sub(r"^v(\d+\.\d+).*", r"\1", os.path.basename(folder))
        for rel, data in self.manifests(ctx):
            parsed = ctx.yaml(rel)
            if parsed is None or not parsed.ok:
                continue
            api, kind = data["apiVersion"], data["kind"]
            group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api) if "/" in api else api
            schema = os.path.join(folder, f"{kind.lower()}-{group}.json")
            if not os.path.isfile(schema):
                served = _served(folder, kind)
                if served:  # a kind Kubernetes knows, under an apiVersion it does not serve
                    yield Issue(
                        f"apiVersion {api} does not serve {kind} in Kubernetes {version} "
                        f"(served: {', '.join(served)})",
                        rel,
                        parsed.line("apiVersion") or 1,
                    )
                continue
            text = ctx.text(rel) or ""
            found = cached(
                f"k8s-{kind.lower()}-{group}",
                digest,
                text,
                lambda: _validate(schema, data, _k8s_registry(folder)),
            )
            for message, path in found:
                yield Issue(
                    f"{_where(path)}: {message} (Kubernetes {version} schema)",
                    rel,
                    parsed.line(*path) or 1,
                )


# -- DVC ---------------------------------------------------------------------------------
DVC_SCHEMA = os.path.join(os.path.dirname(__file__), "data", "dvc-yaml.schema.json")
DVC_SCHEMA_DIGEST = "dvcyaml-schema-c8fa4ae8"  # the bundled copy's commit (data/README.md)


class DvcSchema(Check):
    """``dvc.yaml`` is valid per the JSON schema DVC's maintainers publish
    (iterative/dvcyaml-schema, bundled): stage fields and their types (``frozen:
    maybe``, ``cache: "no"``, a plot's ``x`` that is not a string, ``foreach`` with
    ``matrix``...). The structure check ``DVC001`` runs first with plainer messages;
    this one catches the values a key list cannot."""

    code = "SCH007"
    family = "schemas"
    summary = "dvc.yaml is valid per DVC's JSON schema"
    requires = ("DVC001",)

    def applies(self, ctx: Context) -> bool:
        return ctx.is_file("dvc.yaml")

    def run(self, ctx: Context) -> Iterable[Issue]:
        parsed = ctx.yaml("dvc.yaml")
        if parsed is None or not parsed.ok:
            return
        data = parsed.data
        found = cached(
            "dvc-yaml", DVC_SCHEMA_DIGEST, ctx.text("dvc.yaml") or "",
            lambda: _validate(DVC_SCHEMA, data),
        )  # fmt: skip
        for message, path in found:
            yield Issue(
                f"{_where(path)}: {message} (DVC's dvc.yaml schema)",
                "dvc.yaml",
                parsed.line(*path) or 1,
            )


def _served(folder: str, kind: str) -> list[str]:
    """The apiVersions whose schemas ``folder`` has for ``kind`` (``apps/v1``, ``v1``)."""
    import re

    pattern = re.compile(
        rf"{re.escape(kind.lower())}-(?:([a-z0-9]+)-)?(v\d+(?:(?:alpha|beta)\d+)?)\.json"
    )
    found = []
    for name in os.listdir(folder):
        match = pattern.fullmatch(name)
        if match:
            group, version = match.groups()
            found.append(f"{group}/{version}" if group else version)
    return sorted(found)
