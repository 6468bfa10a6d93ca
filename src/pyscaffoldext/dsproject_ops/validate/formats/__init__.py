"""Output formats: each ``render(result) -> str`` is a pure function of the result."""

from __future__ import annotations

import importlib
from typing import Any, Callable

FORMATS = {
    "human": ".human",
    "json": ".json_",
    "sarif": ".sarif",
    "junit": ".junit",
    "gitlab": ".gitlab",
}


def renderer(name: str) -> Callable[..., str]:
    module: Any = importlib.import_module(FORMATS[name], __package__)
    return module.render  # type: ignore[no-any-return]


def tool_version() -> str:
    from ..layout import cookiecutter_spec

    return str(cookiecutter_spec()["_template_version"])
