import pandas as pd
import pytest

from {{ cookiecutter.package }}.data import SENSORS, generate_sensor_data
from {{ cookiecutter.package }}.features import add_rolling_features, feature_columns


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
