"""The {{ cookiecutter.project_name }} package."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # `__version__` is looked up when first asked for, not on import: importlib.metadata
    # costs more than the rest of `python -m {{ cookiecutter.package }}.cli`, which every
    # pipeline stage starts.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version({{ cookiecutter.project_name|py_str }})
    except PackageNotFoundError:  # running from a checkout without `pip install -e .`
        found = "unknown"
    globals()["__version__"] = found
    return found
