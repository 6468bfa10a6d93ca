"""The plain CSV experiment log: one row per training run, committed with the code.

Small teams read it in a spreadsheet or in a merge request's diff. The columns
follow the case study: date, code version, model, its parameters, each data set's
size and link, one column per metric per data set, output links, a description.

Branches merge it by union (.gitattributes: `merge=union`): each side's new rows are
kept, in no conflict. When both sides added a column, the merged file holds two
header lines; the reader takes every line that starts with `date,commit` as a header
for the rows below it, and the next run rewrites the file with one header.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Mapping

LOG_FILE = Path("reports/experiments.csv")
# The fixed columns; metric columns (``<data set>_<metric>``) go before
# ``outputs`` and ``description``.
LEADING = (
    "date",
    "commit",
    "model",
    "parameters",
    "train_rows",
    "train_data",
    "validation",
    "test_rows",
    "test_data",
)
TRAILING = ("outputs", "description")


def file_md5(path: Path) -> str:
    """The MD5 DVC records for a file in dvc.lock: the data version."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_link(path: Path) -> str:
    """A data set's link: its path and the version DVC keeps it under."""
    return f"{path.as_posix()} (md5 {file_md5(path)})"


def metric_columns(metrics: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """``{"test": {"roc_auc": 0.9}}`` -> ``{"test_roc_auc": 0.9}``."""
    return {
        f"{data_set}_{name}": value
        for data_set, values in metrics.items()
        for name, value in values.items()
    }


def header_for(row: Mapping[str, object], existing: list[str]) -> list[str]:
    """The existing header, with any new column of ``row`` added before the
    trailing ones, so old rows keep their values and new metrics get a column."""
    header = list(existing) or [*LEADING, *TRAILING]
    new = [key for key in row if key not in header]
    at = header.index(TRAILING[0]) if TRAILING[0] in header else len(header)
    return header[:at] + new + header[at:]


def parse(text: str) -> tuple[list[str], list[dict[str, str]], int]:
    """The log's columns (every header's, in order), its rows, and how many header
    lines it has (more than one after a union merge of two new columns)."""
    header: list[str] = []
    columns: list[str] = []
    rows: list[dict[str, str]] = []
    headers = 0
    for cells in csv.reader(io.StringIO(text)):
        if not cells:
            continue
        if not header or cells[:2] == list(LEADING[:2]):
            header, headers = cells, headers + 1
            columns += [name for name in cells if name not in columns]
            continue
        rows.append(dict(zip(header, cells)))
    return columns, rows, headers


def append_row(row: Mapping[str, object], path: Path = LOG_FILE) -> None:
    """Append one run; rewrite the file only when a new column appears (or a merge
    left it with more than one header line)."""
    rows: list[dict[str, str]] = []
    existing: list[str] = []
    headers = 1
    if path.is_file() and path.stat().st_size:
        existing, rows, headers = parse(path.read_text(encoding="utf-8"))
    header = header_for(row, existing)
    if header == existing and headers == 1:
        with open(path, "a", newline="", encoding="utf-8") as fh:
            csv.DictWriter(fh, header, lineterminator="\n").writerow(row)
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    writer.writerow(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def read_rows(path: Path = LOG_FILE) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    columns, rows, _ = parse(path.read_text(encoding="utf-8"))
    return [{name: row.get(name, "") for name in columns} for row in rows]
