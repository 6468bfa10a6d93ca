"""pip requirement strings (``requirements.txt`` lines, ``install_requires``, an
environment's ``pip:`` list), read by ``packaging`` as pip reads them."""

from __future__ import annotations

import re
from typing import Iterable, NamedTuple


class Req(NamedTuple):
    text: str  # the requirement as written, comment stripped
    line: int | None  # 1-based line in its file, when known
    name: str = ""  # canonical name ("scikit-learn"); "" when ``error`` is set
    specifier: str = ""  # ">=1.2,<2", sorted as packaging prints it
    extras: tuple[str, ...] = ()
    marker: str = ""
    url: str = ""
    error: str = ""  # why packaging refused it

    @property
    def pinned(self) -> str | None:
        """The version of an exact ``==X`` pin, else None."""
        found = re.fullmatch(r"===?([^,]+)", self.specifier)
        return found.group(1) if found and "*" not in found.group(1) else None


def canonical(name: str) -> str:
    """PEP 503's normal form: ``Scikit_Learn`` -> ``scikit-learn``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(text: str, line: int | None = None) -> Req:
    """One requirement; ``error`` says why it is not one (never raises)."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        return Req(text, line, error=str(exc).splitlines()[0])
    return Req(
        text,
        line,
        name=canonical(req.name),
        specifier=str(req.specifier),
        extras=tuple(sorted(req.extras)),
        marker=str(req.marker) if req.marker else "",
        url=req.url or "",
    )


def lines(text: str) -> list[Req]:
    """The requirements of a ``requirements.txt`` (or an ``install_requires`` value):
    comments, blank lines and pip options (``-e .``, ``-r file``, ``--index-url``)
    skipped, ``\\`` continuations joined; each keeps its first line number."""
    found: list[Req] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        body = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if body.endswith("\\"):
            pending += body[:-1] + " "
            continue
        body, pending = (pending + body).strip(), ""
        if not body or body.startswith("-"):
            continue
        found.append(parse(body, start))
    return found


def specs(values: Iterable[object]) -> list[Req]:
    """Requirements from a list of strings (an environment's ``pip:`` list)."""
    found: list[Req] = []
    for value in values:
        body = re.sub(r"(^|\s)#.*$", "", str(value)).strip()
        if body and not body.startswith("-"):
            found.append(parse(body))
    return found
