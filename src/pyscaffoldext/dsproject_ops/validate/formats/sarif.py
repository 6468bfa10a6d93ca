"""SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer)."""

from __future__ import annotations

import json
from typing import Any

from ..registry import Finding
from ..runner import Result
from . import tool_version

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _result(f: Finding, index: dict[str, int]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": index[f.code],
        "level": _LEVEL[f.severity],
        "message": {"text": f.message},
    }
    if f.file:
        region: dict[str, int] = {}
        if f.line:
            region["startLine"] = f.line
            if f.column:
                region["startColumn"] = f.column
        location: dict[str, Any] = {"artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"}}
        if region:
            location["region"] = region
        item["locations"] = [{"physicalLocation": location}]
    if f.ignored is not None:
        item["suppressions"] = [{"kind": "external", "justification": f.ignored or "ignored"}]
    if f.rule:
        item["properties"] = {"toolRule": f.rule}
    return item


def render(result: Result) -> str:
    rules = [
        {
            "id": check.code,
            "name": check.__name__,
            "shortDescription": {"text": check.summary},
            "fullDescription": {"text": check.doc()},
            "help": {"text": check.doc()},
            "defaultConfiguration": {"level": _LEVEL[check.severity]},
            "properties": {"family": check.family},
        }
        for check in result.checks
    ]
    index = {check.code: n for n, check in enumerate(result.checks)}
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dsops-validate",
                        "version": tool_version(),
                        "informationUri": "https://pypi.org/project/pyscaffoldext-dsproject-ops/",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": result.root.resolve().as_uri() + "/"}},
                "results": [_result(f, index) for f in result.findings + result.ignored],
                "invocations": [
                    {"executionSuccessful": True, "properties": {"external": result.external}}
                ],
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"
