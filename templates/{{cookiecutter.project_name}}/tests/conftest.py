"""Shared pytest fixtures (pytest loads this file automatically)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the repository root, as `dvc repro` runs the stages."""
    monkeypatch.chdir(ROOT)
    return ROOT
