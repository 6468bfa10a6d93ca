"""A repo-review plugin: ``repo-review .`` (Scientific Python's repository linter)
runs our checks beside its own.

Registered in pyproject.toml under ``repo_review.fixtures``, ``repo_review.checks``
and ``repo_review.families``. One fixture validates the repository once (the static
run, in-process); each of our checks (external tools excepted) becomes a repo-review
check that reads its status: passed is a pass, a finding is a failure whose message
lists the findings, and a skipped or not applicable check is a skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FAMILY_PREFIX = "dsops-"


def dsops_result(root: Any) -> dict[str, tuple[str, str]] | None:
    """The fixture: ``{code: (status, findings as Markdown)}`` of our validation of a
    local checkout (None for a remote one). Plain data: repo-review copies a fixture a
    check changed, and the validation's lazily filled model would look changed."""
    from .runner import validate

    folder = Path(str(root))
    if not folder.is_dir():
        return None
    result = validate(folder)
    summary = {}
    for code, status in result.status.items():
        found = [f"- `{f.location()}`: {f.message}" for f in result.findings if f.code == code]
        summary[code] = (status, "\n".join(found))
    return summary


def _adapter(check: Any) -> Any:
    code = check.code

    def run(self: Any, dsops_result: Any) -> bool | str | None:
        if dsops_result is None:
            return None
        status, findings = dsops_result.get(code, ("not run", ""))
        if status == "passed":
            return True
        return findings if status == "failed" else None

    return type(
        code,
        (),
        {
            "__doc__": check.summary,
            "family": FAMILY_PREFIX + check.family,
            "requires": set(check.requires),
            "url": "",
            "check": run,
        },
    )()


def repo_review_checks() -> dict[str, Any]:
    from .registry import all_checks

    return {c.code: _adapter(c) for c in all_checks() if c.tool is None}


def repo_review_families(pyproject: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from .registry import FAMILIES, all_checks

    all_checks()  # fills FAMILIES with other packages' families too
    return {
        FAMILY_PREFIX + family: {"name": f"dsops {family}: {title}", "order": 100 + index}
        for index, (family, (_, _, title)) in enumerate(FAMILIES.items())
    }
