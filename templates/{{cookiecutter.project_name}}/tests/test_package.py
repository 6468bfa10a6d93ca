import subprocess
import sys

from {{ cookiecutter.package }} import __version__
from {{ cookiecutter.package }}.cli import main


def test_version_is_known() -> None:
    assert __version__ and __version__ != "unknown"


def test_cli_help_lists_the_program(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([]) == 0
    assert "{{ cookiecutter.project_name }}" in capsys.readouterr().out


def test_cli_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package }}.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == __version__
