"""Data tests: the data contract (contract.py) and the model datasets that keep it."""

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package }}.contract import FIELDS, LABEL, problems, violations
from {{ cookiecutter.package }}.data import generate_sensor_data
from {{ cookiecutter.package }}.params import load_params
from {{ cookiecutter.package }}.split import TEST_FILE, TRAIN_FILE, split_by_machine

ROOT = Path(__file__).resolve().parents[1]
PROCESSED = ROOT / "data" / "processed"
GOOD_ROW = {
    "machine_id": 3,
    "hour": 120,
    "temperature": 71.2,
    "vibration": 1.31,
    "pressure": 28.1,
    "rotation_speed": 1462.0,
    "failure": 0,
}


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
    settings = {k: v for k, v in params["data"].items() if k != "new"}
    train, test = split_by_machine(generate_sensor_data(**settings), **params["split"])
    return {"train": train, "test": test}


@pytest.mark.parametrize("name", ["train", "test"])
def test_datasets_keep_the_data_contract(
    datasets: dict[str, pd.DataFrame], name: str
) -> None:
    found = problems(datasets[name])
    assert not found, f"{name} set:\n" + "\n".join(found)


def test_training_set_has_both_classes(datasets: dict[str, pd.DataFrame]) -> None:
    assert set(datasets["train"][LABEL].unique()) == {0, 1}


def test_no_machine_is_in_both_sets(datasets: dict[str, pd.DataFrame]) -> None:
    train, test = datasets["train"], datasets["test"]
    assert not set(train["machine_id"]) & set(test["machine_id"])


def test_a_good_row_keeps_the_contract_with_or_without_its_label() -> None:
    assert problems(pd.DataFrame([GOOD_ROW])) == []
    assert problems(pd.DataFrame([GOOD_ROW]).drop(columns=LABEL)) == []


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("temperature", 151.0),
        ("vibration", -0.1),
        ("pressure", 60.5),
        ("rotation_speed", 3000.1),
        ("machine_id", -1),
        ("failure", 2),
    ],
)
def test_an_out_of_range_value_breaks_the_contract(column: str, value: float) -> None:
    rows = [GOOD_ROW, {**GOOD_ROW, column: value}]
    (found,) = violations(pd.DataFrame(rows))
    assert (found.column, found.row) == (column, 1)
    assert str(found).startswith(f"column {column!r}: ") and "out of range" in str(
        found
    )


def test_contract_reports_each_kind_of_problem() -> None:
    frame = generate_sensor_data(n_machines=1, n_hours=4, seed=0)
    frame.loc[0, "temperature"] = None
    frame.loc[1, "vibration"] = -1.0
    frame = frame.drop(columns=["pressure"]).assign(extra=1)
    found = "\n".join(problems(frame))
    assert "column 'pressure' is missing" in found
    assert "column 'temperature' has a missing value" in found
    assert (
        "column 'vibration': -1.0 is out of range [0, 20] (1 row(s), first row 1)"
        in found
    )
    assert "column 'extra' is not in the data contract" in found


def test_contract_checks_types_and_refuses_empty_data() -> None:
    assert problems(pd.DataFrame([{**GOOD_ROW, "machine_id": 1.5}])) == [
        "column 'machine_id' must be int"
    ]
    assert problems(generate_sensor_data().head(0)) == ["the dataset has no rows"]
    assert set(FIELDS) == set(generate_sensor_data(n_machines=1, n_hours=1).columns)
