"""The model's features, computed inside the model from raw sensor readings.

``RollingMeans`` is the first step of the saved model (train.py), so training, the
`evaluate` and `predict` stages and the model service all compute the features with
this one piece of code: a client sends raw readings, never features.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from .data import SENSORS


def add_rolling_features(raw: pd.DataFrame, window: int = 6) -> pd.DataFrame:
    """Add per-machine rolling means, so the model sees trends, not single readings.

    Each reading averages its machine's readings of the last ``window`` hours present
    in ``raw`` (ordered by hour); the first readings of a machine average over what
    exists so far, so no row is lost and no value is missing. Rows keep their order.
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    frame = raw.reset_index(drop=True)
    ordered = frame.sort_values(["machine_id", "hour"], kind="stable")
    grouped = ordered.groupby("machine_id", sort=False)
    for sensor in SENSORS:
        # transform keeps the index, so the assignment puts each mean on its own row
        frame[f"{sensor}_mean_{window}h"] = grouped[sensor].transform(
            lambda s: s.rolling(window, min_periods=1).mean()
        )
    return frame


class RollingMeans(TransformerMixin, BaseEstimator):
    """Raw readings (machine_id, hour, sensors) -> the sensors and their rolling means.

    To score a machine now, pass its last ``window`` hours of readings: the answer
    for its latest reading uses all of them.
    """

    def __init__(self, window: int = 6) -> None:
        self.window = window

    def fit(self, raw: pd.DataFrame, labels: Any = None) -> RollingMeans:
        return self

    def transform(self, raw: pd.DataFrame) -> pd.DataFrame:
        frame = add_rolling_features(pd.DataFrame(raw), self.window)
        means = [f"{sensor}_mean_{self.window}h" for sensor in SENSORS]
        return frame[[*SENSORS, *means]]
