"""What a repository really holds, read from its files: a pure reader.

Every reader takes parsed data and returns plain data; :func:`read` gets the data from
the :class:`~..repository.Repository` model (bounded, never through a symlink out of
the repository). A missing file is simply absent from the facts; a file that cannot be
read or does not parse becomes a :class:`Problem` (with the parser's own message)
instead of an exception, so the tour and the doctor work on any repository, ours or
adopted.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..gitlab import GLOBAL_KEYWORDS, resolve_extends
from ..repository import Parsed, Repository
from ..repository.formats import configobj_section

GITLAB_KEYWORDS = GLOBAL_KEYWORDS
GITLAB_DEFAULT_STAGES = (".pre", "build", "test", "deploy", ".post")
TRACKING_KEYS = ("tracking_uri", "mlflow_tracking_uri")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


@dataclass(frozen=True)
class Stage:
    name: str
    cmd: str
    deps: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()

    @property
    def notebook(self) -> bool:
        return "papermill" in self.cmd or any(d.endswith(".ipynb") for d in self.deps)


@dataclass(frozen=True)
class Job:
    provider: str  # "gitlab" or "github"
    file: str
    name: str
    stage: str  # GitLab stage, or the GitHub workflow's name
    commands: tuple[str, ...] = ()  # the shell lines it runs
    needs: tuple[str, ...] = ()
    manual: str = ""  # "always", "sometimes" (some rules wait for a person) or ""
    environment: str = ""
    uses: tuple[str, ...] = ()  # GitHub actions it calls


@dataclass(frozen=True)
class Hook:
    id: str
    name: str


@dataclass(frozen=True)
class Remote:
    name: str
    url: str  # as written in .dvc/config
    default: bool

    @property
    def local(self) -> bool:
        return "://" not in self.url and not re.match(r"^[A-Za-z][\w+.-]*:", self.url)

    def path(self, root: Path) -> Path:
        """A folder remote's location: DVC resolves relative paths from ``.dvc/``."""
        return Path(os.path.normpath(root / ".dvc" / os.path.expanduser(self.url)))

    def shown(self, root: Path) -> str:
        """The URL as a newcomer at the repository root reads it."""
        if not self.local or os.path.isabs(os.path.expanduser(self.url)):
            return self.url
        return os.path.relpath(self.path(root), root)


@dataclass(frozen=True)
class Tracking:
    uri: str
    source: str  # where the URI was found, in words


@dataclass(frozen=True)
class Facts:
    root: Path
    git: bool = False
    entries: tuple[str, ...] = ()  # every top-level file and folder name
    name: str = ""
    recorded: Mapping[str, str] = field(default_factory=dict)  # setup.cfg [pyscaffold]
    packages: tuple[str, ...] = ()  # import packages under src/ (or at the root)
    console_scripts: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    notebooks: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    dvc: bool = False
    stages: tuple[Stage, ...] = ()
    params: tuple[str, ...] = ()  # dotted keys of params.yaml
    remotes: tuple[Remote, ...] = ()
    dvc_files: tuple[str, ...] = ()
    hooks: tuple[Hook, ...] = ()
    jobs: tuple[Job, ...] = ()
    tracking: Tracking | None = None
    docs_tool: str = ""  # "mkdocs", "sphinx" or ""
    dockerfile: bool = False
    problems: tuple[Problem, ...] = ()
    # the model the facts were read from, for readers that need more (the doctor)
    repository: Repository | None = field(default=None, compare=False, repr=False)

    @property
    def ours(self) -> bool:
        """Was the repository generated (or adopted) by dsproject-ops?"""
        return "dsproject_ops" in self.recorded.get("extensions", "")

    @property
    def default_remote(self) -> Remote | None:
        return next((r for r in self.remotes if r.default), None)

    def has(self, rel: str) -> bool:
        return (self.root / rel).exists()

    def broken(self, rel: str) -> bool:
        """Did ``rel`` (a file or a folder's files) fail to parse?"""
        return any(p.path == rel or p.path.startswith(rel.rstrip("/") + "/") for p in self.problems)


# --------------------------------------------------------------------------- YAML


def _strings(value: Any) -> tuple[str, ...]:
    """A YAML value that may be one string, a list of strings, or a list of mappings
    (``outs: [{model.pkl: {cache: false}}]``), as the names it holds."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Mapping):
        return tuple(str(k) for k in value)
    if isinstance(value, list):
        found: list[str] = []
        for item in value:
            found.extend(_strings(item))
        return tuple(found)
    return (str(value),)


def _commands(value: Any) -> tuple[str, ...]:
    """Script lines as written (a string or a list, possibly nested)."""
    if value is None:
        return ()
    if isinstance(value, list):
        lines: list[str] = []
        for item in value:
            lines.extend(_commands(item))
        return tuple(lines)
    return tuple(line for line in str(value).strip().splitlines() if line.strip())


def _mapping(value: Any, what: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping of {what}, found {type(value).__name__}")
    return value


# ------------------------------------------------------------------------ parsers


def parse_dvc_yaml(data: Any) -> tuple[Stage, ...]:
    data = data or {}
    stages = _mapping(_mapping(data, "keys").get("stages") or {}, "stages")
    found: list[Stage] = []
    for name, body in stages.items():
        body = body if isinstance(body, Mapping) else {}
        if "foreach" in body or "matrix" in body:
            cmd = " ".join(_commands(_mapping(body.get("do", body), "a stage").get("cmd")))
        else:
            cmd = " && ".join(_commands(body.get("cmd")))
        found.append(
            Stage(
                name=str(name),
                cmd=cmd,
                deps=_strings(body.get("deps")),
                outs=_strings(body.get("outs")),
                params=_strings(body.get("params")),
                metrics=_strings(body.get("metrics")),
                plots=_strings(body.get("plots")),
            )
        )
    return tuple(found)


def flatten_keys(data: Any, prefix: str = "") -> tuple[str, ...]:
    """``{"train": {"seed": 1}}`` -> ``("train.seed",)``: the names ``dvc exp run -S`` takes."""
    if not isinstance(data, Mapping) or not data:
        return (prefix,) if prefix else ()
    keys: list[str] = []
    for key, value in data.items():
        keys.extend(flatten_keys(value, f"{prefix}.{key}" if prefix else str(key)))
    return tuple(keys)


def find_key(data: Any, names: tuple[str, ...]) -> str | None:
    """The first value stored under one of ``names``, at any depth."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key in names and isinstance(value, str) and value.strip():
                return value.strip()
        for value in data.values():
            hit = find_key(value, names)
            if hit:
                return hit
    return None


def parse_gitlab_ci(data: Any, file: str = ".gitlab-ci.yml") -> tuple[Job, ...]:
    data = _mapping(data or {}, "jobs")
    order = [str(s) for s in data.get("stages") or GITLAB_DEFAULT_STAGES]
    jobs: list[Job] = []
    for name, body in data.items():
        name = str(name)
        if name in GITLAB_KEYWORDS or name.startswith(".") or not isinstance(body, Mapping):
            continue
        merged = resolve_extends(data, name)
        rules = [r for r in merged.get("rules") or [] if isinstance(r, Mapping)]
        waits = [r.get("when") == "manual" for r in rules]
        manual = (
            "always"
            if merged.get("when") == "manual" or (waits and all(waits))
            else "sometimes" if any(waits) else ""
        )
        environment = merged.get("environment")
        if isinstance(environment, Mapping):
            environment = environment.get("name")
        jobs.append(
            Job(
                provider="gitlab",
                file=file,
                name=name,
                stage=str(merged.get("stage", "test")),
                commands=_commands(merged.get("script")),
                needs=tuple(
                    n if isinstance(n, str) else str(n.get("job", ""))
                    for n in merged.get("needs") or []
                    if isinstance(n, (str, Mapping))
                ),
                manual=manual,
                environment=str(environment or ""),
            )
        )
    rank = {stage: i for i, stage in enumerate(order)}
    return tuple(sorted(jobs, key=lambda j: rank.get(j.stage, len(rank))))


def parse_workflow(data: Any, file: str) -> tuple[Job, ...]:
    data = _mapping(data or {}, "keys")
    title = str(data.get("name") or Path(file).stem)
    jobs: list[Job] = []
    for job_id, body in _mapping(data.get("jobs") or {}, "jobs").items():
        body = body if isinstance(body, Mapping) else {}
        steps = body.get("steps") or []
        commands: list[str] = []
        uses: list[str] = []
        for step in steps if isinstance(steps, list) else []:
            if isinstance(step, Mapping) and step.get("run"):
                commands.extend(_commands(step["run"]))
            elif isinstance(step, Mapping) and step.get("uses"):
                uses.append(str(step["uses"]))
        environment = body.get("environment")
        if isinstance(environment, Mapping):
            environment = environment.get("name")
        needs = body.get("needs") or []
        jobs.append(
            Job(
                provider="github",
                file=file,
                name=str(job_id),
                stage=title,
                commands=tuple(commands),
                needs=tuple(_strings(needs)),
                environment=str(environment or ""),
                uses=tuple(uses),
            )
        )
    return tuple(jobs)


def parse_pre_commit(data: Any) -> tuple[Hook, ...]:
    data = _mapping(data or {}, "keys")
    hooks: list[Hook] = []
    for repo in data.get("repos") or []:
        for hook in (repo or {}).get("hooks") or []:
            if isinstance(hook, Mapping) and hook.get("id"):
                hooks.append(Hook(str(hook["id"]), str(hook.get("name") or hook["id"])))
    return tuple(hooks)


def parse_dvc_config(*configs: Mapping[str, Mapping[str, str]]) -> tuple[Remote, ...]:
    """Remotes from ``.dvc/config`` then ``.dvc/config.local`` (the local file wins)."""
    merged: dict[str, dict[str, str]] = {}
    for config in configs:
        for name, values in config.items():
            merged.setdefault(configobj_section(name), {}).update(
                {k: v.strip().strip("'\"") for k, v in values.items()}
            )
    default = merged.get("core", {}).get("remote", "")
    remotes: list[Remote] = []
    for section, values in merged.items():
        match = re.fullmatch(r'remote\s+"([^"]+)"', section)
        if match:
            remotes.append(Remote(match.group(1), values.get("url", ""), match.group(1) == default))
    return tuple(remotes)


def parse_setup_cfg(
    data: Mapping[str, Mapping[str, str]],
) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """(distribution name, the ``[pyscaffold]`` record, console scripts)."""
    name = str(data.get("metadata", {}).get("name", "")).strip()
    recorded = dict(data.get("pyscaffold", {}))
    scripts: list[str] = []
    for line in data.get("options.entry_points", {}).get("console_scripts", "").splitlines():
        if "=" in line:
            scripts.append(line.split("=", 1)[0].strip())
    return name, recorded, tuple(scripts)


def parse_pyproject(data: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(project name, console scripts) from ``[project]``."""
    project = data.get("project") or {}
    return str(project.get("name") or ""), tuple(str(s) for s in (project.get("scripts") or {}))


def tracking_uri(
    environ: Mapping[str, str], params: Any, recorded: Mapping[str, str]
) -> Tracking | None:
    """Where MLflow runs go, in MLflow's own order: the environment variable wins."""
    if environ.get("MLFLOW_TRACKING_URI"):
        return Tracking(environ["MLFLOW_TRACKING_URI"], "the MLFLOW_TRACKING_URI variable")
    found = find_key(params, TRACKING_KEYS)
    if found:
        return Tracking(found, "params.yaml")
    if recorded.get("dsproject_ops_mlflow_tracking_uri"):
        return Tracking(
            recorded["dsproject_ops_mlflow_tracking_uri"].strip(),
            "the answer recorded in setup.cfg [pyscaffold]",
        )
    return None


# -------------------------------------------------------------------------- disk


def read(root: Path, environ: Mapping[str, str] | None = None) -> Facts:
    """Everything the tour and the doctor need to know about ``root``."""
    environ = os.environ if environ is None else environ
    problems: list[Problem] = []
    try:
        entries = tuple(sorted(p.name for p in root.iterdir()))
    except OSError as exc:
        from ..errors import DsopsError

        raise DsopsError(f"{root}: cannot be read ({exc.strerror or exc})") from None
    repo = Repository(root)
    values: dict[str, Any] = {
        "root": root,
        "git": ".git" in entries,
        "entries": entries,
        "repository": repo,
    }

    def parsed(rel: str, reader: Any, *args: Any) -> Any:
        """``reader(data, *args)`` on the file's parsed content; problems noted."""
        result: Parsed | None = repo.parse_any(rel)
        if result is None:
            return None
        if result.error is not None:
            err = result.error
            where = f" (line {err.line})" if err.line and not err.unreadable else ""
            problems.append(Problem(rel, f"{err.message}{where}"))
            return None
        try:
            return reader(result.data, *args)
        except Exception as exc:  # any shape we did not expect: reported, never raised
            problems.append(Problem(rel, _one_line(exc)))
            return None

    setup = parsed("setup.cfg", parse_setup_cfg)
    project = parsed("pyproject.toml", parse_pyproject)
    recorded: dict[str, str] = {}
    scripts: tuple[str, ...] = ()
    name = ""
    if setup:
        name, recorded, scripts = setup
    if project:
        name = name or project[0]
        scripts = scripts or project[1]
    values.update(name=name, recorded=recorded, console_scripts=scripts)
    files = sorted(set(repo.files) | set(repo.untracked))
    values["packages"] = tuple(p.name.replace(".", "/") for p in repo.packages)
    values["tests"] = tuple(
        f
        for f in files
        if f.startswith("tests/") and f.rsplit("/", 1)[-1].startswith("test_") and f.endswith(".py")
    )
    values["notebooks"] = tuple(
        f
        for f in files
        if f.startswith("notebooks/") and f.endswith(".ipynb") and ".ipynb_checkpoints" not in f
    )
    values["env_files"] = tuple(
        f
        for f in (
            "environment.yml",
            "environment.yaml",
            "requirements.txt",
            "requirements-dev.txt",
            "setup.cfg",
            "pyproject.toml",
        )
        if repo.is_file(f)
    )
    values["dvc"] = repo.is_dir(".dvc")
    values["stages"] = parsed("dvc.yaml", parse_dvc_yaml) or ()
    params_data = parsed("params.yaml", lambda data: data)
    values["params"] = flatten_keys(params_data) if isinstance(params_data, Mapping) else ()
    configs = [parsed(rel, lambda data: data) for rel in (".dvc/config", ".dvc/config.local")]
    values["remotes"] = parse_dvc_config(*(c for c in configs if isinstance(c, Mapping)))
    values["dvc_files"] = tuple(
        f for f in files if f.endswith(".dvc") and not f.startswith(".dvc/")
    )
    values["hooks"] = parsed(".pre-commit-config.yaml", parse_pre_commit) or ()
    jobs: list[Job] = list(parsed(".gitlab-ci.yml", parse_gitlab_ci) or ())
    for rel in files:
        if rel.startswith(".github/workflows/") and rel.count("/") == 2:
            if rel.endswith((".yml", ".yaml")):
                jobs.extend(parsed(rel, parse_workflow, rel) or ())
    values["jobs"] = tuple(jobs)
    values["tracking"] = tracking_uri(environ, params_data, recorded)
    values["docs_tool"] = (
        "mkdocs" if repo.is_file("mkdocs.yml") else "sphinx" if repo.is_file("docs/conf.py") else ""
    )
    values["dockerfile"] = repo.is_file("Dockerfile")
    values["problems"] = tuple(problems)
    return Facts(**values)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
