"""The `check_data` stage: the raw readings against the data contract (contract.py).

The pipeline stops before training when a reading breaks the contract; the report
lists every problem, one line each.
"""

from __future__ import annotations

import json
from pathlib import Path

from .contract import problems


def main(argv: list[str], prog: str) -> int:
    """The `check-data` stage: write a JSON report; fail when a check fails."""
    import argparse

    import pandas as pd

    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("data", type=Path, help="CSV file to check")
    parser.add_argument("report", type=Path, help="JSON report to write")
    args = parser.parse_args(argv)
    frame = pd.read_csv(args.data)
    found = problems(frame)
    report = {"rows": len(frame), "columns": list(frame.columns), "problems": found}
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for problem in found:
        print(f"{args.data}: {problem}")
    print(f"{args.data}: {len(frame)} rows, {len(found)} problem(s)")
    return 1 if found else 0
