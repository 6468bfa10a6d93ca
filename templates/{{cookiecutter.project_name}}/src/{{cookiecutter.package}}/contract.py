"""The data contract of the raw sensor readings: one schema for every place data enters.

The `check_data` stage, the `predict` stage, the generated tests and the model service
all validate readings with ``schema()``, a pandera schema built from ``FIELDS``. The
ranges are the ones references/data_dictionary.md documents: change both together.
pandera is imported when a schema is first needed, so importing this module is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers only: the imports below cost time
    import pandas as pd
    import pandera.pandas as pa


@dataclass(frozen=True)
class Field:
    kind: type  # int or float
    low: float
    high: float | None = None
    required: bool = True  # the label is absent from new data and from requests


FIELDS: dict[str, Field] = {
{%- if cookiecutter.example %}
    "machine_id": Field(int, 0),
    "hour": Field(int, 0),
    "temperature": Field(float, 0, 150),
    "vibration": Field(float, 0, 20),
    "pressure": Field(float, 0, 60),
    "rotation_speed": Field(float, 0, 3000),
    "failure": Field(int, 0, 1, required=False),
{%- else %}
    # One line per column of your raw data, e.g.
    # "temperature": Field(float, 0, 150),
{%- endif %}
}
LABEL = {{ '"failure"' if cookiecutter.example else '""  # the column the model predicts' }}
# What the model takes: every required column (the label is what it predicts).
INPUTS = [name for name, field in FIELDS.items() if field.required]


def bounds(name: str) -> str:
    field = FIELDS[name]
    return (
        f"[{field.low:g}, {field.high:g}]"
        if field.high is not None
        else f">= {field.low:g}"
    )


@lru_cache(maxsize=None)
def schema(names: tuple[str, ...] | None = None) -> pa.DataFrameSchema:
    """The pandera schema: these columns and no others, typed, in range, never null.

    Integer columns must hold integers; float columns accept integers (a CSV reads
    ``1500`` as an integer) and are converted to floats. ``names`` restricts it to
    those columns (a model that takes fewer), other columns then pass unchecked.
    """
    import pandera.pandas as pa

    columns = {}
    for name, field in FIELDS.items():
        if names is not None and name not in names:
            continue
        if field.high is None:
            check = pa.Check.ge(field.low)
        else:
            check = pa.Check.in_range(field.low, field.high)
        columns[name] = pa.Column(
            field.kind,
            check,
            nullable=False,
            required=field.required,
            coerce=field.kind is float,
        )
    return pa.DataFrameSchema(columns, strict=names is None, name="sensor readings")


@dataclass(frozen=True)
class Violation:
    """One broken rule: the column, the row (None when the whole column is at fault)
    and the offending value."""

    column: str
    row: int | None
    value: Any
    check: str

    def __str__(self) -> str:
        if self.check == "column_in_dataframe":
            return f"column {self.column!r} is missing"
        if self.check == "column_in_schema":
            return f"column {self.column!r} is not in the data contract"
        if self.check == "not_nullable":
            return f"column {self.column!r} has a missing value"
        if self.check.startswith(("dtype", "coerce_dtype")):
            return f"column {self.column!r} must be {FIELDS[self.column].kind.__name__}"
        limits = bounds(self.column)
        return f"column {self.column!r}: {self.value!r} is out of range {limits}"


def violations(
    frame: pd.DataFrame, names: tuple[str, ...] | None = None
) -> list[Violation]:
    """Every value (or column) that breaks the contract; empty when the data is valid.
    ``names``: check only these columns (see ``schema``)."""
    import pandera.pandas as pa

    try:
        schema(names).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as error:
        found = []
        for case in error.failure_cases.to_dict("records"):
            column = case["column"]
            if case["schema_context"] == "DataFrameSchema":  # the failure is a column
                column = case["failure_case"]
            row = case["index"]
            found.append(
                Violation(
                    column=str(column),
                    row=None if row is None or row != row else int(row),
                    value=case["failure_case"],
                    check=str(case["check"]),
                )
            )
        return found
    return []


def problems(frame: pd.DataFrame) -> list[str]:
    """The violations summarised per column and rule, one readable line each."""
    if frame.empty:
        return ["the dataset has no rows"]
    grouped: dict[str, list[Violation]] = {}
    for violation in violations(frame):
        key = f"{violation.column}:{violation.check}"
        grouped.setdefault(key, []).append(violation)
    lines = []
    for found in grouped.values():
        first = found[0]
        rows = [v.row for v in found if v.row is not None]
        where = f" ({len(found)} row(s), first row {rows[0]})" if rows else ""
        lines.append(f"{first}{where}")
    return lines
