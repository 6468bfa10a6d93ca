"""The defect corpus (corpus.yaml): its rows and the edit each one makes.

Shared by tests/test_validate_defects.py (each defect is caught where it is) and
tests/test_validate_fix.py (``--fix`` repairs the fixable ones and nothing else).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

CORPUS = Path(__file__).with_name("corpus.yaml")
ROWS: list[dict[str, Any]] = YAML(typ="safe").load(CORPUS.read_text(encoding="utf-8"))
EDITS = ("replace", "insert_after", "insert_before", "append", "delete", "write")


def apply(repo: Path, row: dict[str, Any]) -> None:
    """The row's one edit of its one file."""
    path = repo / row["file"]
    (kind,) = [k for k in EDITS if k in row]
    arg = row[kind]
    if kind == "write":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(arg, encoding="utf-8")
        return
    text = path.read_text(encoding="utf-8")
    if kind == "replace":
        old, new = arg
        assert old in text, f"{row['id']}: {old!r} not in {row['file']}: the template changed"
        text = text.replace(old, new, 1)
    elif kind == "append":
        text = (text if text.endswith("\n") else text + "\n") + arg
    else:
        lines = text.split("\n")
        contains = arg if kind == "delete" else arg[0]
        hits = [i for i, line in enumerate(lines) if contains in line]
        assert hits, f"{row['id']}: no line of {row['file']} contains {contains!r}"
        if kind == "delete":
            del lines[hits[0]]
        else:
            lines[hits[0] + (kind == "insert_after") : hits[0] + (kind == "insert_after")] = arg[
                1
            ].split("\n")
        text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")


def expected_line(repo: Path, rel: str, expect: dict[str, Any]) -> int | None:
    if "line" in expect:
        return int(expect["line"])
    needle = expect.get("at") or expect.get("at_last")
    if needle is None:
        return None
    lines = (repo / rel).read_text(encoding="utf-8").split("\n")
    hits = [i for i, line in enumerate(lines, 1) if needle in line]
    assert hits, f"{needle!r} not in {rel} after the edit"
    return (hits[-1] if "at_last" in expect else hits[0]) + int(expect.get("offset", 0))
