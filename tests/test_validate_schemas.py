"""The official JSON schemas in the static run: offline, located, cached.

The schemas are check-jsonschema's vendored copies, kubernetes-validate's for k8s/ and
DVC's bundled one; a file's findings are remembered under the schema's digest and the
file's checksums, so an unchanged repository never imports jsonschema (measured here
by what a fresh interpreter imported).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from pyscaffoldext.dsproject_ops.validate.runner import validate

CODES = {"SCH001", "SCH002", "SCH003", "SCH004", "SCH006", "SCH007"}


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _imports_after_validate(repo: Path, cache: Path) -> dict[str, object]:
    code = (
        "import json, sys; from pathlib import Path;"
        "from pyscaffoldext.dsproject_ops.validate.runner import validate;"
        f"r = validate(Path({str(repo)!r}));"
        "print(json.dumps({'jsonschema': 'jsonschema' in sys.modules,"
        " 'check_jsonschema': 'check_jsonschema' in sys.modules,"
        " 'kubernetes_validate': 'kubernetes_validate' in sys.modules,"
        " 'findings': [[f.code, f.file, f.line] for f in r.findings],"
        " 'status': {c: s for c, s in r.status.items() if c.startswith('SCH')}}))"
    )
    env = {"XDG_CACHE_HOME": str(cache), "PATH": "/usr/bin:/bin", "HOME": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_generated_repository_passes_every_schema_and_the_second_run_is_cached(
    generate: Callable[..., Path], tmp_path: Path
) -> None:
    repo = generate()
    first = _imports_after_validate(repo, tmp_path / "c")
    assert first["findings"] == []
    status = first["status"]
    assert isinstance(status, dict)
    assert {c for c, s in status.items() if s == "passed"} == CODES, status
    assert first["jsonschema"] and not first["check_jsonschema"]
    assert not first["kubernetes_validate"]  # its schema files are read, it is not imported
    second = _imports_after_validate(repo, tmp_path / "c")
    assert second["findings"] == [] and not second["jsonschema"]


def test_a_finding_is_cached_too(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], tmp_path: Path
) -> None:
    repo = copy_repo(generate())
    ci = repo / ".gitlab-ci.yml"
    ci.write_text(ci.read_text().replace("lint:\n", "lint:\n  when: sometimes\n", 1))
    line = ci.read_text().splitlines().index("  when: sometimes") + 1
    for _ in range(2):
        run = _imports_after_validate(repo, tmp_path / "c")
        assert run["findings"] == [["SCH001", ".gitlab-ci.yml", line]]
    assert not run["jsonschema"]  # the second run read the remembered finding
    cached = list((tmp_path / "c" / "dsproject-ops" / "schemas").glob("gitlab-ci-*.json"))
    assert len(cached) == 1


def test_messages_name_the_path_the_allowed_values_and_the_schema(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    ci = repo / ".gitlab-ci.yml"
    ci.write_text(ci.read_text().replace("lint:\n", "lint:\n  when: sometimes\n", 1))
    (finding,) = validate(repo).findings
    assert finding.message.startswith("lint.when: 'sometimes' is not one of ['on_success'")
    assert finding.message.endswith("(schema gitlab-ci.json)")


def test_a_file_the_structure_check_rejects_is_reported_once(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    ci = repo / ".gitlab-ci.yml"
    ci.write_text(ci.read_text().replace("lint:\n", "lint:\n  colour: red\n", 1))
    result = validate(repo)
    assert {f.code for f in result.findings} == {"CI001"}
    assert result.status["SCH001"] == "skipped"
