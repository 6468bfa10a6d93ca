"""Ignores configured in the checked repository.

``pyproject.toml``::

    [tool.dsops.validate]
    fail-on = "warning"            # error | warning | info
    max-file-kb = 500              # GIT002's limit
    [tool.dsops.validate.ignore]   # a code or a family, with the reason shown in reports
    DKR004 = "the base image defines the user"
    secrets = ""
    [tool.dsops.validate.per-path-ignores]
    "notebooks/*.ipynb" = ["TPL001"]

``setup.cfg``::

    [dsops.validate]
    ignore =
        DKR004: the base image defines the user
        secrets
    per-path-ignores =
        notebooks/*.ipynb: TPL001

An unknown code or family is an error, never silence.
"""

from __future__ import annotations

from typing import Any

from ..errors import DsopsError
from .context import Context
from .patterns import glob_match
from .registry import FAMILIES, SEVERITIES, Finding


class ConfigError(DsopsError):
    """The checked repository's [tool.dsops.validate] configuration is wrong."""


class Config:
    def __init__(self, source: str | None = None) -> None:
        self.source = source
        self.ignore: dict[str, str] = {}  # code or family -> reason
        self.per_path: list[tuple[str, set[str], str]] = []
        self.fail_on: str | None = None
        self.max_file_kb = 500

    def reason(self, finding: Finding) -> str | None:
        """The reason an ignore gives for ``finding``, or None when none matches."""
        for key in (finding.code, finding.family):
            if key in self.ignore:
                return self.ignore[key]
        if finding.file:
            for pattern, codes, reason in self.per_path:
                if (finding.code in codes or finding.family in codes) and glob_match(
                    finding.file, pattern
                ):
                    return reason or f"per-path ignore {pattern}"
        return None


def load(ctx: Context, known_codes: set[str]) -> Config:
    table: dict[str, Any] | None = None
    source = None
    tool = ctx.pyproject.get("tool", {})
    if (
        isinstance(tool, dict)
        and isinstance(tool.get("dsops"), dict)
        and "validate" in tool["dsops"]
    ):
        table, source = tool["dsops"]["validate"], "pyproject.toml [tool.dsops.validate]"
    elif "dsops.validate" in ctx.setup_cfg:
        table, source = (
            _from_setup_cfg(ctx.setup_cfg["dsops.validate"]),
            "setup.cfg [dsops.validate]",
        )
    if table is None or source is None:
        return Config()
    if not isinstance(table, dict):
        raise ConfigError(f"{source} must be a table")
    config = Config(source=source)
    known = known_codes | set(FAMILIES)
    unknown_keys = set(table) - {"ignore", "per-path-ignores", "fail-on", "max-file-kb"}
    if unknown_keys:
        raise ConfigError(
            f"{source}: unknown setting(s) {', '.join(sorted(unknown_keys))}; "
            "use ignore, per-path-ignores, fail-on or max-file-kb"
        )
    ignore = table.get("ignore", {})
    if isinstance(ignore, list):
        ignore = {str(code): "" for code in ignore}
    if not isinstance(ignore, dict):
        raise ConfigError(f"{source}: ignore must map codes or families to reasons")
    for code, reason in ignore.items():
        _known(code, known, source)
        config.ignore[code] = str(reason or "")
    per_path = table.get("per-path-ignores", {})
    if not isinstance(per_path, dict):
        raise ConfigError(f"{source}: per-path-ignores must map path patterns to lists of codes")
    for pattern, codes in per_path.items():
        listed = [codes] if isinstance(codes, str) else codes
        if not isinstance(listed, list):
            raise ConfigError(f"{source}: per-path-ignores.{pattern} must be a list of codes")
        for code in listed:
            _known(str(code), known, source)
        config.per_path.append((str(pattern), {str(c) for c in listed}, ""))
    if "fail-on" in table:
        if table["fail-on"] not in SEVERITIES:
            raise ConfigError(f"{source}: fail-on must be one of {', '.join(SEVERITIES)}")
        config.fail_on = str(table["fail-on"])
    if "max-file-kb" in table:
        try:
            config.max_file_kb = int(table["max-file-kb"])
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: max-file-kb must be a whole number of kilobytes")
    return config


def _known(code: str, known: set[str], source: str) -> None:
    if code not in known:
        raise ConfigError(
            f"{source}: unknown check code or family {code!r} "
            "(`dsops validate --list` shows them all)"
        )


def _from_setup_cfg(section: dict[str, str]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for key, value in section.items():
        lines = [line.strip() for line in value.splitlines() if line.strip()]
        if key == "ignore":
            ignore: dict[str, str] = {}
            for line in lines:
                code, _, reason = line.partition(":")
                for one in code.replace(",", " ").split():
                    ignore[one] = reason.strip()
            table[key] = ignore
        elif key == "per-path-ignores":
            per_path: dict[str, list[str]] = {}
            for line in lines:
                pattern, _, codes = line.rpartition(":")
                per_path[pattern.strip()] = codes.replace(",", " ").split()
            table[key] = per_path
        else:
            table[key] = value.strip()
    return table
