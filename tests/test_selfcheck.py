"""This repository keeps its own promises: pins in step, README's commands in CI,
and its own pre-commit hooks (the tools it generates for users) pass on it."""

from __future__ import annotations

import hashlib
import re
import shutil
import tomllib

import pytest
import yaml
from conftest import BIN, ROOT, base_env, run
from filelock import FileLock
from suite_tools import CACHE

from pyscaffoldext.dsproject_ops.answers import cookiecutter_json


def _test_extras() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = {}
    for requirement in data["project"]["optional-dependencies"]["test"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", requirement)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_template_pins_equal_the_test_environment() -> None:
    """The generated environment is tested in exactly the versions it pins."""
    extras = _test_extras()
    spec = cookiecutter_json()
    for table in ("_pins", "_dev_pins", "_hook_pins", "_extra_pins"):
        for name, version in spec[table].items():
            if table == "_hook_pins" and name in ("pre-commit-hooks", "nbstripout"):
                continue  # only inside hook environments, built by pre-commit itself
            assert extras.get(name.lower()) == version, f"{table}[{name}]"


def test_own_hooks_are_the_generated_hooks_at_the_same_pins() -> None:
    own = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    own_hooks = {h["id"]: h for r in own["repos"] for h in r["hooks"]}
    pins = cookiecutter_json()["_hook_pins"]
    generated = ROOT / "templates" / "{{cookiecutter.project_name}}" / ".pre-commit-config.yaml"
    generated_ids = re.findall(r"- id: ([\w-]+)", generated.read_text())
    assert set(generated_ids) <= set(own_hooks)
    for hook in own_hooks.values():
        for dep in hook.get("additional_dependencies", []):
            name, version = dep.split("==")
            if name in pins:
                assert pins[name] == version, dep


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text().splitlines()
    fence = readme.index("```bash")
    install_line, test_line = readme[fence + 1], readme[fence + 2]
    assert "putup --dsproject-ops demo" in install_line
    command = test_line.split("#")[0].strip()
    assert "pytest" in command
    assert command in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow  # builds the hooks' environments the first time
def test_own_pre_commit_hooks_pass_on_this_repository() -> None:
    # Run on a snapshot of the tracked and new files, so the hooks cannot touch the checkout.
    # The snapshot has one place per checkout, and mypy and black keep their caches
    # between sessions, as they do in a checkout: each checks again what changed, by
    # content (black remembers a file by its path), and what depends on it. The verdict
    # is a cold start's, at a fraction of the CPU.
    place = CACHE / "own-hooks" / hashlib.sha256(str(ROOT).encode()).hexdigest()[:16]
    place.mkdir(parents=True, exist_ok=True)
    files = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    with FileLock(str(place / "lock"), timeout=1800):
        snapshot = place / "repo"
        shutil.rmtree(snapshot, ignore_errors=True)
        try:
            for rel in files.stdout.splitlines():
                source = ROOT / rel
                if source.is_file():
                    target = snapshot / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(source.read_bytes())
            run(["git", "init", "-q"], cwd=snapshot)
            run(["git", "add", "-A"], cwd=snapshot)
            env = base_env()
            env.update(MYPY_CACHE_DIR=str(place / "mypy"), BLACK_CACHE_DIR=str(place / "black"))
            done = run(
                [BIN / "pre-commit", "run", "--all-files", "--show-diff-on-failure"],
                cwd=snapshot,
                env=env,
                check=False,
                timeout=900,
            )
        finally:
            shutil.rmtree(snapshot, ignore_errors=True)
    assert done.returncode == 0, done.stdout[-6000:]
