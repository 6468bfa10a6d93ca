"""environment: ``environment.yml`` is well-formed and agrees with the package."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Iterable, Iterator, NamedTuple

from ..repository import conda as condaspec
from ..repository import requirements as pip
from .context import Context
from .registry import Check, Finding, Issue

ENV = "environment.yml"
_TOP_KEYS = {"name", "channels", "dependencies", "prefix", "variables", "category"}
# Where a PyPI distribution has another name on conda-forge.
CONDA_NAMES = {"torch": "pytorch", "tables": "pytables", "msgpack": "msgpack-python"}
_PY_VERSION = re.compile(r"(\d+)\.(\d+)")


class Dep(NamedTuple):
    name: str
    spec: str
    line: int | None
    pip: bool


def _pip(text: str) -> tuple[str, str] | None:
    """(name as written, version specifier) of a pip requirement without a marker."""
    req = pip.parse(text.strip())
    if req.error or req.url:
        return None
    return req.written_name, req.specifier


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def env_deps(ctx: Context) -> Iterator[Dep]:
    parsed = ctx.yaml(ENV)
    data = parsed.data if parsed else None
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        return
    for i, dep in enumerate(data["dependencies"]):
        if isinstance(dep, dict):
            for j, pip_dep in enumerate(dep.get("pip") or []):
                yield Dep(
                    "",
                    str(pip_dep),
                    parsed.line("dependencies", i, "pip", j) if parsed else None,
                    True,
                )
        else:
            yield Dep("", str(dep), parsed.line("dependencies", i) if parsed else None, False)


def runtime_requirements(ctx: Context) -> list[tuple[str, str, int | None, str]]:
    """(name, version specifier, line, file) of the package's runtime dependencies."""
    found: list[tuple[str, str, int | None, str]] = []
    raw = ctx.setup_cfg.get("options", {}).get("install_requires")
    if raw is not None:
        base = ctx.ini_line("setup.cfg", "options", "install_requires") or 0
        text = ctx.text("setup.cfg") or ""
        lines = text.splitlines()
        for item in raw.splitlines():
            item = item.split("#", 1)[0].strip()
            if not item:
                continue
            line = (
                next((n for n in range(base, len(lines) + 1) if lines[n - 1].strip() == item), None)
                if base
                else None
            )
            _add(found, item, line, "setup.cfg")
    deps = ctx.pyproject.get("project", {}).get("dependencies")
    if isinstance(deps, list):
        for item in deps:
            found_at = ctx.find_line("pyproject.toml", re.escape(str(item)))
            _add(found, str(item), found_at[0] if found_at else None, "pyproject.toml")
    return found


def _add(
    out: list[tuple[str, str, int | None, str]], item: str, line: int | None, file: str
) -> None:
    found = _pip(item)
    if found and ";" not in item:
        out.append((found[0], found[1], line, file))


class _EnvCheck(Check):
    family = "environment"
    needs: ClassVar[tuple[str, ...]] = (ENV,)

    def applies(self, ctx: Context) -> bool:
        return ctx.is_file(ENV)


class Structure(_EnvCheck):
    """``environment.yml`` has conda's structure: ``name`` (text), ``channels`` (a list
    of text), ``dependencies`` (a list of specs and at most one ``pip:`` list), and no
    other top-level keys than ``prefix`` and ``variables``."""

    code = "ENV001"
    summary = "environment.yml has conda's structure"

    def run(self, ctx: Context) -> Iterable[Issue]:
        parsed = ctx.yaml(ENV)
        data = parsed.data if parsed else None
        if not isinstance(data, dict):
            yield Issue(
                "environment.yml must be a mapping with name, channels, dependencies", ENV, 1
            )
            return
        assert parsed is not None
        for key in data:
            if key not in _TOP_KEYS:
                yield Issue(
                    f"unknown key {key!r}: conda reads only name, channels, "
                    "dependencies, prefix and variables",
                    ENV,
                    parsed.line(key),
                )
        if not isinstance(data.get("name"), str):
            yield Issue("add `name: <environment name>`", ENV, parsed.line("name") or 1)
        channels = data.get("channels")
        if channels is not None and (
            not isinstance(channels, list) or not all(isinstance(c, str) for c in channels)
        ):
            yield Issue("channels must be a list of channel names", ENV, parsed.line("channels"))
        deps = data.get("dependencies")
        if not isinstance(deps, list):
            yield Issue("dependencies must be a list", ENV, parsed.line("dependencies") or 1)
            return
        pip_lists = 0
        for i, dep in enumerate(deps):
            if isinstance(dep, dict):
                if set(dep) != {"pip"} or not isinstance(dep.get("pip"), list):
                    yield Issue(
                        "a mapping in dependencies may only be `pip: [...]`",
                        ENV,
                        parsed.line("dependencies", i),
                    )
                pip_lists += 1
            elif not isinstance(dep, str):
                yield Issue(f"dependency {dep!r} must be text", ENV, parsed.line("dependencies", i))
        if pip_lists > 1:
            yield Issue("more than one `pip:` list: merge them", ENV, parsed.line("dependencies"))
        if pip_lists and not any(isinstance(d, str) and condaspec_name(d) == "pip" for d in deps):
            yield Issue(
                "a `pip:` list needs `pip` itself among the conda dependencies",
                ENV,
                parsed.line("dependencies"),
            )


def condaspec_name(text: str) -> str | None:
    try:
        return condaspec.parse(text).name.lower()
    except condaspec.SpecError:
        return None


class ValidSpecs(_EnvCheck):
    """Every conda dependency is a valid match spec (as conda and py-rattler's
    ``MatchSpec`` read it: ``name``, ``name=1.2``, ``name>=1,<2``, ``name 1.2 build``)
    and every ``pip:`` entry a valid requirement (or ``-e``/``-r`` line).

    conda refuses the whole environment for one bad spec, after a long solve.
    """

    code = "ENV002"
    summary = "every dependency is a valid conda spec or pip requirement"
    requires = ("ENV001",)

    def run(self, ctx: Context) -> Iterable[Issue]:
        for dep in env_deps(ctx):
            if dep.pip:
                text = dep.spec.strip()
                if text.startswith(("-", ".", "/")) or "://" in text or text.startswith("git+"):
                    continue
                if _pip(text) is None:
                    yield Issue(
                        f"pip requirement {text!r} is not valid (name[extras]==version)",
                        ENV,
                        dep.line,
                    )
                continue
            try:
                condaspec.parse(dep.spec)
            except condaspec.SpecError as exc:
                yield Issue(f"invalid conda spec: {exc}", ENV, dep.line)


def _claims(ctx: Context) -> Iterator[tuple[str, int | None, str, str]]:
    """(file, line, X.Y, what) for every place that states the Python version."""
    for dep in env_deps(ctx):
        if not dep.pip and condaspec_name(dep.spec) == "python":
            version = _PY_VERSION.search(dep.spec)
            if version:
                yield ENV, dep.line, version.group(0), "python in environment.yml"
    options = ctx.setup_cfg.get("options", {})
    if options.get("python_requires"):
        version = re.search(r">=?\s*(\d+\.\d+)", options["python_requires"])
        if version:
            yield (
                "setup.cfg",
                ctx.ini_line("setup.cfg", "options", "python_requires"),
                version.group(1),
                "python_requires (its lower bound)",
            )
    requires = ctx.pyproject.get("project", {}).get("requires-python")
    if isinstance(requires, str):
        version = re.search(r">=?\s*(\d+\.\d+)", requires)
        at = ctx.find_line("pyproject.toml", r"^requires-python")
        if version:
            yield (
                "pyproject.toml",
                at[0] if at else None,
                version.group(1),
                "requires-python (its lower bound)",
            )
    mypy = ctx.setup_cfg.get("mypy", {}).get("python_version")
    if mypy:
        yield "setup.cfg", ctx.ini_line(
            "setup.cfg", "mypy", "python_version"
        ), mypy.strip(), "mypy python_version"
    black = ctx.pyproject.get("tool", {}).get("black", {}).get("target-version")
    if isinstance(black, list) and black:
        oldest = min(str(b) for b in black)
        at = ctx.find_line("pyproject.toml", r"^target-version")
        version = re.match(r"py(\d)(\d+)$", oldest)
        if version:
            yield (
                "pyproject.toml",
                at[0] if at else None,
                f"{version.group(1)}.{version.group(2)}",
                "black target-version",
            )
    patterns = [(".gitlab-ci.yml", r"\bpython:(\d+\.\d+)|PYTHON_VERSION:\s*[\"']?(\d+\.\d+)")]
    patterns += [(wf, r"python-version:\s*[\"']?(\d+\.\d+)") for wf in ctx.workflows()]
    patterns += [
        (df, r"^\s*FROM\s+(?:\S*/)?python:(\d+\.\d+)|^\s*ARG\s+PYTHON_VERSION=(\d+\.\d+)")
        for df in ctx.dockerfiles
    ]
    for rel, regex in patterns:
        text = ctx.text(rel)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            found = re.search(regex, line, re.IGNORECASE)
            if found:
                yield rel, number, next(g for g in found.groups() if g), "the Python version"


class PythonVersionAgrees(Check):
    """One Python version everywhere: environment.yml, the package metadata
    (``python_requires``' lower bound, mypy's and black's target), CI images and
    ``python-version``, and the Dockerfile's base image.

    The reference is the recorded answer (``dsproject_ops_python_version``), else
    environment.yml's ``python``. Code that passes CI on one version and runs on
    another in production fails in between.
    """

    code = "ENV003"
    family = "environment"
    summary = "the Python version agrees everywhere"
    needs = (ENV, "setup.cfg", "pyproject.toml")

    def run(self, ctx: Context) -> Iterable[Issue]:
        claims = list(_claims(ctx))
        reference = (ctx.answers or {}).get("python_version")
        source = "the recorded answer (setup.cfg [pyscaffold])"
        if not reference:
            env = [c for c in claims if c[0] == ENV]
            if not env:
                return
            reference, source = env[0][2], "environment.yml"
        for rel, line, version, what in claims:
            if version != reference:
                yield Issue(
                    f"{what} is {version} but {source} says {reference}: use {reference}", rel, line
                )


class RuntimeDepsInEnvironment(_EnvCheck):
    """Every runtime dependency of the package (``install_requires`` in setup.cfg or
    ``[project] dependencies``) is in environment.yml, with the same pinned version.

    Otherwise the conda environment the team develops in is not the one the package
    declares, and ``pip install -e .`` quietly changes it. ``--fix`` gives
    environment.yml the package's pins.
    """

    code = "ENV004"
    summary = "the package's runtime dependencies are in the environment, same versions"
    requires = ("ENV001",)
    needs = (ENV, "setup.cfg", "pyproject.toml")

    def run(self, ctx: Context) -> Iterable[Issue]:
        deps_line = (ctx.yaml(ENV) or _NoLines()).line("dependencies")
        for name, spec, file, found in _disagreements(ctx):
            if found is None:
                yield Issue(
                    f"{name} ({file}) is missing from environment.yml: add " f"`- {name}{spec}`",
                    ENV,
                    deps_line,
                )
            else:
                yield Issue(
                    f"{found.name} is {found.spec or 'unpinned'} here but {file} pins "
                    f"{name}=={_exact(spec)}: make them equal",
                    ENV,
                    found.line,
                )

    def fix(self, ctx: Context, findings: list[Finding]) -> dict[str, str]:
        """environment.yml takes the package's pins (the package metadata is what
        ``pip install`` reads): a differing version is replaced on its line, a
        missing dependency is added before the ``pip:`` entry."""
        text = ctx.text(ENV)
        if text is None:
            return {}
        lines = text.splitlines(keepends=True)
        added: list[str] = []
        for name, spec, _, found in _disagreements(ctx):
            wanted = _exact(spec)
            if found is None:
                if wanted or not spec:
                    added.append(f"{name}=={wanted}" if wanted else name)
                continue
            if not wanted or found.line is None or found.line > len(lines):
                continue
            line = lines[found.line - 1]
            lines[found.line - 1] = re.sub(
                rf"(-\s*[\"']?){re.escape(found.name)}\s*[^\s#\"']*",
                lambda m: f"{m.group(1)}{found.name}=={wanted}",
                line,
                count=1,
            )
        if added:
            runtime = {normalise(name) for name, _, _, _ in runtime_requirements(ctx)}
            at, indent = _insertion_point(ctx, lines, runtime)
            if at is None:
                return {}
            lines[at:at] = [f"{indent}- {dep}\n" for dep in added]
        new = "".join(lines)
        return {ENV: new} if new != text else {}


def _disagreements(ctx: Context) -> Iterator[tuple[str, str, str, Dep | None]]:
    """(name, specifier, file, environment.yml's entry or None when missing) of each
    runtime dependency the environment lacks or pins differently."""
    env: dict[str, Dep] = {}
    for dep in env_deps(ctx):
        if dep.pip:
            found_pip = _pip(dep.spec)
            if found_pip:
                env[normalise(found_pip[0])] = Dep(found_pip[0], found_pip[1], dep.line, True)
        else:
            try:
                parsed = condaspec.parse(dep.spec)
            except condaspec.SpecError:
                # ENV002 reports it; the name alone says the dependency is there
                named = re.match(r"[A-Za-z0-9_.\-]+", dep.spec.strip())
                if named:
                    env[normalise(named.group(0))] = Dep(named.group(0), "?", dep.line, False)
                continue
            env[normalise(parsed.name)] = Dep(parsed.name, parsed.version or "", dep.line, False)
    for name, spec, _, file in runtime_requirements(ctx):
        key = normalise(name)
        found = env.get(key) or env.get(normalise(CONDA_NAMES.get(key, key)))
        if found is None:
            yield name, spec, file, None
            continue
        wanted = _exact(spec)
        if wanted and _exact(found.spec) != wanted and found.spec != "?":
            yield name, spec, file, found


def _insertion_point(ctx: Context, lines: list[str], runtime: set[str]) -> tuple[int | None, str]:
    """(0-based line before which a conda dependency goes, its indentation): after
    the last runtime dependency (before the development tools), else before the
    ``- pip:`` entry, else after the last dependency."""
    parsed = ctx.yaml(ENV)
    data = parsed.data if parsed else None
    if parsed is None or not isinstance(data, dict):
        return None, ""
    deps = data.get("dependencies")
    if not isinstance(deps, list) or not deps:
        return None, ""
    numbers = [parsed.line("dependencies", i) for i in range(len(deps))]
    plain = [n for n, d in zip(numbers, deps) if n and not isinstance(d, dict)]
    if not plain:
        return None, ""
    sample = lines[plain[0] - 1]
    indent = sample[: len(sample) - len(sample.lstrip())]
    ours = [
        n
        for n, d in zip(numbers, deps)
        if n and isinstance(d, str) and normalise(re.split(r"[\s=<>!~\[]", d.strip())[0]) in runtime
    ]
    if ours:
        return max(ours), indent
    pip_at = next((n for n, d in zip(numbers, deps) if n and isinstance(d, dict)), None)
    return (pip_at - 1 if pip_at else plain[-1]), indent


class _NoLines:
    def line(self, *path: Any) -> None:
        return None


def _exact(spec: str) -> str | None:
    match = re.fullmatch(r"={1,3}([^=,|<>!~*]+)", spec.strip())
    return match.group(1) if match else None
