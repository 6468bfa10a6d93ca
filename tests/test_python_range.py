"""The declared Python range is true: vermin (a maintained tool that knows each
module, function and syntax feature's first Python version) finds nothing in our
package that needs a newer Python than ``requires-python``, nor in a generated project
that needs a newer one than its setup.cfg's ``python_requires``.

A version-dependent import is fine when it is guarded the way vermin understands
(``if sys.version_info >= (3, 11): import tomllib``) or marked ``# novm`` with a reason.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from pathlib import Path
from typing import Callable

import pytest
from conftest import BIN, ROOT, run
from packaging.specifiers import SpecifierSet

from pyscaffoldext.dsproject_ops.answers import PYTHON_CHOICES


def minimum(specifier: str) -> str:
    """``>=3.10`` (or ``>=3.10,<4``) -> ``3.10``."""
    lows = [s.version for s in SpecifierSet(specifier) if s.operator in (">=", "~=", "==")]
    assert len(lows) == 1, specifier
    return ".".join(lows[0].split(".")[:2])


def vermin_violations(target: str, *paths: Path) -> str:
    """What needs a newer Python than ``target`` (empty when nothing does)."""
    done = run(
        [BIN / "vermin", f"--target={target}-", "--violations", "--no-tips", *paths],
        cwd=ROOT,
        check=False,
    )
    found = re.findall(r"^\S.*\n(?:  .*\n?)+", done.stdout, re.M)
    assert done.returncode == 0 or found, done.stdout + done.stderr  # a failure we can read
    return "".join(found)


def test_vermin_sees_a_module_newer_than_the_target(tmp_path: Path) -> None:
    """The check can fail: an unguarded 3.11 module is found for a 3.10 target."""
    module = tmp_path / "reads_toml.py"
    module.write_text("import tomllib\n", encoding="utf-8")
    assert "'tomllib' module requires !2, 3.11" in vermin_violations("3.10", module)
    guarded = tmp_path / "guarded.py"
    guarded.write_text(
        "import sys\n\nif sys.version_info >= (3, 11):\n    import tomllib\n"
        "else:\n    import tomli as tomllib\n",
        encoding="utf-8",
    )
    assert vermin_violations("3.10", guarded) == ""


def test_the_package_runs_on_its_declared_python() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    target = minimum(project["requires-python"])
    # The package, and the cookiecutter hooks that run it under cookiecutter's Python.
    found = vermin_violations(target, ROOT / "src", ROOT / "templates" / "hooks")
    assert found == "", f"requires-python is >={target}, but:\n{found}"


@pytest.mark.parametrize(
    "python", [min(PYTHON_CHOICES, key=lambda v: tuple(map(int, v.split("."))))]
)
@pytest.mark.parametrize("example", [(), ("--no-example",)], ids=["example", "no-example"])
def test_the_generated_project_runs_on_its_declared_python(
    generate: Callable[..., Path], python: str, example: tuple[str, ...]
) -> None:
    repo = generate("--python-version", python, *example)
    setup = configparser.ConfigParser()
    setup.read(repo / "setup.cfg", encoding="utf-8")
    target = minimum(setup["options"]["python_requires"])
    assert target == python
    modules = sorted(p for p in repo.rglob("*.py") if ".git" not in p.relative_to(repo).parts)
    assert modules, "no Python modules generated"
    found = vermin_violations(target, *modules)
    assert found == "", f"python_requires is >={target}, but:\n{found}"
