"""Issue 8: the benchmark script runs and writes its table (no timing is asserted:
the benchmark itself is the measure, see docs/benchmarks.md)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run


@pytest.mark.slow  # runs the benchmark (generation, validate, upgrade, dvc repro)
def test_quick_benchmark_writes_a_table(tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    run(
        [
            sys.executable,
            ROOT / "benchmarks" / "run.py",
            "--quick",
            "--runs",
            "1",
            "--untracked",
            "200",
            "--output",
            report,
            "--cache-dir",
            tmp_path / "cache",
        ],
        cwd=tmp_path,
        timeout=600,
    )
    text = report.read_text(encoding="utf-8")
    assert "| command | wall median | wall min–max | CPU median | CPU min–max |" in text
    assert re.search(r"- Machine: .+, \d+ cores", text)
    for command in ("putup --dsproject-ops x", "dsops --help", "putup --help"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {command} |"))
        assert re.search(r"\| \d+\.\d{3} s \| \d+\.\d{3}–\d+\.\d{3} s \|", row), row
    # --quick leaves out the peer: it must not have been installed.
    assert not (tmp_path / "cache").exists()
