"""Data-quality checks: schema, value ranges and missing values.

The ranges are the ones references/data_dictionary.md documents; keep both in step.
The pipeline's `check_data` stage stops before processing when a check fails, and
tests/test_data_quality.py runs the same checks on the processed datasets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Column:
    kind: str  # "integer" or "float"
    low: float
    high: float | None = None


SCHEMA: dict[str, Column] = {
    "machine_id": Column("integer", 0),
    "hour": Column("integer", 0),
    "temperature": Column("float", 0, 150),
    "vibration": Column("float", 0, 20),
    "pressure": Column("float", 0, 60),
    "rotation_speed": Column("float", 0, 3000),
    "failure": Column("integer", 0, 1),
}


def schema_for(columns: list[str]) -> dict[str, Column]:
    """The raw schema, plus derived columns (``temperature_mean_6h``), which keep
    the range of the sensor they come from."""
    schema = dict(SCHEMA)
    for name in columns:
        for sensor, column in SCHEMA.items():
            if name.startswith(f"{sensor}_") and name not in schema:
                schema[name] = Column("float", column.low, column.high)
    return schema


def check(frame: pd.DataFrame) -> list[str]:
    """Every problem found, one readable line each; an empty list means clean."""
    problems: list[str] = []
    if frame.empty:
        return ["the dataset has no rows"]
    schema = schema_for(list(frame.columns))
    for name, column in schema.items():
        if name not in frame.columns:
            problems.append(f"column {name!r} is missing")
            continue
        values = frame[name]
        missing = int(values.isna().sum())
        if missing:
            problems.append(f"column {name!r} has {missing} missing value(s)")
        if not pd.api.types.is_numeric_dtype(values):
            problems.append(f"column {name!r} is not numeric ({values.dtype})")
            continue
        if column.kind == "integer" and not (values.dropna() % 1 == 0).all():
            problems.append(f"column {name!r} holds non-integer values")
        below = int((values < column.low).sum())
        if below:
            problems.append(f"column {name!r} has {below} value(s) below {column.low}")
        if column.high is not None:
            above = int((values > column.high).sum())
            if above:
                problems.append(
                    f"column {name!r} has {above} value(s) above {column.high}"
                )
    return problems


def main(argv: list[str], prog: str) -> int:
    """The `check-data` stage: write a JSON report; fail when a check fails."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("data", type=Path, help="CSV file to check")
    parser.add_argument("report", type=Path, help="JSON report to write")
    args = parser.parse_args(argv)
    frame = pd.read_csv(args.data)
    problems = check(frame)
    report = {"rows": len(frame), "columns": list(frame.columns), "problems": problems}
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for problem in problems:
        print(f"{args.data}: {problem}")
    print(f"{args.data}: {len(frame)} rows, {len(problems)} problem(s)")
    return 1 if problems else 0
