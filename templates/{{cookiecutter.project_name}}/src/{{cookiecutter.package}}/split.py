"""The `split` stage: raw readings -> the model datasets (train.csv, test.csv)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TRAIN_FILE = "train.csv"
TEST_FILE = "test.csv"


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


def main(argv: list[str], prog: str) -> int:
    """The `split` stage: raw readings -> train.csv and test.csv (params: split)."""
    import argparse

    from .params import load_params

    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("raw", type=Path, help="raw readings (CSV), checked")
    parser.add_argument("folder", type=Path, help=f"where {TRAIN_FILE}, {TEST_FILE} go")
    args = parser.parse_args(argv)
    settings = load_params()["split"]
    train, test = split_by_machine(
        pd.read_csv(args.raw),
        test_size=float(settings["test_size"]),
        seed=int(settings["seed"]),
    )
    args.folder.mkdir(parents=True, exist_ok=True)
    train.to_csv(args.folder / TRAIN_FILE, index=False)
    test.to_csv(args.folder / TEST_FILE, index=False)
    print(f"wrote {len(train)} training and {len(test)} test rows to {args.folder}")
    return 0
