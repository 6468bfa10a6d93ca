import pandas as pd
import pytest

from {{ cookiecutter.package }}.data import SENSORS, generate_sensor_data
from {{ cookiecutter.package }}.features import (
    add_rolling_features,
    feature_columns,
    split_by_machine,
)


def test_generator_is_deterministic() -> None:
    first = generate_sensor_data(n_machines=3, n_hours=10, seed=7)
    second = generate_sensor_data(n_machines=3, n_hours=10, seed=7)
    pd.testing.assert_frame_equal(first, second)
    assert len(first) == 30
    assert set(first["failure"].unique()) <= {0, 1}


def test_generator_rejects_empty_requests() -> None:
    with pytest.raises(ValueError):
        generate_sensor_data(n_machines=0)


def test_rolling_features_keep_every_row_and_fill_every_value() -> None:
    raw = generate_sensor_data(n_machines=2, n_hours=12, seed=1)
    processed = add_rolling_features(raw, window=4)
    assert len(processed) == len(raw)
    assert not processed[feature_columns(processed)].isna().any().any()
    for sensor in SENSORS:
        assert f"{sensor}_mean_4h" in processed.columns


def test_rolling_mean_is_per_machine() -> None:
    raw = pd.DataFrame(
        {
            "machine_id": [0, 0, 1, 1],
            "hour": [0, 1, 0, 1],
            "temperature": [10.0, 20.0, 100.0, 200.0],
            "vibration": [1.0, 1.0, 1.0, 1.0],
            "pressure": [1.0, 1.0, 1.0, 1.0],
            "rotation_speed": [1.0, 1.0, 1.0, 1.0],
            "failure": [0, 0, 0, 1],
        }
    )
    processed = add_rolling_features(raw, window=2)
    assert processed["temperature_mean_2h"].tolist() == [10.0, 15.0, 100.0, 150.0]


def test_split_holds_out_whole_machines() -> None:
    frame = add_rolling_features(generate_sensor_data(n_machines=8, n_hours=5, seed=3))
    train, test = split_by_machine(frame, test_size=0.25, seed=3)
    assert len(train) + len(test) == len(frame)
    assert test["machine_id"].nunique() == 2
    assert not set(train["machine_id"]) & set(test["machine_id"])


def test_split_is_deterministic_and_checks_its_input() -> None:
    frame = generate_sensor_data(n_machines=6, n_hours=3, seed=1)
    first, _ = split_by_machine(frame, seed=9)
    second, _ = split_by_machine(frame, seed=9)
    pd.testing.assert_frame_equal(first, second)
    with pytest.raises(ValueError):
        split_by_machine(frame, test_size=1.5)
    with pytest.raises(ValueError):
        split_by_machine(frame[frame["machine_id"] == 0])
