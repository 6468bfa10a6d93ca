"""Reading the record of how a repository was generated (``setup.cfg [pyscaffold]``)."""

from __future__ import annotations

from ..answers import PREFIX, Answers, from_recorded
from ..errors import DsopsError


def ini_sections(text: str) -> dict[str, dict[str, str]]:
    """setup.cfg's sections as plain text (``%%`` unescaped, as setuptools reads it),
    read by the repository model's INI reader (duplicates refused, as setuptools does)."""
    from ..repository.formats import parse_ini

    parsed = parse_ini(text)
    if parsed.error is not None:
        where = f" (line {parsed.error.line})" if parsed.error.line else ""
        raise DsopsError(f"setup.cfg cannot be read: {parsed.error.message}{where}")
    sections: dict[str, dict[str, str]] = parsed.data
    return {
        name: {k.lower(): v.replace("%%", "%") for k, v in options.items()}
        for name, options in sections.items()
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
