"""The {{ cookiecutter.project_name }} package."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version({{ cookiecutter.project_name|py_str }})
except PackageNotFoundError:  # running from a checkout without `pip install -e .`
    __version__ = "unknown"
