import subprocess
import sys

import pytest

from {{ cookiecutter.package }} import __version__
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
