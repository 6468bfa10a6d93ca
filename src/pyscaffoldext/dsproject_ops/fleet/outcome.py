"""What a fleet run found in one repository (data only)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

UPGRADED = "upgraded"
CONFLICTS = "conflicts"
REFUSED = "refused"
FAILED = "failed"
UP_TO_DATE = "up to date"
# --check: what the upgrade would do (nothing written)
WOULD_UPGRADE = "would upgrade"
WOULD_CONFLICT = "would conflict"
# The table's order: what needs a person first.
ORDER = (FAILED, REFUSED, CONFLICTS, WOULD_CONFLICT, UPGRADED, WOULD_UPGRADE, UP_TO_DATE)
LABELS = {
    UPGRADED: "upgraded cleanly",
    CONFLICTS: "upgraded with conflicts",
    REFUSED: "refused",
    FAILED: "failed",
    UP_TO_DATE: "up to date",
    WOULD_UPGRADE: "would upgrade cleanly",
    WOULD_CONFLICT: "would conflict",
}


@dataclass
class Result:
    name: str
    path: str
    status: str
    reason: str = ""  # one line: why refused or failed, or a note
    conflicts: list[str] = field(default_factory=list)  # files left with markers
    branch: str = ""  # the upgrade branch written (empty: none)
    commit: str = ""  # its commit
    branch_state: str = ""  # "created", "updated", "unchanged"
    pushed: bool = False
    from_version: str | None = None
    to_version: str = ""
    seconds: float = 0.0
    report: str = ""  # what `dsops upgrade` printed (the merge request's description)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
