"""k8s: the Kubernetes manifests agree with the image and the service they deploy."""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator, NamedTuple

from ..repository.dockerfile import Dockerfile, stages
from .context import Context
from .registry import Check, Issue

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
# `@app.get("/ready", ...)`: the service's GET endpoints, as FastAPI declares them.
_GET_ROUTE = re.compile(r"""@\w+\.get\(\s*["'](/[^"']*)["']""")
_SET_IMAGE = re.compile(r"""kustomize\s+edit\s+set\s+image\s+["']?([\w./:-]+?)=""")


class Container(NamedTuple):
    file: str
    path: tuple[Any, ...]  # of the container in the manifest
    data: dict[str, Any]


def manifests(ctx: Context) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file, parsed object) of every Kubernetes object under k8s/."""
    for rel in ctx.files:
        if rel.startswith("k8s/") and rel.endswith((".yaml", ".yml")):
            data = ctx.data(rel)
            if isinstance(data, dict) and "kind" in data and "apiVersion" in data:
                yield rel, data


def containers(ctx: Context) -> Iterator[Container]:
    for rel, data in manifests(ctx):
        if data.get("kind") not in WORKLOADS:
            continue
        spec = ((data.get("spec") or {}).get("template") or {}).get("spec") or {}
        for index, container in enumerate(spec.get("containers") or []):
            if isinstance(container, dict):
                yield Container(rel, ("spec", "template", "spec", "containers", index), container)


def service_port(ctx: Context) -> tuple[int, str] | None:
    """The port the image's service listens on: CMD's ``--port``, else EXPOSE."""
    for rel in ctx.dockerfiles:
        parsed = ctx.dockerfile(rel)
        if parsed is None or not isinstance(parsed.data, Dockerfile):
            continue
        final = (stages(parsed.data) or [[]])[-1]
        for ins in final:
            words = ins.exec_form() if ins.keyword in ("CMD", "ENTRYPOINT") else None
            if words and "--port" in words[:-1]:
                value = words[words.index("--port") + 1]
                if value.isdigit():
                    return int(value), f"{rel} (CMD --port)"
        for ins in final:
            if ins.keyword == "EXPOSE":
                found = re.match(r"(\d+)", ins.args)
                if found:
                    return int(found.group(1)), f"{rel} (EXPOSE)"
    return None


def service_paths(ctx: Context) -> set[str]:
    """The GET endpoints the package's service declares."""
    package = ctx.package
    found: set[str] = set()
    for rel in ctx.files:
        if package and rel.startswith(f"src/{package}/") and rel.endswith(".py"):
            found.update(_GET_ROUTE.findall(ctx.text(rel) or ""))
    return found


def _line(ctx: Context, rel: str, *path: Any) -> int | None:
    parsed = ctx.yaml(rel)
    return parsed.line(*path) if parsed else None


class _K8s(Check):
    family = "k8s"

    def applies(self, ctx: Context) -> bool:
        return any(True for _ in manifests(ctx))


class PortsAgree(_K8s):
    """The manifests send traffic and probes to the port the image serves on.

    The container's ``containerPort``, every HTTP probe's port (a number, or the
    name of a container port) and a Service's numeric ``targetPort`` equal the
    port of the Dockerfile's ``CMD`` (``--port``) or ``EXPOSE``. A pod probed on
    another port never becomes ready; a Service pointing elsewhere gets refused
    connections.
    """

    code = "K8S001"
    summary = "container, probe and Service ports match the image"

    def run(self, ctx: Context) -> Iterable[Issue]:
        served = service_port(ctx)
        if served is None:
            return
        port, source = served
        named: dict[str, int] = {}
        for container in containers(ctx):
            ports = [p for p in container.data.get("ports") or [] if isinstance(p, dict)]
            for index, spec in enumerate(ports):
                if isinstance(spec.get("name"), str) and isinstance(spec.get("containerPort"), int):
                    named[spec["name"]] = spec["containerPort"]
                if spec.get("containerPort") not in (None, port):
                    yield Issue(
                        f"containerPort {spec['containerPort']} but the image serves on {port} "
                        f"({source})",
                        container.file,
                        _line(
                            ctx, container.file, *container.path, "ports", index, "containerPort"
                        ),
                    )
            for probe in PROBES:
                get = ((container.data.get(probe) or {}).get("httpGet")) or {}
                wanted = get.get("port")
                # A named port that exists was checked as a containerPort above.
                if isinstance(wanted, str) and wanted not in named:
                    yield Issue(
                        f"{probe} port {wanted!r} names no container port",
                        container.file,
                        _line(ctx, container.file, *container.path, probe, "httpGet", "port"),
                    )
                elif isinstance(wanted, int) and wanted != port:
                    yield Issue(
                        f"{probe} port {wanted} is not the image's port {port} ({source})",
                        container.file,
                        _line(ctx, container.file, *container.path, probe, "httpGet", "port"),
                    )
        for rel, data in manifests(ctx):
            if data.get("kind") != "Service":
                continue
            for index, spec in enumerate((data.get("spec") or {}).get("ports") or []):
                target = spec.get("targetPort") if isinstance(spec, dict) else None
                if isinstance(target, int) and target != port:
                    yield Issue(
                        f"targetPort {target} but the image serves on {port} ({source})",
                        rel,
                        _line(ctx, rel, "spec", "ports", index, "targetPort"),
                    )
                elif isinstance(target, str) and named and target not in named:
                    yield Issue(
                        f"targetPort {target!r} names no container port "
                        f"({', '.join(sorted(named))})",
                        rel,
                        _line(ctx, rel, "spec", "ports", index, "targetPort"),
                    )


class ProbePathsExist(_K8s):
    """Every HTTP probe asks an endpoint the service has (``GET /health``,
    ``GET /ready``, ... as the package's service declares them).

    A probe on a path the service does not serve gets 404: the pod is never ready
    (readiness) or restarted forever (liveness).
    """

    code = "K8S002"
    summary = "probe paths are endpoints of the service"

    def run(self, ctx: Context) -> Iterable[Issue]:
        paths = service_paths(ctx)
        if not paths:
            return
        for container in containers(ctx):
            for probe in PROBES:
                get = ((container.data.get(probe) or {}).get("httpGet")) or {}
                path = str(get.get("path", "/")).split("?")[0]
                if get and path not in paths:
                    yield Issue(
                        f"{probe} asks {path}, which the service does not serve "
                        f"(GET {', '.join(sorted(paths))})",
                        container.file,
                        _line(ctx, container.file, *container.path, probe, "httpGet", "path"),
                    )


class ImageIsTheDeployedOne(_K8s):
    """The container's image is the name the CI deploy jobs replace
    (``kustomize edit set image <name>=<registry>@sha256:...``).

    Otherwise the deploy job sets an image nothing uses, and the cluster keeps
    running the placeholder (or an old image).
    """

    code = "K8S003"
    summary = "the manifests' image is the one CI deploys"

    def run(self, ctx: Context) -> Iterable[Issue]:
        names: set[str] = set()
        for rel in [".gitlab-ci.yml", *ctx.workflows()]:
            names.update(_SET_IMAGE.findall(ctx.text(rel) or ""))
        if not names:
            return
        for container in containers(ctx):
            image = str(container.data.get("image", ""))
            name = re.sub(r"(@sha256:\w+|:[\w.-]+)$", "", image)
            if name not in names:
                yield Issue(
                    f"image {image!r}: the CI deploy jobs set {', '.join(sorted(names))}; "
                    "use that name, or change the jobs' `kustomize edit set image`",
                    container.file,
                    _line(ctx, container.file, *container.path, "image"),
                )
