import os
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package }} import __version__
from {{ cookiecutter.package }}.bytecode import compile_missing, without_bytecode
from {{ cookiecutter.package }}.cli import COMMANDS, main, resolve


def test_version_is_known() -> None:
    assert __version__ and __version__ != "unknown"


def test_cli_help_lists_the_program(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "{{ cookiecutter.project_name }}" in out
    assert all(name in out for name in COMMANDS)


def test_cli_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package }}.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == __version__


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_resolves_to_a_function(name: str) -> None:
    assert callable(resolve(name))


def test_unknown_command_and_bad_input_are_one_line_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err
    assert main(["run-notebook", "missing.ipynb", "out.ipynb"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.ipynb not found" in err


def test_bytecode_compiles_a_package_once_without_its_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "somelib"
    (package / "tests").mkdir(parents=True)
    sources = [package / "__init__.py", package / "core.py", package / "tests" / "t.py"]
    for source in sources:
        source.write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # as on a machine with two CPUs
    assert without_bytecode(["somelib", "no_such_lib"]) == [package]
    assert compile_missing(["somelib"]) == [package]
    assert [p.name for p in sorted(package.glob("__pycache__/*.pyc"))] == [
        f"__init__.{sys.implementation.cache_tag}.pyc",
        f"core.{sys.implementation.cache_tag}.pyc",
    ]
    assert not list(package.glob("tests/__pycache__"))  # a library's tests stay out
    assert compile_missing(["somelib"]) == []  # done once
