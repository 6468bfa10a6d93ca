"""``dsops doctor``: what this machine and this checkout still need.

Each check looks at the real thing (git's configuration, the installed hook, the
packages importable by the ``python`` on PATH, the remote folder or host, the MLflow
store) and, when something is missing, names the one command that fixes it. A check
whose tool the repository does not use is skipped, not failed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from ..repository import Repository
from .facts import Facts

OK, MISSING, SKIPPED, UNCHECKED = "ok", "missing", "skipped", "unchecked"
TIMEOUT = 3.0  # seconds for a network probe: a doctor must not hang
# A store that always works: a SQLite file in the home folder.
LOCAL_STORE = "export MLFLOW_TRACKING_URI=sqlite:///$HOME/mlflow.db"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


Env = Mapping[str, str]


def run_checks(facts: Facts, environ: Env) -> list[Check]:
    checks: list[Callable[[Facts, Env], Check]] = [
        git_repository,
        git_identity,
        hooks_installed,
        packages,
        dvc_remote,
        mlflow_store,
    ]
    return [check(facts, environ) for check in checks]


def render(facts: Facts, results: list[Check]) -> str:
    lines = [f"dsops doctor: {facts.root}"]
    for result in results:
        tag = f"[{result.status}]".ljust(len(UNCHECKED) + 2)
        lines.append(f"  {tag} {result.name}: {result.detail}")
        if result.fix:
            lines.append(f"  {'':{len(tag)}} fix: {result.fix}")
    bad = sum(r.status == MISSING for r in results)
    lines.append(
        f"{bad} thing(s) to fix." if bad else "Everything this repository needs is in place."
    )
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------- git


def _git(facts: Facts, environ: Env, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=facts.root,
            env=dict(environ),
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def git_repository(facts: Facts, environ: Env) -> Check:
    name = "git repository"
    if shutil.which("git", path=environ.get("PATH")) is None:
        return Check(name, MISSING, "git is not installed", "conda install git")
    done = _git(facts, environ, "rev-parse", "--show-toplevel")
    if done is None or done.returncode != 0:
        return Check(name, MISSING, f"{facts.root} is not inside a git repository", "git init")
    return Check(name, OK, done.stdout.strip())


def git_identity(facts: Facts, environ: Env) -> Check:
    name = "git identity"
    found: dict[str, str] = {}
    for key, variable in (("user.name", "GIT_AUTHOR_NAME"), ("user.email", "GIT_AUTHOR_EMAIL")):
        value = environ.get(variable, "").strip()
        if not value:
            done = _git(facts, environ, "config", "--get", key)
            value = done.stdout.strip() if done is not None and done.returncode == 0 else ""
        if value:
            found[key] = value
    if len(found) == 2:
        return Check(name, OK, f"{found['user.name']} <{found['user.email']}>")
    lacking = [k for k in ("user.name", "user.email") if k not in found]
    fix = " && ".join(
        f'git config --global {key} "{"Your Name" if key == "user.name" else "you@example.com"}"'
        for key in lacking
    )
    return Check(
        name,
        MISSING,
        "git does not know your " + " and ".join(lacking) + " (commits would fail)",
        fix,
    )


def hooks_installed(facts: Facts, environ: Env) -> Check:
    name = "pre-commit hooks"
    if not facts.has(".pre-commit-config.yaml"):
        return Check(name, SKIPPED, "this repository has no .pre-commit-config.yaml")
    done = _git(facts, environ, "rev-parse", "--git-path", "hooks/pre-commit")
    if done is None or done.returncode != 0:
        return Check(name, SKIPPED, "not a git repository: hooks need one")
    hook = Path(done.stdout.strip())
    hook = hook if hook.is_absolute() else facts.root / hook
    try:
        installed = "pre-commit" in hook.read_text(encoding="utf-8", errors="replace")
    except OSError:
        installed = False
    if not installed:
        fix = "pre-commit install"
        if not _on_path("pre-commit", environ):
            # `pre-commit install` would fail with "command not found": install it first.
            fix = f"{_pre_commit_route(facts, environ)} && {fix}"
        return Check(name, MISSING, "not installed: commits skip the style and static checks", fix)
    return Check(name, OK, f"installed ({len(facts.hooks)} hooks run on every commit)")


# ---------------------------------------------------------------------- packages

_PROBE = """
import importlib.util, json, sys
from importlib import metadata
names, package = json.loads(sys.argv[1]), sys.argv[2]
found = {}
for name in names:
    try:
        found[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        found[name] = None
origin = None
if package:
    try:
        spec = importlib.util.find_spec(package)
        origin = spec.origin if spec else None
    except Exception:
        origin = None
print(json.dumps({"python": "%d.%d.%d" % sys.version_info[:3], "found": found,
                  "origin": origin}))
"""


def requirements(facts: Facts) -> dict[str, tuple[str, str]]:
    """``{name: (operator, version)}`` pinned by environment.yml, requirements.txt and
    setup.cfg, read by the repository model's conda and pip readers."""
    from ..repository import conda
    from ..repository import requirements as pip

    repo = facts.repository or Repository(facts.root)
    wanted: dict[str, tuple[str, str]] = {}

    def add(name: str, specifier: str) -> None:
        # Options (-e ., -r file), URLs and pip itself pin nothing we can compare.
        if name and name != "pip":
            wanted[name.lower()] = _operator(specifier)

    for env in ("environment.yml", "environment.yaml"):
        data = repo.data(env)  # a file that does not parse: the tour reports it
        for dep in data.get("dependencies") or [] if isinstance(data, Mapping) else []:
            if isinstance(dep, str):
                try:
                    spec = conda.parse(dep)
                except conda.SpecError:
                    continue
                add(spec.name, spec.version or "")
            elif isinstance(dep, Mapping):
                for req in pip.specs(dep.get("pip") or []):
                    if not req.error and not req.url:
                        add(req.name, req.specifier)
    found = list(repo.requirements("requirements.txt") or [])
    found += pip.lines(repo.setup_cfg.get("options", {}).get("install_requires", ""))
    for req in found:
        if not req.error and not req.url:
            add(req.name, req.specifier)
    return wanted


def _operator(specifier: str) -> tuple[str, str]:
    """The comparison that matters of a specifier: an exact pin when there is one."""
    atoms = [a.strip() for a in re.split(r"[,|]", specifier) if a.strip()]
    exact = [a for a in atoms if a.startswith("=")]
    atom = (exact or atoms or [""])[0]
    match = re.match(r"^(===|==|=|>=|<=|~=|!=|<|>)?\s*(.*)$", atom)
    return (match.group(1) or "", match.group(2)) if match else ("", atom)


def project_python(environ: Env) -> str:
    """The interpreter the user runs: the active environment's, not dsops's own."""
    for candidate in ("python", "python3"):
        found = shutil.which(candidate, path=environ.get("PATH"))
        if found:
            return found
    return sys.executable


def packages(facts: Facts, environ: Env) -> Check:
    name = "environment"
    wanted = requirements(facts)
    if not wanted and not facts.packages:
        return Check(name, SKIPPED, "no environment.yml, setup.cfg pins or package to check")
    fix = install_route(facts, environ)
    python = project_python(environ)
    package = facts.packages[0].replace("/", ".") if facts.packages else ""
    names = [n for n in wanted if n != "python"]
    try:
        done = subprocess.run(
            [python, "-I", "-c", _PROBE, json.dumps(names), package],
            cwd=facts.root,
            env=dict(environ),
            capture_output=True,
            text=True,
            timeout=60,
        )
        probe: dict[str, Any] = json.loads(done.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return Check(name, MISSING, f"cannot run {python}", fix)
    wrong: list[str] = []
    if "python" in wanted:
        op, version = wanted["python"]
        if version and not _matches(probe["python"], op or "=", version):
            wrong.append(f"python {probe['python']} (wanted {version})")
    for dist in names:
        have = probe["found"].get(dist)
        op, version = wanted[dist]
        if have is None:
            wrong.append(f"{dist} not installed")
        elif version and op in ("==", "=") and not _matches(have, op, version):
            wrong.append(f"{dist} {have} (pinned {version})")
    if wrong:
        more = f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
        return Check(name, MISSING, f"{python}: " + ", ".join(wrong[:5]) + more, fix)
    origin = probe.get("origin")
    if package and (not origin or not _inside(Path(origin), facts.root)):
        where = f"from {Path(origin).parent}" if origin else "not importable"
        return Check(
            name, MISSING, f"package {package} is {where}, not this checkout", "pip install -e ."
        )
    return Check(
        name,
        OK,
        f"{python}: {len(names)} pinned package(s) present"
        + (f", {package} installed from this checkout" if package else ""),
    )


def _on_path(tool: str, environ: Env) -> bool:
    return shutil.which(tool, path=environ.get("PATH")) is not None


def _has_conda(environ: Env) -> bool:
    return any(_on_path(tool, environ) for tool in ("conda", "mamba", "micromamba"))


def _testing_extra(facts: Facts) -> bool:
    repo = facts.repository or Repository(facts.root)  # the one reader of setup.cfg
    return "testing" in repo.setup_cfg.get("options.extras_require", {})


def install_route(facts: Facts, environ: Env) -> str:
    """The install command that works on this machine: conda's only where conda is."""
    if facts.has("environment.yml") and _has_conda(environ):
        return "conda env update -f environment.yml --prune"
    if facts.has("requirements.txt"):
        return "pip install -r requirements.txt"
    if facts.has("requirements/lock.txt") and facts.has("setup.cfg"):
        # the README's pip route: the hashed lock, then the project without deps
        return "pip install --require-hashes -r requirements/lock.txt && pip install --no-deps -e ."
    if facts.has("setup.cfg") and _testing_extra(facts):
        return 'pip install -e ".[testing]"'  # the README's pip route: tools included
    return "pip install -e ."


def _pre_commit_route(facts: Facts, environ: Env) -> str:
    """How to get pre-commit itself: the pinned version where the repository pins one."""
    if facts.has("environment.yml") and _has_conda(environ):
        return install_route(facts, environ)
    op, version = requirements(facts).get("pre-commit", ("", ""))
    return (
        f"pip install pre-commit=={version}"
        if op in ("==", "=") and version
        else ("pip install pre-commit")
    )


def _matches(have: str, op: str, version: str) -> bool:
    if op == "==":
        return have == version or have.split("+")[0] == version
    # conda's single '=' is a prefix match: python=3.11 accepts 3.11.7
    return have == version or have.startswith(version + ".")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


# --------------------------------------------------------------- stores and remotes


def dvc_remote(facts: Facts, environ: Env) -> Check:
    name = "DVC remote"
    if not facts.dvc:
        if facts.has("dvc.yaml") or facts.dvc_files:
            return Check(
                name,
                MISSING,
                "dvc.yaml or .dvc files exist but DVC is not " "initialised",
                "dvc init",
            )
        return Check(name, SKIPPED, "this repository does not use DVC")
    remote = facts.default_remote
    if remote is None:
        return Check(
            name,
            MISSING,
            "no default remote: `dvc push` and `dvc pull` have " "nowhere to go",
            "dvc remote add -d storage /path/to/shared/folder",
        )
    if remote.local:
        return _folder(
            name,
            f"remote {remote.name!r}",
            remote.path(facts.root),
            elsewhere=f"dvc remote modify {remote.name} url /a/writable/folder",
        )
    parts = urlsplit(remote.url)
    scheme = parts.scheme.lower()
    ports = {"ssh": 22, "sftp": 22, "http": 80, "https": 443, "webdav": 80, "webdavs": 443}
    if scheme not in ports or not parts.hostname:
        return Check(
            name,
            UNCHECKED,
            f"{remote.url}: a cloud remote needs your credentials; "
            "`dvc push` tells whether they work",
        )
    port = parts.port or ports[scheme]
    if not _reachable(parts.hostname, port):
        return Check(
            name,
            MISSING,
            f"{remote.url}: {parts.hostname}:{port} does not answer",
            f"dvc remote modify {remote.name} url <reachable URL>",
        )
    return Check(name, OK, f"{remote.url} answers")


def mlflow_store(facts: Facts, environ: Env) -> Check:
    name = "MLflow store"
    tracking = facts.tracking
    if tracking is None:
        return Check(
            name, SKIPPED, "no tracking URI (MLFLOW_TRACKING_URI, params.yaml or " "setup.cfg)"
        )
    uri = tracking.uri
    if uri.startswith(("http://", "https://")):
        return _server(name, uri)
    if uri.startswith("sqlite:///"):
        return _database(name, _local(facts.root, uri[len("sqlite:///") :]), LOCAL_STORE)
    if uri.startswith("file:") or ":" not in uri.split("/")[0]:
        path = uri[len("file://") :] if uri.startswith("file://") else uri.removeprefix("file:")
        return _folder(
            name, "tracking folder", _local(facts.root, path), create_ok=True, elsewhere=LOCAL_STORE
        )
    return Check(
        name,
        UNCHECKED,
        f"{uri}: this kind of store is not checked; "
        "`mlflow experiments search` tells whether it answers",
    )


def _local(root: Path, path: str) -> Path:
    target = Path(os.path.expanduser(path))
    return target if target.is_absolute() else root / target


def _folder(
    name: str, label: str, path: Path, create_ok: bool = False, elsewhere: str = ""
) -> Check:
    quoted = shlex.quote(str(path))
    if not path.exists():
        if create_ok and _writable(path.parent):
            return Check(name, OK, f"{label} {path} will be created on first use")
        return Check(name, MISSING, f"{label} {path} does not exist", f"mkdir -p {quoted}")
    if not path.is_dir():
        return Check(
            name,
            MISSING,
            f"{label} {path} is a file, not a folder",
            f"mv {quoted} {quoted}.bak && mkdir -p {quoted}",
        )
    if _read_only_mount(path):
        return Check(name, MISSING, f"{label} {path} is on a read-only file system", elsewhere)
    if not _writable(path):
        return Check(name, MISSING, f"{label} {path} is not writable", f"chmod u+w {quoted}")
    return Check(name, OK, f"{label} {path} exists and is writable")


def _database(name: str, path: Path, elsewhere: str) -> Check:
    folder = path.parent
    if not folder.is_dir():
        return Check(
            name,
            MISSING,
            f"folder {folder} of the SQLite store does not exist",
            f"mkdir -p {shlex.quote(str(folder))}",
        )
    if _read_only_mount(folder):
        return Check(
            name,
            MISSING,
            f"{path} is on a read-only file system: runs cannot be " "logged",
            elsewhere,
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return Check(
            name,
            MISSING,
            f"{path} is read-only: runs cannot be logged",
            f"chmod u+w {shlex.quote(str(path))}",
        )
    if not _writable(folder):
        # SQLite writes a journal beside the database, so the folder must be writable too.
        return Check(
            name,
            MISSING,
            f"folder {folder} is read-only: runs cannot be logged",
            f"chmod u+w {shlex.quote(str(folder))}",
        )
    state = "exists" if path.exists() else "will be created by the first run"
    return Check(name, OK, f"sqlite:///{path} {state} and is writable")


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def _server(name: str, uri: str) -> Check:
    from urllib.error import URLError
    from urllib.request import urlopen

    health = uri.rstrip("/") + "/health"
    try:
        with urlopen(health, timeout=TIMEOUT) as response:  # noqa: S310 - http(s) only
            if response.status == 200:
                return Check(name, OK, f"{uri} answers")
    except (URLError, OSError, ValueError):
        pass
    parts = urlsplit(uri)
    if parts.hostname in ("127.0.0.1", "localhost"):
        fix = (
            f"mlflow server --backend-store-uri sqlite:///mlflow.db --host {parts.hostname}"
            f" --port {parts.port or 5000}"
        )
    else:
        fix = "export MLFLOW_TRACKING_URI=sqlite:///mlflow.db  (a local store until it is back)"
    return Check(name, MISSING, f"tracking server {uri} does not answer", fix)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT):
            return True
    except OSError:
        return False
