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
    written_name: str = ""  # the name as written ("Scikit_Learn")

    @property
    def pinned(self) -> str | None:
        """The version of an exact ``==X`` pin, else None."""
        found = re.fullmatch(r"===?([^,]+)", self.specifier)
        return found.group(1) if found and "*" not in found.group(1) else None


def canonical(name: str) -> str:
    """PEP 503's normal form: ``Scikit_Learn`` -> ``scikit-learn``."""
    return re.sub(r"[-_.]+", "-", name).lower()


# The plain forms (``name``, ``name[extra]==1.2``, ``name>=1,<2``) read without
# importing packaging, whose import alone costs more than a whole `dsops validate` of
# a small repository; the results are packaging's own (tests/test_repository.py).
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_SIMPLE = re.compile(
    rf"^\s*(?P<name>{_NAME})\s*(?:\[\s*(?P<extras>{_NAME}(?:\s*,\s*{_NAME})*)\s*\])?\s*"
    r"(?P<spec>(?:(?:==|!=|>=|<=|<|>|~=)\s*[0-9]+(?:\.[0-9]+)*\s*,\s*)*"
    r"(?:(?:==|!=|>=|<=|<|>|~=)\s*[0-9]+(?:\.[0-9]+)*)?)\s*$"
)
_ATOM = re.compile(r"(==|!=|>=|<=|<|>|~=)\s*([0-9]+(?:\.[0-9]+)*)")


def _simple(text: str, line: int | None) -> Req | None:
    found = _SIMPLE.match(text)
    if not found:
        return None
    atoms = _ATOM.findall(found.group("spec"))
    if any(op == "~=" and "." not in version for op, version in atoms):
        return None  # "~=1" is invalid: packaging says why
    extras = found.group("extras")
    return Req(
        text,
        line,
        name=canonical(found.group("name")),
        specifier=",".join(sorted(op + version for op, version in atoms)),
        extras=tuple(sorted({e.strip() for e in extras.split(",")})) if extras else (),
        written_name=found.group("name"),
    )


def parse(text: str, line: int | None = None) -> Req:
    """One requirement; ``error`` says why it is not one (never raises)."""
    simple = _simple(text, line)
    if simple is not None:
        return simple
    if text.lstrip().startswith("-"):
        return Req(text, line, error="a pip option (-e, -r, --index-url), not a requirement")
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
        written_name=req.name,
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
