"""One read-only check per lesson, on the repository's real state.

A check reads (git's refs and index, dvc.lock, the DVC remote, the MLflow store, the
experiment log, pytest's cache, the installed hooks) and never writes: git runs with
``GIT_OPTIONAL_LOCKS=0`` (no index refresh), SQLite opens read-only, DVC is not run
for a folder remote. Each result names a catalogue message and, when something is
missing, the one command to type next. ``skipped`` always says why; it is never a pass.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ...repository.yamlread import load_yaml
from .. import doctor
from ..facts import Facts
from .lessons import exp_set

PASSED, MISSING, SKIPPED = "passed", "missing", "skipped"
DEFAULT_SERVICE = "http://127.0.0.1:8000"
TIMEOUT = 3.0
# Notebooks the template ships as examples: a stage of "your own" uses another one.
SHIPPED_NOTEBOOKS = frozenset({"notebooks/eda.ipynb"})
QUALITY_TESTS = ("tests/test_data_quality.py", "tests/test_model_quality.py")


@dataclass(frozen=True)
class Note:
    key: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    lesson: str
    status: str
    key: str  # the catalogue message
    values: Mapping[str, Any] = field(default_factory=dict)
    hint: str = ""  # the exact next command
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Probe:
    """What a check may look at besides the files: the environment and the service URL."""

    facts: Facts
    environ: Mapping[str, str]
    service: str = DEFAULT_SERVICE

    @property
    def root(self) -> Path:
        return self.facts.root

    def git(self, *args: str) -> subprocess.CompletedProcess[str] | None:
        env = dict(self.environ)
        env["GIT_OPTIONAL_LOCKS"] = "0"  # never refresh (write) the index
        try:
            return subprocess.run(
                ["git", "-C", str(self.root), *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None

    def git_lines(self, *args: str) -> list[str] | None:
        done = self.git(*args)
        if done is None or done.returncode != 0:
            return None
        return [line for line in done.stdout.splitlines() if line.strip()]

    def is_git(self) -> bool:
        return self.git_lines("rev-parse", "--is-inside-work-tree") == ["true"]

    def changed(self, *paths: str) -> list[str]:
        """Of ``paths``: those untracked, or different from HEAD (staged or not)."""
        present = [p for p in paths if (self.root / p).exists()]
        if not present:
            return []
        tracked = set(self.git_lines("ls-files", "--", *present) or [])
        modified = set(self.git_lines("diff", "--name-only", "HEAD", "--", *present) or [])
        return [p for p in present if p not in tracked or p in modified]


Check = Callable[[Probe], Result]


def run(lesson: str, probe: Probe) -> Result:
    return CHECKS[lesson](probe)


def _not_git(lesson: str, probe: Probe) -> Result:
    return Result(lesson, MISSING, "not_git", {"root": probe.root}, "git init")


# ------------------------------------------------------------------------ lessons


def hooks(probe: Probe) -> Result:
    if not probe.facts.has(".pre-commit-config.yaml"):
        return Result("hooks", SKIPPED, "hooks.no_config")
    if not probe.is_git():
        return _not_git("hooks", probe)
    found = doctor.hooks_installed(probe.facts, probe.environ)
    if found.status == doctor.OK:
        return Result("hooks", PASSED, "hooks.passed", {"count": len(probe.facts.hooks)})
    return Result("hooks", MISSING, "hooks.missing", hint="pre-commit install")


def environment(probe: Probe) -> Result:
    found = doctor.packages(probe.facts, probe.environ)
    status = {doctor.OK: PASSED, doctor.SKIPPED: SKIPPED}.get(found.status, MISSING)
    key = {PASSED: "environment.passed", SKIPPED: "environment.skipped"}.get(
        status, "environment.missing"
    )
    return Result("environment", status, key, {"detail": found.detail}, found.fix)


def data(probe: Probe) -> Result:
    if not probe.is_git():
        return _not_git("data", probe)
    if not probe.facts.dvc:
        return Result("data", MISSING, "data.no_dvc", hint="dvc init")
    pointers = [p for p in probe.facts.dvc_files if not p.startswith(".dvc/")]
    tracked = set(probe.git_lines("ls-files", "--", *pointers) or []) if pointers else set()
    committed = [p for p in pointers if p in tracked]
    if committed:
        return Result(
            "data", PASSED, "data.passed", {"count": len(committed), "paths": ", ".join(committed)}
        )
    if pointers:
        ignore = [str(Path(p).parent / ".gitignore") for p in pointers]
        ignore = [g for g in ignore if (probe.root / g).is_file()]
        return Result(
            "data",
            MISSING,
            "data.uncommitted",
            {"paths": ", ".join(pointers)},
            f"git add {' '.join(pointers + ignore)} && git commit -m \"Version data\"",
        )
    folder = "data/external" if _example(probe.facts) else "data/raw"
    return Result(
        "data",
        MISSING,
        "data.no_pointer",
        hint=f'dvc add {folder}/FILE && git add {folder}/FILE.dvc && git commit -m "Version FILE"',
    )


def remote(probe: Probe) -> Result:
    facts = probe.facts
    if not facts.dvc:
        return Result("remote", MISSING, "data.no_dvc", hint="dvc init")
    default = facts.default_remote
    if default is None:
        return Result(
            "remote",
            MISSING,
            "remote.none",
            hint="dvc remote add -d storage /path/to/shared/folder",
        )
    shown = default.shown(facts.root)
    objects = _objects(probe)
    if not objects:
        return Result("remote", MISSING, "remote.nothing", hint="dvc add data/raw/FILE")
    if default.local:
        folder = default.path(facts.root)
        absent = [
            md5 for md5 in objects if not (folder / "files" / "md5" / md5[:2] / md5[2:]).is_file()
        ]
        values = {"missing": len(absent), "total": len(objects), "remote": shown}
        if absent:
            return Result("remote", MISSING, "remote.not_pushed", values, "dvc push")
        return Result("remote", PASSED, "remote.passed", values)
    return _cloud_status(probe, shown, len(objects))


def _cloud_status(probe: Probe, shown: str, total: int) -> Result:
    """A server remote: DVC itself asks it (reads only; its own tmp files are git-ignored)."""
    import json

    dvc = shutil.which("dvc", path=probe.environ.get("PATH"))
    if dvc is None:
        return Result(
            "remote", SKIPPED, "remote.unchecked", {"remote": shown, "reason": "dvc not found"}
        )
    try:
        done = subprocess.run(
            [dvc, "status", "--cloud", "--json"],
            cwd=probe.root,
            env=dict(probe.environ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        state = json.loads(done.stdout or "null")
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        state, done = None, None
        reason = str(exc)
    if done is None or done.returncode != 0 or not isinstance(state, dict):
        if done is not None:
            said = [line.strip() for line in done.stderr.splitlines() if line.strip()]
            # DVC's own message, not the support footer it prints after it
            reason = next((line for line in said if line.startswith("ERROR")), "no answer")
        return Result("remote", SKIPPED, "remote.unchecked", {"remote": shown, "reason": reason})
    values = {"missing": len(state), "total": total, "remote": shown}
    if state:
        return Result("remote", MISSING, "remote.not_pushed", values, "dvc push")
    return Result("remote", PASSED, "remote.passed", values)


def _objects(probe: Probe) -> list[str]:
    """The md5 of every output named by the committed pointers and dvc.lock."""
    found: list[str] = []
    texts = [p for p in probe.facts.dvc_files if not p.startswith(".dvc/")] + ["dvc.lock"]
    for rel in texts:
        path = probe.root / rel
        if not path.is_file():
            continue
        try:
            data = load_yaml(path.read_text(encoding="utf-8"))
        except Exception:
            continue
        found.extend(_md5s(data))
    return sorted(set(found))


def _md5s(data: Any) -> list[str]:
    """Every ``outs`` entry's md5, at any depth (pointers and dvc.lock stages alike)."""
    found: list[str] = []
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key == "outs" and isinstance(value, list):
                for out in value:
                    md5 = out.get("md5") if isinstance(out, Mapping) else None
                    if isinstance(md5, str) and re.fullmatch(r"[0-9a-f]{32}(\.dir)?", md5):
                        found.append(md5)
            else:
                found.extend(_md5s(value))
    elif isinstance(data, list):
        for item in data:
            found.extend(_md5s(item))
    return found


def _lock(probe: Probe) -> Mapping[str, Any] | None:
    path = probe.root / "dvc.lock"
    if not path.is_file():
        return None
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except Exception:
        return None
    stages = data.get("stages") if isinstance(data, Mapping) else None
    return stages if isinstance(stages, Mapping) else {}


def _ran(stage: str, lock: Mapping[str, Any]) -> bool:
    return stage in lock or any(str(k).startswith(stage + "@") for k in lock)


def pipeline(probe: Probe) -> Result:
    facts = probe.facts
    if not facts.stages:
        return Result(
            "pipeline",
            MISSING,
            "pipeline.no_stages",
            hint=_first_stage(facts),
        )
    lock = _lock(probe)
    if lock is None:
        return Result("pipeline", MISSING, "pipeline.not_run", hint="dvc repro")
    stale = [s.name for s in facts.stages if not _ran(s.name, lock)]
    if stale:
        return Result(
            "pipeline", MISSING, "pipeline.stale_stages", {"stages": ", ".join(stale)}, "dvc repro"
        )
    changed = _changed_params(probe, lock)
    if changed:
        return Result(
            "pipeline",
            MISSING,
            "pipeline.params_changed",
            {"keys": ", ".join(changed[:5])},
            "dvc repro",
        )
    if not probe.is_git():
        return _not_git("pipeline", probe)
    record = probe.changed("dvc.yaml", "dvc.lock", "params.yaml", "reports/experiments.csv")
    if record:
        return Result(
            "pipeline",
            MISSING,
            "pipeline.uncommitted",
            {"paths": ", ".join(record)},
            f"git add {' '.join(record)} && git commit -m \"Run the pipeline\"",
        )
    return Result("pipeline", PASSED, "pipeline.passed", {"count": len(facts.stages)})


def _changed_params(probe: Probe, lock: Mapping[str, Any]) -> list[str]:
    """Dotted keys whose value in a params file differs from what dvc.lock recorded."""
    current: dict[str, Any] = {}
    changed: list[str] = []
    for body in lock.values():
        params = body.get("params") if isinstance(body, Mapping) else None
        if not isinstance(params, Mapping):
            continue
        for file, values in params.items():
            if file not in current:
                try:
                    current[file] = load_yaml((probe.root / str(file)).read_text("utf-8"))
                except Exception:
                    current[file] = None
            for key, value in (values or {}).items() if isinstance(values, Mapping) else ():
                for dotted in _differences(str(key), value, _lookup(current[file], str(key))):
                    if dotted not in changed:
                        changed.append(dotted)
    return changed


def _differences(key: str, recorded: Any, now: Any) -> list[str]:
    """``train`` recorded whole: name the keys inside it that changed (train.seed)."""
    if isinstance(recorded, Mapping) and isinstance(now, Mapping):
        found: list[str] = []
        for sub in sorted(set(recorded) | set(now), key=str):
            found.extend(
                _differences(f"{key}.{sub}", recorded.get(sub, _ABSENT), now.get(sub, _ABSENT))
            )
        return found
    return [] if recorded == now else [key]


_ABSENT = object()


def _lookup(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return _ABSENT
        data = data[part]
    return data


def _logs_runs(facts: Facts) -> bool:
    """Does the pipeline log experiments (MLflow + the CSV log)?"""
    return any("log-experiment" in s.cmd or "tracking" in s.cmd for s in facts.stages)


def experiments(probe: Probe) -> Result:
    facts = probe.facts
    if not facts.stages:
        return Result(
            "experiments",
            MISSING,
            "pipeline.no_stages",
            hint=_first_stage(facts),
        )
    if not probe.is_git():
        return _not_git("experiments", probe)
    refs = probe.git_lines("for-each-ref", "--format=%(refname)", "refs/exps/") or []
    names = {r.rsplit("/", 1)[-1] for r in refs if r.count("/") >= 4}
    notes: list[Note] = []
    runs: Any = "-"
    rows: Any = "-"
    if _logs_runs(facts):
        store = facts.tracking.uri if facts.tracking else ""
        runs, reason = mlflow_runs(probe, store)
        if runs is None:
            notes.append(Note("experiments.mlflow_unchecked", {"store": store, "reason": reason}))
            runs = "?"
        elif runs == 0:
            return Result(
                "experiments", MISSING, "experiments.no_mlflow", {"store": store}, "dvc repro"
            )
        rows = _csv_rows(probe.root / "reports" / "experiments.csv")
        if rows == 0:
            return Result("experiments", MISSING, "experiments.no_csv", hint="dvc repro")
    if not names:
        return Result(
            "experiments",
            MISSING,
            "experiments.none",
            hint=f"dvc exp run -S {exp_set(facts)} && dvc exp show",
            notes=tuple(notes),
        )
    values = {"experiments": len(names), "runs": runs, "rows": rows}
    return Result("experiments", PASSED, "experiments.passed", values, notes=tuple(notes))


def mlflow_runs(probe: Probe, uri: str) -> tuple[int | None, str]:
    """How many active runs the store holds, read without writing; (None, why) if unread."""
    if uri.startswith("sqlite:///"):
        path = Path(os.path.expanduser(uri[len("sqlite:///") :]))
        path = path if path.is_absolute() else probe.root / path
        if not path.is_file():
            return 0, ""
        try:
            with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=TIMEOUT) as db:
                row = db.execute(
                    "SELECT COUNT(*) FROM runs WHERE lifecycle_stage = 'active'"
                ).fetchone()
            return int(row[0]), ""
        except sqlite3.Error as exc:
            return None, str(exc)
    if uri.startswith(("http://", "https://")):
        import json
        from urllib.error import URLError
        from urllib.request import Request, urlopen

        request = Request(
            uri.rstrip("/") + "/api/2.0/mlflow/runs/search",
            data=json.dumps({"experiment_ids": [], "max_results": 1}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - http(s) only
                found = json.loads(response.read(1_000_000) or b"{}")
            return len(found.get("runs") or []), ""
        except (URLError, OSError, ValueError) as exc:
            return None, str(exc)
    return None, "this kind of store is not read"


def _csv_rows(path: Path) -> int:
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return max(sum(1 for _ in csv.reader(fh)) - 1, 0)
    except (OSError, UnicodeDecodeError, csv.Error):
        return 0


def tests(probe: Probe) -> Result:
    import json

    if not probe.facts.tests:
        return Result("tests", MISSING, "tests.none", hint="pytest")
    cache = probe.root / ".pytest_cache" / "v" / "cache"
    try:
        nodeids = json.loads((cache / "nodeids").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Result("tests", MISSING, "tests.not_run", hint="pytest")
    try:
        failed = json.loads((cache / "lastfailed").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        failed = {}
    failed = [k for k in failed if isinstance(k, str)] if isinstance(failed, dict) else []
    if failed:
        return Result(
            "tests",
            MISSING,
            "tests.failed",
            {"count": len(failed), "first": failed[0]},
            "pytest --lf",
        )
    seen = {str(n).split("::", 1)[0] for n in nodeids if isinstance(n, str)}
    lacking = [t for t in QUALITY_TESTS if t in probe.facts.tests and t not in seen]
    if lacking:
        return Result(
            "tests", MISSING, "tests.not_covered", {"files": ", ".join(lacking)}, "pytest"
        )
    return Result("tests", PASSED, "tests.passed", {"count": len(nodeids)})


def notebooks(probe: Probe) -> Result:
    facts = probe.facts
    shipped = SHIPPED_NOTEBOOKS if _example(facts) else frozenset()
    own = [
        s
        for s in facts.stages
        if s.notebook and not any(d in shipped for d in s.deps if d.endswith(".ipynb"))
    ]
    project = facts.name or facts.root.name
    if not own:
        if (facts.root / "src" / _package(facts) / "notebook_stage.py").is_file():
            hint = (
                "cp notebooks/template.ipynb notebooks/NAME.ipynb && "
                f"{project} add-notebook-stage notebooks/NAME.ipynb"
            )
        else:  # not our template: the stage DVC and papermill make by hand
            hint = (
                "dvc stage add -n NAME -d notebooks/NAME.ipynb -o reports/NAME.ipynb "
                '"papermill notebooks/NAME.ipynb reports/NAME.ipynb"'
            )
        return Result("notebooks", MISSING, "notebooks.none", hint=hint)
    lock = _lock(probe) or {}
    stale = [s.name for s in own if not _ran(s.name, lock)]
    if stale:
        return Result(
            "notebooks",
            MISSING,
            "notebooks.not_run",
            {"stages": ", ".join(stale)},
            "dvc repro " + " ".join(stale),
        )
    return Result(
        "notebooks", PASSED, "notebooks.passed", {"stages": ", ".join(s.name for s in own)}
    )


def ci(probe: Probe) -> Result:
    facts = probe.facts
    if not facts.jobs:
        return Result("ci", SKIPPED, "ci.none")
    if not probe.is_git():
        return _not_git("ci", probe)
    branches = probe.git_lines("branch", "-r", "--contains", "HEAD") or []
    branches = [b.strip() for b in branches if "->" not in b]
    if branches:
        return Result("ci", PASSED, "ci.pushed", {"branches": ", ".join(branches[:3])})
    gitlab = any(j.provider == "gitlab" for j in facts.jobs)
    if gitlab and (facts.root / ".gitlab-ci-local").is_dir():
        return Result("ci", PASSED, "ci.local_run")
    notes: list[Note] = []
    if gitlab and shutil.which("gitlab-ci-local", path=probe.environ.get("PATH")) is None:
        notes.append(Note("ci.no_runner"))
    commit = (probe.git_lines("rev-parse", "--short", "HEAD") or ["HEAD"])[0]
    return Result(
        "ci",
        MISSING,
        "ci.not_pushed",
        {"commit": commit},
        "git remote add origin URL && git push -u origin HEAD",
        tuple(notes),
    )


def serving(probe: Probe) -> Result:
    facts = probe.facts
    package = _package(facts)
    if not package or not (facts.root / "src" / package / "serve.py").is_file():
        return Result("serving", SKIPPED, "serving.no_service")
    project = facts.name or facts.root.name
    notes = (_docker_note(probe, project),)
    if not (facts.root / "models" / "model" / "MLmodel").is_file():
        return Result("serving", MISSING, "serving.no_model", hint="dvc repro", notes=notes)
    url = probe.service.rstrip("/") + "/health"
    if not _answers(url):
        return Result(
            "serving", MISSING, "serving.not_running", {"url": url}, f"{project} serve", notes
        )
    return Result("serving", PASSED, "serving.passed", {"url": url}, notes=notes)


def _answers(url: str) -> bool:
    from urllib.error import URLError
    from urllib.request import urlopen

    try:
        with urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - http(s) only
            return bool(response.status == 200)
    except (URLError, OSError, ValueError):
        return False


def _docker_note(probe: Probe, project: str) -> Note:
    """The container part: only where an engine answers; otherwise the offline variant."""
    docker = shutil.which("docker", path=probe.environ.get("PATH"))
    if docker is not None:
        try:
            done = subprocess.run(
                [docker, "info", "--format", "{{.ServerVersion}}"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            if done.returncode == 0:
                return Note(
                    "serving.docker",
                    {"image": project.lower().replace("_", "-").replace(".", "-")},
                )
        except (OSError, subprocess.TimeoutExpired):
            pass
    return Note("serving.no_docker")


def upgrade(probe: Probe) -> Result:
    from ...upgrade.history import current_version, version_key

    facts = probe.facts
    current = current_version()
    if not probe.is_git():
        return _not_git("upgrade", probe)
    unmerged = sorted({line.split("\t", 1)[-1] for line in probe.git_lines("ls-files", "-u") or []})
    journal = probe.git_lines("rev-parse", "--git-path", "dsops-upgrade") or [""]
    journal_path = Path(journal[0]) if journal[0] else None
    if journal_path is not None and not journal_path.is_absolute():
        journal_path = probe.root / journal_path
    if unmerged or _upgrade_unfinished(journal_path):
        paths = ", ".join(unmerged) or str(journal_path)
        return Result(
            "upgrade",
            MISSING,
            "upgrade.unfinished",
            {"paths": paths},
            "git add FILES && git commit  (or: dsops upgrade --abort)",
        )
    if not facts.ours:
        return Result(
            "upgrade", MISSING, "upgrade.foreign", hint="dsops upgrade --dry-run && dsops upgrade"
        )
    recorded = facts.recorded.get("dsproject_ops_template", "").strip() or "?"
    values = {"recorded": recorded, "current": current}
    try:
        behind = version_key(recorded) < version_key(current)
        ahead = version_key(recorded) > version_key(current)
    except ValueError:
        behind, ahead = True, False
    if behind:
        return Result(
            "upgrade", MISSING, "upgrade.behind", values, "dsops upgrade --dry-run && dsops upgrade"
        )
    if ahead:
        return Result(
            "upgrade",
            MISSING,
            "upgrade.newer",
            values,
            "pip install -U pyscaffoldext-dsproject-ops",
        )
    staged = probe.git_lines("diff", "--cached", "--name-only") or []
    if "setup.cfg" in staged or "setup.cfg" in probe.changed("setup.cfg"):
        paths = ", ".join(staged) or "setup.cfg"
        return Result(
            "upgrade",
            MISSING,
            "upgrade.uncommitted",
            {"paths": paths},
            f'git commit -am "Upgrade to template {current}"',
        )
    return Result("upgrade", PASSED, "upgrade.passed", values)


def _package(facts: Facts) -> str:
    return facts.recorded.get("package", "").strip() or (
        facts.packages[0] if facts.packages else ""
    )


def _first_stage(facts: Facts) -> str:
    module = (_package(facts) or "PACKAGE").replace("/", ".")
    return f'dvc stage add -n NAME -d INPUT -o OUTPUT "python -m {module}.MODULE"'


def _example(facts: Facts) -> bool:
    recorded = facts.recorded.get("dsproject_ops_example")
    if recorded is not None:
        return recorded.strip().lower() == "true"
    return any(s.name == "train" for s in facts.stages)


CHECKS: dict[str, Check] = {
    "hooks": hooks,
    "environment": environment,
    "data": data,
    "remote": remote,
    "pipeline": pipeline,
    "experiments": experiments,
    "tests": tests,
    "notebooks": notebooks,
    "ci": ci,
    "serving": serving,
    "upgrade": upgrade,
}


def _upgrade_unfinished(journal: Path | None) -> bool:
    """An upgrade's journal that still needs the learner: interrupted, or with conflicts.
    A clean upgrade keeps its journal until it is committed (so ``--abort`` works): that
    is "not committed yet", which the staged ``setup.cfg`` tells."""
    if journal is None or not journal.exists():
        return False
    import json

    try:
        state = json.loads((journal / "journal.json").read_text(encoding="utf-8")).get("state")
    except (OSError, ValueError, AttributeError):
        return True  # unreadable: the upgrade's own refusal will say what to do
    return bool(state != "applied")
