"""Conda dependency strings, parsed the way conda's (and py-rattler's) ``MatchSpec``
reads them, without importing either: ``[channel::]name[ version[ build]]``,
``name=1.2``, ``name>=1,<2|==3``, ``name=1.2=build``, ``name[version='>=1']``.

The one conda-spec reader (py-rattler is a compiled wheel and costs 60 ms to import;
its MatchSpec stays the reference the tests compare against)."""

from __future__ import annotations

import re
from typing import NamedTuple

_NAME = r"[A-Za-z0-9_*][A-Za-z0-9_.\-*]*"
_VERSION_ATOM = re.compile(r"^(?:==|!=|>=|<=|~=|>|<|=)?[0-9A-Za-z_*][0-9A-Za-z_.*+!]*$")
_SPLIT = re.compile(
    r"^(?:(?P<channel>[^\s:]+(?:/[^\s:]+)?)::)?(?P<name>" + _NAME + r")" r"(?P<rest>.*)$"
)
_BRACKET = re.compile(r"\[(?P<body>[^\]]*)\]\s*$")
_BRACKET_KEYS = {
    "version",
    "build",
    "build_number",
    "channel",
    "subdir",
    "md5",
    "sha256",
    "license",
    "fn",
    "url",
    "track_features",
    "features",
}


class SpecError(ValueError):
    pass


class Spec(NamedTuple):
    name: str
    version: str | None
    build: str | None

    def pinned(self) -> str | None:
        """The exact version when the spec is ``==X``, ``=X`` or ``X`` without wildcards."""
        if not self.version or any(c in self.version for c in ",|*<>!~"):
            return None
        return self.version.lstrip("=")


def parse(text: str) -> Spec:
    spec = text.strip()
    if not spec:
        raise SpecError("empty dependency")
    match = _SPLIT.match(spec)
    if not match:
        raise SpecError(f"{spec!r} does not start with a package name")
    name, rest = match.group("name"), match.group("rest")
    bracket = _BRACKET.search(rest)
    extra_version = None
    if bracket:
        for item in _split_keys(bracket.group("body")):
            key, _, value = item.partition("=")
            if key.strip() not in _BRACKET_KEYS or not value:
                raise SpecError(f"unknown or empty bracket key {key.strip()!r} in {spec!r}")
            if key.strip() == "version":
                extra_version = value.strip().strip("'\"")
        rest = rest[: bracket.start()]
    # "numpy >= 1.2" reads as "numpy >=1.2", as MatchSpec reads it
    rest = re.sub(r"([<>=!~]=?)\s+(?=[0-9A-Za-z*])", r"\1", rest).strip()
    version = build = None
    if rest:
        if rest[0] in "=<>!~" and not rest.startswith("=="):
            # name=1.2=build / name>=1,<2
            if rest.startswith("=") and "=" in rest[1:] and not re.match(r"^=[<>!=]", rest):
                version_part, _, build = rest[1:].partition("=")
                version = "=" + version_part
            else:
                version = rest
        elif rest.startswith("=="):
            version = rest
        elif rest[0].isspace() or rest[0].isalnum() or rest[0] == "*":
            pieces = rest.split()
            if len(pieces) > 2:
                raise SpecError(f"{spec!r} has more than a version and a build string")
            version = pieces[0]
            build = pieces[1] if len(pieces) == 2 else None
        else:
            raise SpecError(f"cannot read the version in {spec!r}")
        if " " in (version or "") or (version and " " in version.strip()):
            raise SpecError(f"{spec!r}: spaces inside the version")
    if version is not None:
        _check_version(version.strip(), spec)
    if build is not None and not re.match(r"^[A-Za-z0-9_.*+]+$", build):
        raise SpecError(f"invalid build string {build!r} in {spec!r}")
    if extra_version is not None:
        _check_version(extra_version, spec)
        version = version or extra_version
    return Spec(name=name, version=version.strip() if version else None, build=build)


def _split_keys(body: str) -> list[str]:
    items, current, quote = [], "", ""
    for ch in body:
        if quote:
            current += ch
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            current += ch
        elif ch == ",":
            items.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        items.append(current)
    return items


def _check_version(version: str, spec: str) -> None:
    for alternative in version.split("|"):
        atoms = alternative.split(",")
        for atom in atoms:
            if not _VERSION_ATOM.match(atom.strip()):
                raise SpecError(
                    f"invalid version constraint {atom.strip() or '(empty)'!r} " f"in {spec!r}"
                )
