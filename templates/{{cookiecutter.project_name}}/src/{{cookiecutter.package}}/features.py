"""Turn raw sensor readings into model features, and into the model datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .data import SENSORS

LABEL = "failure"
TRAIN_FILE = "train.csv"
TEST_FILE = "test.csv"


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
    return [c for c in frame.columns if c not in ("machine_id", "hour", LABEL)]


def split_by_machine(
    frame: pd.DataFrame, test_size: float = 0.25, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out whole machines for testing.

    Rows of one machine are correlated (rolling means share readings), so a random
    row split would leak test information into training and flatter the metrics.
    """
    if not 0 < test_size < 1:
        raise ValueError("test_size must be between 0 and 1")
    machines = np.sort(frame["machine_id"].unique())
    if len(machines) < 2:
        raise ValueError("at least two machines are needed to split by machine")
    n_test = min(len(machines) - 1, max(1, round(len(machines) * test_size)))
    test_ids = np.random.default_rng(seed).choice(machines, size=n_test, replace=False)
    is_test = frame["machine_id"].isin(test_ids)
    return (
        frame[~is_test].reset_index(drop=True),
        frame[is_test].reset_index(drop=True),
    )


def process_main(argv: list[str], prog: str) -> int:
    """The `process` stage: raw readings -> features (params: features)."""
    import argparse

    from .params import load_params

    parser = argparse.ArgumentParser(prog=prog, description=process_main.__doc__)
    parser.add_argument("raw", type=Path, help="raw readings (CSV)")
    parser.add_argument("output", type=Path, help="features to write (CSV)")
    args = parser.parse_args(argv)
    window = int(load_params()["features"]["window"])
    processed = add_rolling_features(pd.read_csv(args.raw), window=window)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    processed.to_csv(args.output, index=False)
    print(f"wrote {len(processed)} rows with {window}h rolling means to {args.output}")
    return 0


def split_main(argv: list[str], prog: str) -> int:
    """The `split` stage: features -> train.csv and test.csv (params: split)."""
    import argparse

    from .params import load_params

    parser = argparse.ArgumentParser(prog=prog, description=split_main.__doc__)
    parser.add_argument("features", type=Path, help="features (CSV)")
    parser.add_argument("folder", type=Path, help=f"where {TRAIN_FILE}, {TEST_FILE} go")
    args = parser.parse_args(argv)
    settings = load_params()["split"]
    train, test = split_by_machine(
        pd.read_csv(args.features),
        test_size=float(settings["test_size"]),
        seed=int(settings["seed"]),
    )
    args.folder.mkdir(parents=True, exist_ok=True)
    train.to_csv(args.folder / TRAIN_FILE, index=False)
    test.to_csv(args.folder / TEST_FILE, index=False)
    print(f"wrote {len(train)} training and {len(test)} test rows to {args.folder}")
    return 0
