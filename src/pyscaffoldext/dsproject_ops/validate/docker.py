"""docker: the Dockerfile builds a small, pinned, non-root image from what exists."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Iterable, Iterator

from ..repository.dockerfile import (  # noqa: F401 - this module's names before the move
    KEYWORDS,
    Dockerfile,
    Instruction,
    parse,
    stages,
)
from . import patterns
from .context import Context
from .registry import Check, Finding, Issue

# CMD/ENTRYPOINT in shell form with nothing a shell would interpret (DKR005's fix)
_WORD = r"[A-Za-z0-9_./:=@%+,-]+"
_SHELL_FORM = re.compile(rf"(\s*)(CMD|ENTRYPOINT)\s+({_WORD}(?: +{_WORD})*) *")
# What must never reach the build context: data, caches, tracking stores, git.
MUST_EXCLUDE = (".git", "data/raw", ".dvc/cache", "mlruns", "mlflow.db", ".venv")


class _Docker(Check):
    family = "docker"

    def applies(self, ctx: Context) -> bool:
        return bool(ctx.dockerfiles)

    def parsed(self, ctx: Context) -> Iterator[tuple[str, Dockerfile]]:
        for rel in ctx.dockerfiles:
            parsed = ctx.dockerfile(rel)
            if parsed is not None and isinstance(parsed.data, Dockerfile):
                yield rel, parsed.data


class Parses(_Docker):
    """The Dockerfile parses: known instructions only, each with arguments, and
    ``FROM`` first (after global ``ARG``\\ s)."""

    code = "DKR001"
    summary = "the Dockerfile parses"

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, dockerfile in self.parsed(ctx):
            for line, message in dockerfile.errors:
                yield Issue(message, rel, line)


def _arg_defaults(dockerfile: Dockerfile) -> dict[str, str]:
    found: dict[str, str] = {}
    for ins in dockerfile.instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG" and "=" in ins.args:
            name, _, value = ins.args.partition("=")
            found[name.strip()] = value.strip().strip("\"'")
    return found


class BaseImagePinned(_Docker):
    """Every base image is pinned to a tag other than ``latest`` (or a digest), so
    rebuilding the same commit gives the same image."""

    code = "DKR002"
    summary = "base images are pinned"
    requires = ("DKR001",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, dockerfile in self.parsed(ctx):
            args = _arg_defaults(dockerfile)
            names: set[str] = set()
            for stage in stages(dockerfile):
                words = stage[0].args.split()
                image = (
                    re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), words[0])
                    if words
                    else ""
                )
                if len(words) >= 3 and words[1].lower() == "as":
                    names.add(words[2])
                if image == "scratch" or image in names or "$" in image:
                    continue
                last = image.rsplit("/", 1)[-1]
                if "@sha256:" in image:
                    continue
                if ":" not in last or last.endswith(":latest"):
                    yield Issue(
                        f"base image {image!r} is not pinned: add a version tag "
                        "(python:3.11-slim) or a digest",
                        rel,
                        stage[0].line,
                    )


class NonRootUser(_Docker):
    """The final stage switches to a non-root ``USER``: a process that escapes the
    application should not be root in the container."""

    code = "DKR003"
    summary = "the image runs as a non-root user"
    requires = ("DKR001",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, dockerfile in self.parsed(ctx):
            final = stages(dockerfile)[-1] if stages(dockerfile) else []
            users = [ins for ins in final if ins.keyword == "USER"]
            if not users:
                if final:
                    yield Issue(
                        "the final stage has no USER: add `USER 10001` after " "creating that user",
                        rel,
                        final[0].line,
                    )
                continue
            name = users[-1].args.split(":")[0].strip()
            if name in ("root", "0"):
                yield Issue(
                    "the image runs as root: switch to an unprivileged user " "(`USER 10001`)",
                    rel,
                    users[-1].line,
                )


class NumericUser(_Docker):
    """``USER`` gives a numeric uid (``USER 10001`` or ``10001:10001``).

    Kubernetes' ``runAsNonRoot`` can only verify a numeric user; hadolint flags names.
    ``--fix`` writes the uid the name stands for, when the repository says which.
    """

    code = "DKR004"
    summary = "USER is numeric"
    severity = "warning"
    requires = ("DKR001",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, dockerfile in self.parsed(ctx):
            for ins in dockerfile.instructions:
                if (
                    ins.keyword == "USER"
                    and not re.fullmatch(r"\d+(?::\d+)?", ins.args.strip())
                    and "$" not in ins.args
                    and ins.args.split(":")[0].strip() != "root"  # DKR003's
                ):
                    yield Issue(
                        f"USER {ins.args} is a name: use the numeric uid " "(`USER 10001`)",
                        rel,
                        ins.line,
                    )

    def fix(self, ctx: Context, findings: list[Finding]) -> dict[str, str]:
        """The name becomes the uid (and gid) it stands for, when the repository says
        which: the Dockerfile's ``useradd -u N`` / ``adduser --uid N`` of that name, else
        the Kubernetes manifests' ``runAsUser`` (and ``runAsGroup``), else Compose's
        numeric ``user:``; ``nobody`` is 65534. Otherwise the finding stays."""
        lines_of = {(f.file, f.line) for f in findings}
        fixed: dict[str, str] = {}
        for rel, dockerfile in self.parsed(ctx):
            text = ctx.text(rel)
            if text is None:
                continue
            lines = text.splitlines(keepends=True)
            for ins in dockerfile.instructions:
                if ins.keyword != "USER" or (rel, ins.line) not in lines_of:
                    continue
                name = ins.args.split(":")[0].strip()
                uid = _uid_from_dockerfile(text, name) or _uid_from_deployment(ctx)
                uid = uid or ("65534" if name == "nobody" else None)
                if uid is None or not 0 < ins.line <= len(lines):
                    continue
                lines[ins.line - 1] = re.sub(
                    r"^(\s*USER\s+)\S+",
                    lambda m: m.group(1) + uid,
                    lines[ins.line - 1],
                    count=1,
                    flags=re.I,
                )
            new = "".join(lines)
            if new != text:
                fixed[rel] = new
        return fixed


def _uid_from_dockerfile(text: str, name: str) -> str | None:
    """``uid[:gid]`` of the ``useradd``/``adduser`` that creates ``name`` with a uid."""
    for command in re.split(r"&&|;|\|\||\n(?![ \t])", text.replace("\\\n", " ")):
        words = command.split()
        if not words or name not in words or not ({"useradd", "adduser"} & set(words)):
            continue
        uid = _option(words, ("-u", "--uid"))
        if uid:
            gid = _option(words, ("-g", "--gid"))
            return f"{uid}:{gid}" if gid else uid
    return None


def _option(words: list[str], names: tuple[str, ...]) -> str | None:
    for i, word in enumerate(words):
        if word in names and i + 1 < len(words) and words[i + 1].isdigit():
            return words[i + 1]
        for option in names:
            if word.startswith(option + "=") and word[len(option) + 1 :].isdigit():
                return word[len(option) + 1 :]
    return None


def _uid_from_deployment(ctx: Context) -> str | None:
    """``uid[:gid]`` the Kubernetes workloads (else Compose) run the image as."""
    from .k8s import manifests

    for _, data in manifests(ctx):
        pod = ((data.get("spec") or {}).get("template") or {}).get("spec") or {}
        contexts = [pod.get("securityContext") or {}]
        contexts += [(c or {}).get("securityContext") or {} for c in pod.get("containers") or []]
        for security in reversed(contexts):  # a container's setting wins over the pod's
            uid, gid = security.get("runAsUser"), security.get("runAsGroup")
            if isinstance(uid, int) and uid > 0:
                return f"{uid}:{gid}" if isinstance(gid, int) else str(uid)
    from .schemas import COMPOSE

    for rel in COMPOSE:
        compose = ctx.data(rel) if ctx.is_file(rel) else None
        services = compose.get("services") if isinstance(compose, dict) else None
        for service in (services or {}).values() if isinstance(services, dict) else ():
            user = str((service or {}).get("user") or "")
            if re.fullmatch(r"[1-9]\d*(?::\d+)?", user) and (service or {}).get("build"):
                return user
    return None


class ExecForm(_Docker):
    """``CMD`` and ``ENTRYPOINT`` use the exec form (``["prog", "arg"]``): in shell
    form the process is ``/bin/sh -c`` and never receives SIGTERM, so the container
    is killed instead of stopped."""

    code = "DKR005"
    summary = "CMD and ENTRYPOINT use the exec form"
    requires = ("DKR001",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, dockerfile in self.parsed(ctx):
            for ins in dockerfile.instructions:
                if ins.keyword in ("CMD", "ENTRYPOINT") and ins.exec_form() is None:
                    yield Issue(
                        f"{ins.keyword} is in shell form: write it as a JSON list "
                        f'({ins.keyword} ["prog", "arg"])',
                        rel,
                        ins.line,
                    )

    def fix(self, ctx: Context, findings: list[Finding]) -> dict[str, str]:
        # Only a one-line command of plain words: quotes, variables, pipes or globs
        # need a shell, and the exec form would change what runs.
        fixed = {}
        for rel in {f.file for f in findings if f.file}:
            lines = (ctx.text(rel) or "").split("\n")
            for finding in findings:
                if finding.file != rel or not finding.line or finding.line > len(lines):
                    continue
                found = _SHELL_FORM.fullmatch(lines[finding.line - 1])
                if found:
                    words = json.dumps(found.group(3).split())
                    lines[finding.line - 1] = f"{found.group(1)}{found.group(2)} {words}"
            text = "\n".join(lines)
            if text != ctx.text(rel):
                fixed[rel] = text
        return fixed


def _dockerignore(ctx: Context, rel: str) -> tuple[str, list[str]]:
    for candidate in (rel + ".dockerignore", ".dockerignore"):
        text = ctx.text(candidate)
        if text is not None:
            return candidate, patterns.parse_lines(text)
    return ".dockerignore", []


class CopySources(_Docker):
    """Every ``COPY``/``ADD`` source exists in the build context (the repository) and
    is not excluded by ``.dockerignore``; otherwise the build fails with "not found"."""

    code = "DKR006"
    summary = "COPY sources exist and are not excluded by .dockerignore"
    requires = ("DKR001",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, dockerfile in self.parsed(ctx):
            _, rules = _dockerignore(ctx, rel)
            for ins in dockerfile.instructions:
                if ins.keyword not in ("COPY", "ADD") or "from" in ins.flags or ins.heredoc:
                    continue
                words = ins.exec_form() or ins.args.split()
                for source in words[:-1]:
                    if "://" in source or "$" in source or source.startswith("git@"):
                        continue
                    path = source.strip("/") if source not in (".", "./") else "."
                    if path == ".":
                        continue
                    matches = (
                        [
                            p
                            for p in ctx.files
                            if fnmatch.fnmatch(p, path) or p.startswith(path.rstrip("/") + "/")
                        ]
                        if any(c in path for c in "*?[")
                        else None
                    )
                    if matches is None and _produced(ctx, path):
                        continue
                    if matches is None and not ctx.exists(path) and ctx.git_ignored(path):
                        yield Issue(
                            f"{ins.keyword} source {source} is generated (git-ignored) "
                            "but no dvc.yaml stage produces it: add the stage, or "
                            "`dvc add` it, so CI can build the image",
                            rel,
                            ins.line,
                            severity="warning",
                        )
                    elif matches is None and not ctx.exists(path):
                        yield Issue(f"{ins.keyword} source {source} does not exist", rel, ins.line)
                    elif matches == []:
                        yield Issue(f"{ins.keyword} source {source} matches no file", rel, ins.line)
                    elif patterns.ignored(path, rules, docker=True):
                        yield Issue(
                            f"{ins.keyword} source {source} is excluded by .dockerignore: "
                            "remove the exclusion or the COPY",
                            rel,
                            ins.line,
                        )


def _produced(ctx: Context, path: str) -> bool:
    """Whether ``path`` is a DVC stage output or ``dvc add``-ed: it exists after
    ``dvc pull``/``dvc repro``, which CI runs before building the image."""
    from .dvc import outputs

    path = path.rstrip("/")
    for out in outputs(ctx) | {p[: -len(".dvc")] for p in ctx.files if p.endswith(".dvc")}:
        if path == out or path.startswith(out + "/"):
            return True
    return False


class ContextExcludes(_Docker):
    """``.dockerignore`` keeps data, caches and tracking stores out of the build
    context: ``.git``, ``data/``, ``.dvc/cache``, ``mlruns``, ``mlflow.db``, ``.venv``.

    Otherwise every build uploads gigabytes, and data ends up in the image.
    """

    code = "DKR007"
    summary = ".dockerignore excludes data and caches"
    severity = "warning"

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel in ctx.dockerfiles:
            ignore_file, rules = _dockerignore(ctx, rel)
            missing = [p for p in MUST_EXCLUDE if not patterns.ignored(p, rules, docker=True)]
            if missing:
                shown = ["data/" if p == "data/raw" else p for p in missing]
                yield Issue(
                    f"the build context includes {', '.join(shown)}: add them to " f"{ignore_file}",
                    ignore_file,
                    1 if ctx.exists(ignore_file) else None,
                )

    def fix(self, ctx: Context, findings: list[Finding]) -> dict[str, str]:
        fixed = {}
        for rel in ctx.dockerfiles:
            ignore_file, rules = _dockerignore(ctx, rel)
            if ignore_file not in {f.file for f in findings} or ignore_file in fixed:
                continue
            missing = [p for p in MUST_EXCLUDE if not patterns.ignored(p, rules, docker=True)]
            text = ctx.text(ignore_file) or ""
            if text and not text.endswith("\n"):
                text += "\n"
            added = ["data/" if p == "data/raw" else p for p in missing]
            fixed[ignore_file] = (
                text + "# kept out of the build context (dsops validate --fix, DKR007)\n"
                "" + "".join(f"{p}\n" for p in added)
            )
        return fixed


# distribution/reference's grammar: lowercase path components, an optional registry
# host (which may hold capitals and a port), an optional tag and digest.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(
    rf"^{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOST = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")
# `docker run` options that take a value (the image is the first word after them).
_RUN_VALUES = {
    "-p", "--publish", "-e", "--env", "--env-file", "-v", "--volume", "--mount", "-w",
    "--workdir", "--name", "--network", "-u", "--user", "--entrypoint", "--platform",
    "-l", "--label", "--add-host", "--cpus", "-m", "--memory", "--restart", "-h",
    "--hostname",
}  # fmt: skip


def valid_reference(image: str) -> bool:
    """Whether Docker accepts ``image`` as an image reference (≤ 255 characters)."""
    if len(image) > 255:
        return False
    first, slash, rest = image.partition("/")
    # The first part is a registry host only with a dot, a port or as localhost.
    if slash and ("." in first or ":" in first or first == "localhost"):
        return bool(_HOST.match(first)) and bool(_PATH.match(rest))
    return bool(_PATH.match(image))


def _command_images(line: str) -> Iterator[str]:
    """Image names that ``docker build -t`` and ``docker run`` are given on a line."""
    for match in re.finditer(r"\bdocker\s+(build|run)\b([^#`\n]*)", line):
        words = match.group(2).split()
        if match.group(1) == "build":
            for i, word in enumerate(words):
                if word in ("-t", "--tag") and i + 1 < len(words):
                    yield words[i + 1].strip("\"'")
                elif word.startswith(("--tag=", "-t=")):
                    yield word.split("=", 1)[1].strip("\"'")
            continue
        skip = False
        for word in words:
            if skip:
                skip = False
            elif word in _RUN_VALUES:
                skip = True
            elif not word.startswith("-"):
                yield word.strip("\"'")
                break


class ImageNames(_Docker):
    """The image names the repository tells people and jobs to build and run
    (``docker build -t NAME``, ``docker run ... NAME`` in the README, docs/, the
    Dockerfile's comments and the CI files) are valid Docker references: lowercase
    path components (``myproj``, not ``MyProj``), an optional registry host and tag.

    Docker refuses ``docker build -t MyProj .`` ("repository name must be lowercase"),
    so a copied command fails on the first try. ``--fix`` lowercases the name.
    """

    code = "DKR008"
    summary = "image names in docker commands are valid references"
    severity = "error"

    def run(self, ctx: Context) -> Iterable[Issue]:
        sources = ctx.files_matching(
            lambda p: p in ("README.md", ".gitlab-ci.yml")
            or p in ctx.dockerfiles
            or (p.startswith("docs/") and p.endswith(".md"))
            or (p.startswith(".github/workflows/") and p.endswith((".yml", ".yaml")))
        )
        for rel in sources:
            for number, line in enumerate((ctx.text(rel) or "").splitlines(), 1):
                for image in _command_images(line):
                    if "$" in image or "{" in image or "<" in image:
                        continue  # a variable or a placeholder
                    if not valid_reference(image):
                        yield Issue(
                            f"{image!r} is not a valid Docker image name: use lowercase "
                            f"letters, digits and . _ - ({image.lower()!r})",
                            rel,
                            number,
                        )

    def fix(self, ctx: Context, findings: list[Finding]) -> dict[str, str]:
        """Lowercases the repository path of each reported image name (a registry
        host and a tag keep their case), when that makes it valid."""
        where: dict[str, set[int]] = {}
        for finding in findings:
            if finding.file and finding.line:
                where.setdefault(finding.file, set()).add(finding.line)
        fixed: dict[str, str] = {}
        for rel, numbers in where.items():
            text = ctx.text(rel)
            if text is None:
                continue
            lines = text.splitlines(keepends=True)
            for number in sorted(numbers):
                if number > len(lines):
                    continue
                line = lines[number - 1]
                for image in list(_command_images(line)):
                    lowered = _lowered(image)
                    if valid_reference(image) or not valid_reference(lowered):
                        continue
                    line = re.sub(
                        rf"(?<![\w./:@-]){re.escape(image)}(?![\w./:@-])", lowered, line, count=1
                    )
                lines[number - 1] = line
            new = "".join(lines)
            if new != text:
                fixed[rel] = new
        return fixed


def _lowered(image: str) -> str:
    """``image`` with its repository path in lowercase."""
    first, slash, rest = image.partition("/")
    host = ""
    if slash and ("." in first or ":" in first or first == "localhost"):
        host, image = first + "/", rest
    name, at, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = ""
    if ":" in last:
        name, _, tag = name.rpartition(":")
        tag = ":" + tag
    return f"{host}{name.lower()}{tag}{at}{digest}"


_PIN = re.compile(
    r"""(?<![\w.\-\[])["']?([A-Za-z0-9][A-Za-z0-9_.\-]*)(\[[^\]\s]*\])?==([^\s"'\\;&|]+)"""
)


def _pip_pins(text: str, dockerfile: Dockerfile) -> Iterator[tuple[str, str, int, int]]:
    """(name as written, version, line, column) of each ``name==version`` that a
    ``RUN ... pip install`` of the Dockerfile installs."""
    lines = text.splitlines()
    runs = [ins for ins in dockerfile.instructions if ins.keyword == "RUN"]
    for index, ins in enumerate(runs):
        if "pip" not in ins.args or "install" not in ins.args:
            continue
        after = [i.line for i in dockerfile.instructions if i.line > ins.line]
        end = min(after) - 1 if after else len(lines)
        for number in range(ins.line, end + 1):
            line = lines[number - 1]
            if line.lstrip().startswith("#"):
                continue
            for match in _PIN.finditer(line):
                yield match.group(1), match.group(3), number, match.start(1) + 1


def _pin_disagreements(
    ctx: Context, rel: str, dockerfile: Dockerfile
) -> Iterator[tuple[str, str, str, str, int, int]]:
    """(name here, version here, version the package pins, its file, line, column)."""
    from .environment import _exact, normalise, runtime_requirements

    wanted = {}
    for name, spec, _, file in runtime_requirements(ctx):
        exact = _exact(spec)
        if exact:
            wanted[normalise(name)] = (exact, file)
    for name, version, line, column in _pip_pins(ctx.text(rel) or "", dockerfile):
        found = wanted.get(normalise(name))
        if found and found[0] != version:
            yield name, version, found[0], found[1], line, column


class PipPinsAgree(_Docker):
    """The versions a Dockerfile's ``pip install name==version`` installs are the ones
    the package pins (``install_requires`` in setup.cfg, or ``[project]
    dependencies``).

    The template pins the runtime in three places that must agree: the package, the
    conda environment (``ENV004``) and the image. Otherwise the image serves the model
    with other library versions than the ones it was trained and tested with.
    ``--fix`` gives the Dockerfile the package's pins.
    """

    code = "DKR009"
    summary = "the Dockerfile's pip pins agree with the package's"
    requires = ("DKR001",)
    needs = ("setup.cfg", "pyproject.toml")

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, dockerfile in self.parsed(ctx):
            for name, have, wanted, file, line, column in _pin_disagreements(ctx, rel, dockerfile):
                yield Issue(
                    f"{name}=={have} here but {file} pins {name}=={wanted}: make them equal",
                    rel,
                    line,
                    column,
                )

    def fix(self, ctx: Context, findings: list[Finding]) -> dict[str, str]:
        fixed: dict[str, str] = {}
        named = {f.file for f in findings}
        for rel, dockerfile in self.parsed(ctx):
            text = ctx.text(rel)
            if text is None or rel not in named:
                continue
            lines = text.splitlines(keepends=True)
            for name, have, wanted, _, line, column in _pin_disagreements(ctx, rel, dockerfile):
                old = lines[line - 1]
                start = column - 1
                token = f"{name}"
                rest = old[start + len(token) :]
                extras = re.match(r"\[[^\]\s]*\]", rest)
                cut = start + len(token) + (extras.end() if extras else 0)
                if old[cut : cut + 2 + len(have)] == f"=={have}":
                    lines[line - 1] = old[:cut] + f"=={wanted}" + old[cut + 2 + len(have) :]
            new = "".join(lines)
            if new != text:
                fixed[rel] = new
        return fixed
