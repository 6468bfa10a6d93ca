import pandas as pd
import pytest

from {{ cookiecutter.package }}.contract import INPUTS, LABEL
from {{ cookiecutter.package }}.data import SENSORS, generate_sensor_data
from {{ cookiecutter.package }}.features import RollingMeans, add_rolling_features
from {{ cookiecutter.package }}.split import split_by_machine
from {{ cookiecutter.package }}.train import build_model

SMALL_MODEL = {"n_estimators": 5, "max_depth": 3, "min_samples_leaf": 2, "seed": 0}


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
    features = RollingMeans(window=4).transform(raw)
    assert len(features) == len(raw)
    assert not features.isna().any().any()
    assert list(features.columns) == [*SENSORS, *(f"{s}_mean_4h" for s in SENSORS)]


def test_rolling_mean_is_per_machine_and_rows_keep_their_order() -> None:
    raw = pd.DataFrame(
        {
            "machine_id": [1, 0, 1, 0],
            "hour": [1, 1, 0, 0],
            "temperature": [200.0, 20.0, 100.0, 10.0],
            "vibration": [1.0, 1.0, 1.0, 1.0],
            "pressure": [1.0, 1.0, 1.0, 1.0],
            "rotation_speed": [1.0, 1.0, 1.0, 1.0],
        }
    )
    processed = add_rolling_features(raw, window=2)
    assert processed["temperature_mean_2h"].tolist() == [150.0, 15.0, 100.0, 10.0]


def test_the_model_takes_raw_readings_and_computes_its_features() -> None:
    raw = generate_sensor_data(n_machines=4, n_hours=150, seed=2)
    assert set(raw[LABEL]) == {0, 1}
    model = build_model(SMALL_MODEL, window=3).fit(raw[INPUTS], raw[LABEL])
    assert isinstance(model.steps[0][1], RollingMeans)
    machine = raw[raw["machine_id"] == 1]
    scored = model.predict_proba(machine[INPUTS])[:, 1]
    # The same readings in another order: the same probability for each reading.
    shuffled = machine.sample(frac=1, random_state=0)
    again = pd.Series(model.predict_proba(shuffled[INPUTS])[:, 1], index=shuffled.index)
    assert again.loc[machine.index].tolist() == pytest.approx(list(scored))
    # The latest reading's answer depends only on the machine's last window hours.
    last = model.predict_proba(machine[INPUTS].tail(3))[:, 1][-1]
    assert last == pytest.approx(scored[-1])


def test_split_holds_out_whole_machines() -> None:
    frame = generate_sensor_data(n_machines=8, n_hours=5, seed=3)
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
