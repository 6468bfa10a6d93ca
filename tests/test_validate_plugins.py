"""Check families from other packages: the ``dsproject_ops.checks`` entry-point group.

A real package, built from files in a temporary folder and pip-installed into a
throwaway virtualenv layered over the test environment, registers the family ``acme``;
``dsops validate`` run from that virtualenv lists, explains and reports it in every
format. Broken registrations are refused with one line and exit code 2.
"""

from __future__ import annotations

import json
import sys
import sysconfig
import textwrap
import venv
import xml.etree.ElementTree as ET
from pathlib import Path
from subprocess import CompletedProcess
from typing import Callable

import pytest
from conftest import base_env, run

from pyscaffoldext.dsproject_ops.validate import registry, runner
from pyscaffoldext.dsproject_ops.validate.context import Context
from pyscaffoldext.dsproject_ops.validate.registry import Check, Issue, RegistryError

PLUGIN = '''\
"""ACME's house rules for model repositories."""

from pyscaffoldext.dsproject_ops.validate.registry import Check, Issue

TITLE = "ACME house rules"


class Owners(Check):
    """Every repository names its owners in ``CODEOWNERS``.

    Reviews go to the people who own the code; without the file nobody is asked.
    """

    code = "ACME001"
    summary = "CODEOWNERS names the owners"
    severity = "warning"
    requires = ("LAY001",)

    def run(self, ctx):
        if not ctx.is_file("CODEOWNERS"):
            yield Issue("no CODEOWNERS file: add one naming the owners", file="CODEOWNERS")


class OwnersHaveEmail(Check):
    """Every owner in ``CODEOWNERS`` is an e-mail address (the house directory's key)."""

    code = "ACME002"
    summary = "owners are e-mail addresses"
    requires = ("ACME001",)

    def run(self, ctx):
        yield Issue("never reached: its prerequisite fails")
'''


def _package(folder: Path, name: str, module: str, body: str, family: str = "acme") -> Path:
    source = folder / name
    (source / name).mkdir(parents=True)
    (source / name / "__init__.py").write_text("", encoding="utf-8")
    (source / name / f"{module}.py").write_text(body, encoding="utf-8")
    (source / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{name.replace('_', '-')}"
            version = "1.0"

            [tool.setuptools]
            packages = ["{name}"]

            [project.entry-points."dsproject_ops.checks"]
            {family} = "{name}.{module}"
            """),
        encoding="utf-8",
    )
    return source


class Env:
    """A throwaway virtualenv over the test environment (its packages stay visible)."""

    def __init__(self, root: Path) -> None:
        venv.create(root, with_pip=False, symlinks=True)
        site = Path(sysconfig.get_paths()["purelib"])
        child_site = next(root.glob("lib/python*/site-packages"))
        # addsitedir, not a bare path: the parent's own .pth files (our editable
        # install's import hook) must run too.
        (child_site / "_dsops_parent.pth").write_text(
            f"import site; site.addsitedir({str(site)!r})\n", encoding="utf-8"
        )
        self.python = root / "bin" / "python"
        self.env = base_env()
        self.env["XDG_CACHE_HOME"] = str(root.parent / "cache")

    def install(self, source: Path) -> None:
        run(
            [
                self.python,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                source,
            ],
            env=self.env,
        )

    def dsops(self, *args: str, cwd: Path, check: bool = False) -> CompletedProcess[str]:
        code = "import sys; from pyscaffoldext.dsproject_ops.cli import run; sys.exit(run())"
        return run([self.python, "-c", code, *args], cwd=cwd, env=self.env, check=check)


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Env:
    folder = tmp_path_factory.mktemp("plugin")
    env = Env(folder / "venv")
    env.install(_package(folder, "acme_checks", "dsops", PLUGIN))
    return env


@pytest.mark.slow  # a venv and a pip install
def test_a_plugin_family_is_listed_and_explained(acme: Env, tmp_path: Path) -> None:
    listed = acme.dsops("validate", "--list", cwd=tmp_path, check=True).stdout
    assert "acme: ACME house rules" in listed
    assert "  ACME001  warning  CODEOWNERS names the owners" in listed
    assert listed.index("layout:") < listed.index("external:") < listed.index("acme:")
    explained = acme.dsops("validate", "--explain", "acme001", cwd=tmp_path, check=True).stdout
    assert explained.startswith("ACME001 (acme, warning): CODEOWNERS names the owners")
    assert "Reviews go to the people who own the code" in explained
    assert "requires: LAY001" in explained


@pytest.mark.slow  # a venv and a pip install
def test_a_plugin_reports_in_every_format(
    acme: Env, generate: Callable[..., Path], tmp_path: Path
) -> None:
    repo = generate()
    human = acme.dsops("validate", str(repo), cwd=tmp_path)
    assert human.returncode == 1, human.stdout + human.stderr
    assert "acme: ACME house rules" in human.stdout
    assert "CODEOWNERS: ACME001 [warning] no CODEOWNERS file" in human.stdout

    def report(fmt: str) -> str:
        out = tmp_path / f"report.{fmt}"
        done = acme.dsops("validate", str(repo), "--format", fmt, "-o", str(out), cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        return out.read_text(encoding="utf-8")

    data = json.loads(report("json"))
    (finding,) = [f for f in data["findings"] if f["code"] == "ACME001"]
    assert finding["family"] == "acme" and finding["file"] == "CODEOWNERS"
    # The prerequisite failed, so ACME002 was skipped rather than run.
    assert data["checks"]["ACME002"]["status"] == "skipped"
    assert "ACME001" in data["checks"]["ACME002"]["reason"]

    sarif = json.loads(report("sarif"))
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["ACME001"]["properties"]["family"] == "acme"
    assert any(r["ruleId"] == "ACME001" for r in sarif["runs"][0]["results"])

    suites = {s.get("name"): s for s in ET.fromstring(report("junit")).iter("testsuite")}
    cases = [c.get("name") for c in suites["acme"].iter("testcase")]
    assert cases == ["ACME001 CODEOWNERS names the owners", "ACME002 owners are e-mail addresses"]

    quality = json.loads(report("gitlab"))
    assert any(
        item["check_name"] == "ACME001" and item["location"]["path"] == "CODEOWNERS"
        for item in quality
    )


@pytest.mark.slow  # a venv
def test_installing_a_plugin_after_a_cached_run_is_seen(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path / "venv")
    before = env.dsops("validate", "--list", cwd=tmp_path, check=True).stdout
    assert "acme" not in before
    assert (tmp_path / "cache" / "dsproject-ops" / "checks-entry-points.json").is_file()
    env.install(_package(tmp_path, "acme_checks", "dsops", PLUGIN))
    after = env.dsops("validate", "--list", cwd=tmp_path, check=True).stdout
    assert "ACME001" in after


@pytest.mark.slow  # a venv and a pip install per case
@pytest.mark.parametrize(
    "body, family, message",
    [
        (
            PLUGIN.replace('"ACME002"', '"LAY001"'),
            "acme",
            "duplicate check code LAY001: pyscaffoldext.dsproject_ops.validate.layout",
        ),
        (
            PLUGIN.replace('("ACME001",)', '("ACME999",)'),
            "acme",
            "check ACME002 requires unknown check ACME999",
        ),
        (PLUGIN, "docker", "check family 'docker' of broken_checks.dsops is already defined"),
        (PLUGIN.replace('"ACME001"', '"acme-1"'), "acme", "check code 'acme-1'"),
        ("import no_such_module\n", "acme", "cannot import broken_checks.dsops"),
        (
            PLUGIN.replace('requires = ("LAY001",)', 'requires = ("ACME002",)'),
            "acme",
            "checks require each other in a cycle",
        ),
    ],
)
def test_a_broken_plugin_is_refused_with_one_line(
    tmp_path: Path, body: str, family: str, message: str
) -> None:
    env = Env(tmp_path / "venv")
    env.install(_package(tmp_path, "broken_checks", "dsops", body, family=family))
    for args in (["--list"], [str(tmp_path)]):
        done = env.dsops("validate", *args, cwd=tmp_path)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith("dsops validate: error: ") and message in done.stderr


# -- prerequisites, in-process -------------------------------------------------


class _First(Check):
    summary = "first"

    def run(self, ctx: Context) -> list[Issue]:
        return []


class _Second(Check):
    summary = "second"

    def run(self, ctx: Context) -> list[Issue]:
        return [Issue("ran")]


def _checks(**requires: tuple[str, ...]) -> list[type[Check]]:
    return [
        type(code, (_Second,), {"code": code, "requires": needed})
        for code, needed in requires.items()
    ]


def test_prerequisites_run_first_whatever_the_listed_order() -> None:
    checks = _checks(ZZA001=("ZZA003",), ZZA002=(), ZZA003=("ZZA002",), ZZA004=())
    assert [c.code for c in registry.run_order(checks)] == ["ZZA002", "ZZA004", "ZZA003", "ZZA001"]
    with pytest.raises(RegistryError, match="cycle"):
        registry.run_order(_checks(ZZB001=("ZZB002",), ZZB002=("ZZB001",)))


@pytest.mark.parametrize(
    "status", [None, runner.SKIPPED, runner.NOT_APPLICABLE, runner.NOT_REQUESTED, runner.FAILED]
)
def test_a_prerequisite_that_did_not_pass_skips_the_check(
    tmp_path: Path, status: str | None
) -> None:
    (check,) = _checks(ZZC002=("ZZC001",))
    result = runner.Result(tmp_path, None, [check])
    if status is not None:
        result.status["ZZC001"] = status
    runner._run_one(check(), Context(tmp_path), result, external=False)
    assert result.status["ZZC002"] == runner.SKIPPED
    assert result.skipped["ZZC002"].startswith("prerequisite ZZC001 did not pass")
    assert not result.findings
    result.status["ZZC001"] = runner.PASSED
    runner._run_one(check(), Context(tmp_path), result, external=False)
    assert [f.message for f in result.findings] == ["ran"]


def test_the_shipped_families_come_through_the_entry_point_group() -> None:
    from importlib.metadata import entry_points

    ours = {ep.name: ep.value for ep in entry_points(group=registry.GROUP)}
    assert {
        name: f"pyscaffoldext.dsproject_ops.validate.{name}" for name in registry.BUILTIN
    }.items() <= ours.items()
    assert sys.modules["pyscaffoldext.dsproject_ops.validate.registry"] is registry


def test_repo_review_lists_and_runs_our_checks(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], tmp_path: Path
) -> None:
    repo = copy_repo(generate())
    config = repo / ".pre-commit-config.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "- id: check-merge-conflict", "- id: check-merge-conflicts"
        ),
        encoding="utf-8",
    )
    env = base_env()
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    done = run(
        [Path(sys.executable).parent / "repo-review", repo, "--format", "json"],
        env=env,
        check=False,
    )
    data = json.loads(done.stdout)
    checks = data["checks"]
    ours = {code for code, c in checks.items() if c["family"].startswith("dsops-")}
    static = {c.code for c in registry.all_checks() if c.tool is None}
    assert ours == static
    assert checks["LAY001"]["result"] is True
    assert checks["PC003"]["result"] is False
    assert checks["PC003"]["err_msg"].startswith("- `.pre-commit-config.yaml:")
    assert data["families"]["dsops-precommit"]["name"].startswith("dsops precommit: ")
    assert done.returncode != 0  # a failed check fails repo-review too
    assert "modified the input fixtures" not in done.stderr
