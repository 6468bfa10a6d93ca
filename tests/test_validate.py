"""Issue 5: ``dsops validate`` as users meet it: the option matrix validates clean,
foreign repositories get a report, outputs keep their documented shapes, the CLI's
exit codes, and ``putup`` failing loudly on a broken template."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from conftest import BIN, run

from pyscaffoldext.dsproject_ops.repository import Repository
from pyscaffoldext.dsproject_ops.repository import conda as condaspec
from pyscaffoldext.dsproject_ops.validate import docsgen, patterns
from pyscaffoldext.dsproject_ops.validate.formats import renderer
from pyscaffoldext.dsproject_ops.validate.formats.json_ import as_dict
from pyscaffoldext.dsproject_ops.validate.registry import all_checks
from pyscaffoldext.dsproject_ops.validate.runner import validate

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
MATRIX = [
    (),
    ("--ci", "gitlab", "--no-example"),
    ("--ci", "github", "--python-version", "3.12"),
    ("--ci", "none", "--dvc-remote", "ssh://deploy@sftp.example.com/srv/dvc"),
    ("--ci", "both", "--python-version", "3.13", "--dvc-remote", "s3://bucket/dvc"),
    # the password goes to the untracked .dvc/config.local only (the same repository
    # test_cicd.py generates)
    ("--dvc-remote", "ssh://ci-user:s3cr3t-pw@dvc.example.com/srv/dvc"),
]


@pytest.fixture(autouse=True)
def _own_cache(validate_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never the user's cache (PC001, the schemas and SYN006 remember what passed):
    # the session's own, shared by its tests (conftest.validate_cache).
    monkeypatch.setenv("XDG_CACHE_HOME", str(validate_cache))


def dsops(*args: str, cwd: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    return run([BIN / "dsops", *args], cwd=cwd, check=check)


def git_commit_all(repo: Path) -> None:
    run(["git", "init", "-q"], cwd=repo)
    run(["git", "add", "-A"], cwd=repo)
    run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x"],
        cwd=repo,
    )


# -- acceptance 1: the matrix ---------------------------------------------------------------
@pytest.mark.slow  # runs every external tool on each repository of the matrix
@pytest.mark.parametrize("options", MATRIX, ids=lambda o: " ".join(o) or "defaults")
def test_generated_repositories_validate_clean_with_external_tools(
    generate: Callable[..., Path], options: tuple[str, ...]
) -> None:
    repo = generate(*options)  # putup itself already refused findings
    result = validate(repo, external=True)
    assert result.findings == [], renderer("human")(result)
    assert result.skipped == {}
    assert not result.ignored
    assert result.external.get("hadolint") == "ran"
    assert result.external.get("dvc") == "ran"
    ci = options[options.index("--ci") + 1] if "--ci" in options else "both"
    if ci in ("github", "both"):
        assert result.external.get("actionlint") == "ran"
    if ci in ("gitlab", "both"):
        assert result.external.get("gitlab-ci-local") == "ran"
    assert not (repo / ".gitlab-ci-local").exists() and not (repo / ".dvc" / "tmp").exists()


def test_cli_on_a_generated_repository_exits_zero_and_says_what_ran(
    generate: Callable[..., Path],
) -> None:
    done = dsops("validate", cwd=generate(), check=True)
    assert "checked against the recorded answers" in done.stdout
    assert "0 errors" not in done.stdout and "checks passed" in done.stdout
    assert "external tools: none requested (--external runs" in done.stdout
    assert "\033[" not in done.stdout  # no colour without a terminal


# -- acceptance 3: repositories not made by us ------------------------------------------------
def hand_made(root: Path) -> Path:
    repo = root / "handmade"
    (repo / "data").mkdir(parents=True)
    (repo / "data" / "sales.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (repo / "main.py").write_text("print('hi')\n", encoding="utf-8")
    (repo / "README.md").write_text(
        "# Sales\n\n```bash\npython main.py\npython train.py\n./run.sh\n```\n", encoding="utf-8"
    )
    (repo / "Dockerfile").write_text(
        "FROM python\nCOPY main.py /app/\nCMD python /app/main.py\n", encoding="utf-8"
    )
    (repo / "config.yml").write_text(
        "db: postgres://admin:hunter22@db.internal/sales\n", encoding="utf-8"
    )
    git_commit_all(repo)
    return repo


def dsproject_shaped(root: Path) -> Path:
    """What pyscaffoldext-dsproject 0.7 generates (PyScaffold 4 + dsproject)."""
    repo = root / "churn"
    for folder in (
        "data/raw",
        "data/interim",
        "data/processed",
        "data/external",
        "models",
        "notebooks",
        "references",
        "reports/figures",
        "src/churn",
        "tests",
        "docs",
    ):
        (repo / folder).mkdir(parents=True)
        (repo / folder / ".gitignore").write_text("*\n!.gitignore\n", encoding="utf-8")
    (repo / "src/churn/__init__.py").write_text("", encoding="utf-8")
    (repo / "setup.cfg").write_text(
        "[metadata]\nname = churn\n\n[options]\npython_requires = >=3.8\npackage_dir =\n"
        '    =src\ninstall_requires =\n    importlib-metadata; python_version<"3.8"\n\n'
        "[options.entry_points]\n\n[pyscaffold]\nversion = 4.6\npackage = churn\n"
        "extensions =\n    dsproject\n    pre_commit\n    no_skeleton\n",
        encoding="utf-8",
    )
    (repo / "environment.yml").write_text(
        "name: churn\nchannels:\n  - defaults\ndependencies:\n  - python>=3.6\n  - pip\n"
        "  - jupyterlab\n  - pandas\n  - pip:\n     - -e .\n",
        encoding="utf-8",
    )
    (repo / ".pre-commit-config.yaml").write_text(
        "exclude: '^docs/conf.py'\nrepos:\n- repo: https://github.com/pre-commit/"
        "pre-commit-hooks\n  rev: v4.4.0\n  hooks:\n  - id: trailing-whitespace\n"
        "- repo: https://github.com/PyCQA/isort\n  rev: main\n  hooks:\n  - id: isort\n",
        encoding="utf-8",
    )
    (repo / "notebooks/template.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
        encoding="utf-8",
    )
    (repo / "README.md").write_text(
        "# churn\n\n```\nconda env create -f environment.yml\nmake docs\n```\n", encoding="utf-8"
    )
    git_commit_all(repo)
    return repo


def ccds_shaped(root: Path) -> Path:
    """What cookiecutter-data-science v2 (ccds) generates, with its README naming a file
    it did not generate."""
    repo = root / "ccds"
    for folder in (
        "data/raw",
        "data/interim",
        "data/processed",
        "data/external",
        "models",
        "notebooks",
        "references",
        "reports/figures",
        "docs/docs",
        "ccds_pkg",
    ):
        (repo / folder).mkdir(parents=True)
        (repo / folder / ".gitkeep").write_text("", encoding="utf-8")
    (repo / "ccds_pkg/__init__.py").write_text("", encoding="utf-8")
    (repo / "ccds_pkg/dataset.py").write_text("", encoding="utf-8")
    (repo / "Makefile").write_text(
        "requirements:\n\tpip install -r requirements.txt\n\ndata: requirements\n"
        "\tpython ccds_pkg/dataset.py\n\nlint:\n\tflake8 ccds_pkg\n",
        encoding="utf-8",
    )
    (repo / "requirements.txt").write_text("pandas\n", encoding="utf-8")
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "ccds_pkg"\nversion = "0.0.1"\nrequires-python = "~=3.10"\n'
        "[tool.ruff]\nline-length = 99\n",
        encoding="utf-8",
    )
    (repo / "docs/mkdocs.yml").write_text("site_name: ccds\n", encoding="utf-8")
    (repo / "README.md").write_text(
        "# ccds\n\n```bash\nmake requirements\nmake data\nmake train\n"
        "python -m ccds_pkg.modeling.train\n```\n\nSee [the docs](docs/docs/index.md).\n",
        encoding="utf-8",
    )
    (repo / ".gitignore").write_text("/data/\n", encoding="utf-8")
    git_commit_all(repo)
    return repo


@pytest.mark.parametrize(
    "make,expected",
    [
        (hand_made, {"GIT001", "SEC001", "DOC001", "DKR002", "DKR003", "DKR005", "LAY002"}),
        (dsproject_shaped, {"PC002", "PC003", "ENV003", "DOC001"}),
        (ccds_shaped, {"DOC001", "DOC002", "LAY002"}),
    ],
)
def test_foreign_repositories_get_a_useful_report_and_no_crash(
    tmp_path: Path, make: Callable[[Path], Path], expected: set[str]
) -> None:
    repo = make(tmp_path)
    result = validate(repo, external=True)
    codes = {f.code for f in result.findings}
    assert expected <= codes, renderer("human")(result)
    assert not any("crashed" in f.message for f in result.findings)
    assert result.answers is None
    report = renderer("human")(result)
    assert "no recorded answers" in report
    for fmt in ("json", "sarif", "junit", "gitlab"):
        renderer(fmt)(result)
    done = dsops("validate", str(repo), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_ccds_report_names_the_missing_make_target_and_module(tmp_path: Path) -> None:
    result = validate(ccds_shaped(tmp_path))
    messages = [f.message for f in result.findings if f.code == "DOC001"]
    assert any("make target 'train'" in m for m in messages)
    assert any("ccds_pkg.modeling.train" in m for m in messages)
    assert not any("'data'" in m or "requirements" in m for m in messages)


# -- acceptance 4: outputs ---------------------------------------------------------------------
@pytest.fixture()
def broken(generate: Callable[..., Path], copy_repo: Callable[[Path], Path]) -> Path:
    """A repository with an error, a warning, an ignored finding and a skipped check."""
    repo = copy_repo(generate())
    with open(repo / "params.yaml", "a", encoding="utf-8") as fh:
        fh.write("broken: value: here\n")
    text = (repo / "Dockerfile").read_text(encoding="utf-8")
    (repo / "Dockerfile").write_text(text.replace("USER 10001:10001", "USER app"), encoding="utf-8")
    (repo / "CHANGELOG.md").unlink()
    with open(repo / "pyproject.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[tool.dsops.validate.per-path-ignores]\n"CHANGELOG.md" = ["LAY001"]\n')
    return repo


def test_sarif_validates_against_the_sarif_2_1_0_schema(broken: Path) -> None:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    log = json.loads(renderer("sarif")(validate(broken)))
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"SYN001", "DKR004", "LAY001"}
    suppressed = [r for r in results if r.get("suppressions")]
    assert [r["ruleId"] for r in suppressed] == ["LAY001"]
    syn = next(r for r in results if r["ruleId"] == "SYN001")
    assert syn["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "params.yaml"
    assert syn["locations"][0]["physicalLocation"]["region"]["startLine"] > 1
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert len(rules) == len(all_checks())


def test_junit_parses_with_a_suite_per_family(broken: Path) -> None:
    root = ET.fromstring(renderer("junit")(validate(broken)))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert "syntax" in suites and "docker" in suites
    failing = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert any(name.startswith("SYN001") for name in failing)
    assert any(name.startswith("DKR004") for name in failing)
    skipped = [c.get("name") for c in root.iter("testcase") if c.find("skipped") is not None]
    assert any(name.startswith("DVC003") for name in skipped)  # params.yaml does not parse
    assert int(suites["syntax"].get("failures")) == 1


def test_json_has_the_documented_shape(broken: Path) -> None:
    data = json.loads(renderer("json")(validate(broken)))
    assert set(data) == {
        "version",
        "tool",
        "root",
        "answers",
        "summary",
        "findings",
        "ignored",
        "checks",
        "external",
    }
    assert data["version"] == 1
    assert set(data["summary"]) == {
        "error",
        "warning",
        "info",
        "ignored",
        "skipped",
        "passed",
        "checks",
    }
    finding_keys = {"code", "family", "severity", "message", "file", "line", "column"}
    assert all(set(f) == finding_keys for f in data["findings"])
    assert data["ignored"][0]["reason"] == "per-path ignore CHANGELOG.md"
    assert data["checks"]["DVC003"] == {
        "status": "skipped",
        "reason": "params.yaml does not parse " "(see the syntax checks)",
    }
    assert data["summary"]["error"] == 1 and data["summary"]["warning"] == 1
    assert data["answers"]["ci"] == "both"
    doc = (ROOT / "docs" / "validate.md").read_text(encoding="utf-8")
    for key in data:
        assert f'"{key}"' in doc


def test_gitlab_code_quality_shape(broken: Path) -> None:
    issues = json.loads(renderer("gitlab")(validate(broken)))
    assert {i["check_name"] for i in issues} == {"SYN001", "DKR004"}
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert issue["location"]["path"] and issue["location"]["lines"]["begin"] >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)


# -- the command line -----------------------------------------------------------------------
def test_cli_exit_codes_formats_and_output_file(broken: Path, tmp_path: Path) -> None:
    assert dsops("validate", cwd=broken).returncode == 1
    assert dsops("validate", "--fail-on", "never", cwd=broken).returncode == 0
    out = tmp_path / "reports" / "gl.json"
    done = dsops("validate", "--format", "gitlab", "--output", str(out), cwd=broken)
    assert done.returncode == 1 and json.loads(out.read_text(encoding="utf-8"))
    assert "report written to" in done.stderr
    assert dsops("validate", str(tmp_path / "nope"), cwd=tmp_path).returncode == 2
    assert dsops("validate", "--format", "xml", cwd=broken).returncode == 2


def test_fail_on_error_passes_with_only_warnings(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    text = (repo / "Dockerfile").read_text(encoding="utf-8")
    (repo / "Dockerfile").write_text(text.replace("USER 10001:10001", "USER app"), encoding="utf-8")
    assert dsops("validate", cwd=repo).returncode == 1
    assert dsops("validate", "--fail-on", "error", cwd=repo).returncode == 0
    with open(repo / "pyproject.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[tool.dsops.validate]\nfail-on = "error"\n')
    assert dsops("validate", cwd=repo).returncode == 0


@pytest.mark.parametrize(
    "config,message",
    [
        ('[tool.dsops.validate.ignore]\nNOPE123 = "x"\n', "unknown check code or family 'NOPE123'"),
        ('[tool.dsops.validate.per-path-ignores]\n"a/*" = ["XYZ"]\n', "'XYZ'"),
        ("[tool.dsops.validate]\ncolour = 1\n", "unknown setting(s) colour"),
        ('[tool.dsops.validate]\nfail-on = "fatal"\n', "fail-on must be one of"),
    ],
)
def test_bad_configuration_is_a_usage_error(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], config: str, message: str
) -> None:
    repo = copy_repo(generate())
    with open(repo / "pyproject.toml", "a", encoding="utf-8") as fh:
        fh.write("\n" + config)
    done = dsops("validate", cwd=repo)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_family_ignore_in_setup_cfg_with_reason(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    text = (repo / "Dockerfile").read_text(encoding="utf-8")
    (repo / "Dockerfile").write_text(text.replace("USER 10001:10001", "USER 0"), encoding="utf-8")
    with open(repo / "setup.cfg", "a", encoding="utf-8") as fh:
        fh.write("\n[dsops.validate]\nignore =\n    docker: the platform builds the image\n")
    done = dsops("validate", cwd=repo, check=True)
    assert "DKR003 (the platform builds the image)" in done.stdout
    assert "configuration: setup.cfg [dsops.validate]" in done.stdout


def test_list_and_explain(tmp_path: Path) -> None:
    listing = dsops("validate", "--list", cwd=tmp_path, check=True).stdout
    for check in all_checks():
        assert check.code in listing
    done = dsops("validate", "--explain", "dvc003", cwd=tmp_path, check=True)
    assert "DVC003" in done.stdout and "params.yaml" in done.stdout
    assert "requires: DVC001" in done.stdout
    assert dsops("validate", "--explain", "XX1", cwd=tmp_path).returncode == 2
    assert "validate" in dsops("--help", cwd=tmp_path, check=True).stdout


def test_a_crashing_check_becomes_a_finding(
    generate: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyscaffoldext.dsproject_ops.validate import docker

    def boom(self: Any, ctx: Any) -> Any:
        raise KeyError("surprise")

    monkeypatch.setattr(docker.ExecForm, "run", boom)
    result = validate(generate())
    crashed = [f for f in result.findings if f.code == "DKR005"]
    assert len(crashed) == 1 and "crashed (KeyError" in crashed[0].message
    assert result.status["DKR006"] == "passed"  # the run went on


# -- putup refuses a generated tree with findings ----------------------------------------------
def test_putup_fails_loudly_when_the_template_produces_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pyscaffold import api

    from pyscaffoldext.dsproject_ops import render as render_mod
    from pyscaffoldext.dsproject_ops.extension import DsprojectOps
    from pyscaffoldext.dsproject_ops.paths import template_root
    from pyscaffoldext.dsproject_ops.validate.action import GeneratedRepositoryInvalid

    bad = tmp_path / "templates"
    shutil.copytree(template_root(), bad)
    readme = next(bad.glob("*/README.md"))
    readme.write_text(
        readme.read_text(encoding="utf-8") + "\n<<<<<<< HEAD\nmine\n", encoding="utf-8"
    )
    monkeypatch.setattr(render_mod, "template_root", lambda: bad)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GeneratedRepositoryInvalid, match="fails `dsops validate`"):
        api.create_project(project_path="demo", extensions=[DsprojectOps("dsproject_ops")])
    err = capsys.readouterr().err
    assert "bug in the" in err and "TPL002" in err and "README.md" in err


# -- building blocks checked against the real tools ----------------------------------------------
SPECS_BOTH_ACCEPT = [
    "numpy",
    "numpy==2.4.6",
    "numpy=2.4",
    "numpy>=1.2",
    "numpy >=1.2",
    "numpy >= 1.2",
    "numpy>=1,<2",
    "numpy 1.2.*",
    "numpy 1.2 py_0",
    "numpy=1.2=py_0",
    "conda-forge::numpy",
    "conda-forge::numpy==1",
    "numpy[version='>=1']",
    "python=3.11",
    "numpy==1|==2",
    "numpy~=1.2",
    "numpy!=1.2",
    "numpy ==1.2",
    "scikit-learn==1.9.1",
    "numpy=1.2.*",
    "numpy *",
    "numpy==1.2.3a1",
]
SPECS_BOTH_REFUSE = [
    "numpy===1",
    "numpy>=",
    "numpy==1.0,",
    "numpy=>1",
    "@foo",
    "numpy[foo=bar]",
    "numpy==",
    "-e .",
]


@pytest.mark.parametrize("spec", SPECS_BOTH_ACCEPT + SPECS_BOTH_REFUSE)
def test_conda_specs_are_read_like_rattler_matchspec(spec: str) -> None:
    from rattler import MatchSpec

    try:
        MatchSpec(spec)
        rattler_ok = True
    except Exception:
        rattler_ok = False
    try:
        condaspec.parse(spec)
        ours_ok = True
    except condaspec.SpecError:
        ours_ok = False
    assert ours_ok == rattler_ok == (spec in SPECS_BOTH_ACCEPT)


@pytest.mark.parametrize("version", ["2", "3", "4"])
def test_repository_listing_agrees_with_git(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], version: str
) -> None:
    repo = copy_repo(generate())
    run(["git", "update-index", "--index-version", version], cwd=repo)
    (repo / "data" / "raw" / "x.csv").write_text("a\n" * 100, encoding="utf-8")
    run(["git", "add", "-f", "data/raw/x.csv"], cwd=repo)
    listed = run(["git", "ls-files", "-z"], cwd=repo).stdout.split("\0")
    model = Repository(repo)
    assert model.tracked == sorted(p for p in listed if p)
    assert model.size("data/raw/x.csv") == 200


@pytest.mark.parametrize(
    "path,rules,docker,expected",
    [
        ("data/raw/x.csv", ["data/"], True, True),
        ("models/model/MLmodel", ["models/*", "!models/model"], True, False),
        ("models/other.pkl", ["models/*", "!models/model"], True, True),
        ("src/pkg/__pycache__/a.pyc", ["**/__pycache__"], True, True),
        (".venv/bin/python", [".venv*/"], False, True),
        ("mlflow.db", ["/mlflow.db"], False, True),
        ("sub/mlflow.db", ["/mlflow.db"], False, False),
        ("sub/x.pyc", ["*.py[cod]"], False, True),
    ],
)
def test_ignore_patterns(path: str, rules: list[str], docker: bool, expected: bool) -> None:
    assert patterns.ignored(path, rules, docker=docker) is expected


def test_docs_list_every_check_and_are_current() -> None:
    text = (ROOT / "docs" / "validate.md").read_text(encoding="utf-8")
    assert docsgen.update(text) == text, (
        "regenerate: python -m " "pyscaffoldext.dsproject_ops.validate.docsgen docs/validate.md"
    )
    for check in all_checks():
        assert f"`{check.code}`" in text


def test_pre_commit_hook_manifest_is_valid() -> None:
    run([BIN / "pre-commit", "validate-manifest", ROOT / ".pre-commit-hooks.yaml"], cwd=ROOT)
    assert "dsops-validate" in (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")


def test_json_dict_shape_is_the_rendered_one(generate: Callable[..., Path]) -> None:
    result = validate(generate())
    assert json.loads(renderer("json")(result)) == json.loads(json.dumps(as_dict(result)))


ODD_CONTENTS = ["", "- just\n- a list\n", "42\n", "key: [1, {a: }]\n", "stages: 5\njobs: []\n"]
ODD_FILES = [
    "dvc.yaml",
    ".gitlab-ci.yml",
    ".github/workflows/ci.yml",
    "environment.yml",
    ".pre-commit-config.yaml",
    "params.yaml",
    "Dockerfile",
    ".dockerignore",
    "README.md",
    ".dvc/config",
]


@pytest.mark.parametrize(
    "content", ODD_CONTENTS, ids=["empty", "list", "scalar", "nested", "wrong-types"]
)
def test_odd_but_parsable_files_never_crash_a_check(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], content: str
) -> None:
    repo = copy_repo(generate())
    for rel in ODD_FILES:
        (repo / rel).write_text(content, encoding="utf-8")
    result = validate(repo)
    crashed = [f for f in result.findings if "crashed" in f.message]
    assert not crashed, renderer("human")(result)
    assert result.findings  # something useful is said about it


@pytest.mark.parametrize(
    "setup_cfg,pyproject",
    [
        ("", ""),
        (
            "[options]\ninstall_requires = 5\n[pyscaffold]\ndsproject_ops_ci = x\n",
            "[project]\ndependencies = 5\nrequires-python = 3\n[tool.black]\ntarget-version = 1\n",
        ),
        ("[options.entry_points]\nconsole_scripts = =\n", "[tool.dsops]\nvalidate = 1\n"),
    ],
    ids=["empty", "wrong-types", "odd-tables"],
)
def test_odd_package_metadata_never_crashes_a_check(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    setup_cfg: str,
    pyproject: str,
) -> None:
    from pyscaffoldext.dsproject_ops.validate.config import ConfigError

    repo = copy_repo(generate())
    (repo / "setup.cfg").write_text(setup_cfg, encoding="utf-8")
    (repo / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    try:
        result = validate(repo)
    except ConfigError as exc:  # a bad [tool.dsops.validate] is a usage error, said in one line
        assert "must be a table" in str(exc)
        return
    crashed = [f for f in result.findings if "crashed" in f.message]
    assert not crashed, renderer("human")(result)


class _Terminal:
    """A stream that says it is a terminal."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.text += text
        return len(text)


def test_colour_only_on_a_terminal_and_never_with_no_color(
    broken: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyscaffoldext.dsproject_ops.validate.cli import write

    result = validate(broken)
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = _Terminal()
    write(result, "human", None, terminal)  # type: ignore[arg-type]
    assert "\033[31mSYN001\033[0m" in terminal.text
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _Terminal()
    write(result, "human", None, plain)  # type: ignore[arg-type]
    assert "\033[" not in plain.text and "SYN001" in plain.text


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["."],
        ["repo", "--format", "sarif"],
        ["--format=json", "-o", "out.json"],
        ["--fail-on", "error", "--external", "x"],
        ["--list"],
        ["--explain", "DVC003"],
        ["--output=r.xml", "--format", "junit", "path"],
    ],
)
def test_the_fast_argument_reader_agrees_with_argparse(argv: list[str]) -> None:
    from pyscaffoldext.dsproject_ops.validate.cli import _fast_parse, parser

    fast = _fast_parse(argv)
    assert fast is not None
    assert vars(fast) == vars(parser("dsops validate").parse_args(argv))


@pytest.mark.parametrize(
    "argv",
    [["-h"], ["--format", "xml"], ["a", "b"], ["--bogus"], ["--fail-on", "fatal"], ["--output"]],
)
def test_unusual_arguments_go_to_argparse(argv: list[str]) -> None:
    from pyscaffoldext.dsproject_ops.validate.cli import _fast_parse

    assert _fast_parse(argv) is None


@pytest.mark.parametrize(
    "line,problem",
    [
        ("python -m demo.cli --help", None),
        ("python -m demo.nope", "module demo.nope does not exist"),
        ("python -m venv .venv && . .venv/bin/activate", None),  # git-ignored: made by the line
        ("pip install -e '.[testing]'", None),
        ("pip install -e .[gpu]", "no extra 'gpu'"),
        ("conda env create -f environment.yml", None),
        ("conda env create -f env.yaml", "env.yaml does not exist"),
        ("dvc repro train && dvc repro dvc.yaml:evaluate", None),
        ("dvc repro trian", "no stage 'trian'"),
        ("demo repro --force train", None),  # the warm runner takes dvc repro's arguments
        ("demo repro trian", "no stage 'trian'"),
        ("python -m demo.cli repro evaluat", "no stage 'evaluat'"),
        ("demo --help", None),
        ("demo-train --fast", "'demo-train' is not a console script"),
        ("make docs", "there is no Makefile"),
        ("bash scripts/run.sh $ARG", "scripts/run.sh does not exist"),
        ("FOO=1 sudo ./setup.py --version", None),
        ("docker build -t $IMAGE . | tee log.txt", None),
        ("echo 'unbalanced", None),
    ],
)
def test_command_references(generate: Callable[..., Path], line: str, problem: str | None) -> None:
    from pyscaffoldext.dsproject_ops.validate.commands import problems
    from pyscaffoldext.dsproject_ops.validate.context import Context

    found = list(problems(Context(generate()), line))
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0], found
