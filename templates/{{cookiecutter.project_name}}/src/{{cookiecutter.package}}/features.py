"""Turn raw sensor readings into model features."""

from __future__ import annotations

import pandas as pd

from .data import SENSORS


def add_rolling_features(raw: pd.DataFrame, window: int = 6) -> pd.DataFrame:
    """Add per-machine rolling means, so the model sees trends, not single readings.

    The first readings of a machine average over what exists so far, so no row is
    lost and no value is missing.
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    frame = raw.sort_values(["machine_id", "hour"]).reset_index(drop=True)
    grouped = frame.groupby("machine_id", sort=False)
    for sensor in SENSORS:
        frame[f"{sensor}_mean_{window}h"] = grouped[sensor].transform(
            lambda s: s.rolling(window, min_periods=1).mean()
        )
    return frame


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The columns the model trains on: every sensor and derived column."""
    return [c for c in frame.columns if c not in ("machine_id", "hour", "failure")]
