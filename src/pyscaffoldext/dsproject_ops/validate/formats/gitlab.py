"""GitLab Code Quality (a Code Climate subset): shown on merge requests."""

from __future__ import annotations

import hashlib
import json

from ..runner import Result

_SEVERITY = {"error": "critical", "warning": "major", "info": "info"}


def render(result: Result) -> str:
    issues = []
    for f in result.findings:
        key = f"{f.code}:{f.file}:{f.line}:{f.message}"
        issues.append(
            {
                "description": f"{f.code} {f.message}",
                "check_name": f.code,
                "fingerprint": hashlib.sha256(key.encode("utf-8")).hexdigest(),
                "severity": _SEVERITY[f.severity],
                "categories": [f.family],
                "location": {"path": f.file or ".", "lines": {"begin": f.line or 1}},
            }
        )
    return json.dumps(issues, indent=2) + "\n"
