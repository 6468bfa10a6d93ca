"""Data-quality tests: schema, ranges and missing values of the model datasets."""

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package }}.data import generate_sensor_data
from {{ cookiecutter.package }}.features import (
    LABEL,
    TEST_FILE,
    TRAIN_FILE,
    add_rolling_features,
    split_by_machine,
)
from {{ cookiecutter.package }}.params import load_params
from {{ cookiecutter.package }}.quality import check

ROOT = Path(__file__).resolve().parents[1]
PROCESSED = ROOT / "data" / "processed"


@pytest.fixture(scope="module")
def datasets() -> dict[str, pd.DataFrame]:
    """The model datasets: the pipeline's outputs once `dvc repro` or `dvc pull`
    made them, otherwise built in memory by the same code from params.yaml."""
    if (PROCESSED / TRAIN_FILE).is_file() and (PROCESSED / TEST_FILE).is_file():
        return {
            "train": pd.read_csv(PROCESSED / TRAIN_FILE),
            "test": pd.read_csv(PROCESSED / TEST_FILE),
        }
    params = load_params(ROOT / "params.yaml")
    raw = generate_sensor_data(**params["data"])
    processed = add_rolling_features(raw, window=params["features"]["window"])
    train, test = split_by_machine(processed, **params["split"])
    return {"train": train, "test": test}


@pytest.mark.parametrize("name", ["train", "test"])
def test_schema_ranges_and_missing_values(
    datasets: dict[str, pd.DataFrame], name: str
) -> None:
    problems = check(datasets[name])
    assert not problems, f"{name} set:\n" + "\n".join(problems)


def test_training_set_has_both_classes(datasets: dict[str, pd.DataFrame]) -> None:
    assert set(datasets["train"][LABEL].unique()) == {0, 1}


def test_no_machine_is_in_both_sets(datasets: dict[str, pd.DataFrame]) -> None:
    train, test = datasets["train"], datasets["test"]
    assert not set(train["machine_id"]) & set(test["machine_id"])


def test_check_reports_each_kind_of_problem() -> None:
    frame = generate_sensor_data(n_machines=1, n_hours=4, seed=0)
    frame.loc[0, "temperature"] = None
    frame.loc[1, "vibration"] = -1.0
    frame.loc[2, "failure"] = 2
    problems = check(frame.drop(columns=["pressure"]))
    assert "column 'pressure' is missing" in problems
    assert "column 'temperature' has 1 missing value(s)" in problems
    assert "column 'vibration' has 1 value(s) below 0" in problems
    assert "column 'failure' has 1 value(s) above 1" in problems


def test_check_accepts_clean_data_and_refuses_empty_data() -> None:
    assert check(generate_sensor_data(n_machines=2, n_hours=3)) == []
    assert check(generate_sensor_data().head(0)) == ["the dataset has no rows"]
