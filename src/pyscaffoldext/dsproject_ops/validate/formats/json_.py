"""JSON output; the shape is documented in docs/validate.md (``"version": 1``)."""

from __future__ import annotations

import json
from typing import Any

from ..registry import Finding
from ..runner import Result
from . import tool_version


def finding(f: Finding) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": f.code,
        "family": f.family,
        "severity": f.severity,
        "message": f.message,
        "file": f.file,
        "line": f.line,
        "column": f.column,
    }
    if f.rule:
        data["rule"] = f.rule
    if f.ignored is not None:
        data["reason"] = f.ignored
    return data


def as_dict(result: Result) -> dict[str, Any]:
    return {
        "version": 1,
        "tool": {"name": "dsops validate", "version": tool_version()},
        "root": str(result.root),
        "answers": result.answers,
        "summary": {
            "error": result.count("error"),
            "warning": result.count("warning"),
            "info": result.count("info"),
            "ignored": len(result.ignored),
            "skipped": len(result.skipped),
            "passed": sum(1 for s in result.status.values() if s == "passed"),
            "checks": len(result.status),
        },
        "findings": [finding(f) for f in result.findings],
        "ignored": [finding(f) for f in result.ignored],
        "checks": {
            code: {
                "status": status,
                **({"reason": result.skipped[code]} if code in result.skipped else {}),
            }
            for code, status in result.status.items()
        },
        "external": result.external,
    }


def render(result: Result) -> str:
    return json.dumps(as_dict(result), indent=2) + "\n"
