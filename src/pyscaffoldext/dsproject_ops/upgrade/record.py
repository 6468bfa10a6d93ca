"""Reading the record of how a repository was generated (``setup.cfg [pyscaffold]``)."""

from __future__ import annotations

import configparser

from ..answers import PREFIX, Answers, from_recorded
from ..errors import DsopsError


def ini_sections(text: str) -> dict[str, dict[str, str]]:
    """setup.cfg's sections as plain text (``%%`` unescaped, as setuptools reads it)."""
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise DsopsError(f"setup.cfg cannot be read: {str(exc).splitlines()[0]}") from None
    return {
        name: {k: v.replace("%%", "%") for k, v in parser.items(name)} for name in parser.sections()
    }


def recorded_version(setup_cfg: str | None) -> str | None:
    """The recorded template version, or None for a repository we did not make."""
    if setup_cfg is None:
        return None
    version = ini_sections(setup_cfg).get("pyscaffold", {}).get(PREFIX + "template", "")
    return version.strip() or None


def recorded_answers(setup_cfg: str) -> Answers:
    sections = ini_sections(setup_cfg)
    try:
        return from_recorded(sections.get("pyscaffold", {}), sections.get("metadata", {}))
    except DsopsError as exc:
        raise DsopsError(f"setup.cfg [pyscaffold] records invalid answers: {exc}") from None
