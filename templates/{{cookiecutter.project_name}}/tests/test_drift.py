"""The drift check: new readings against the training data's reference statistics."""

import numpy as np
import pandas as pd

from {{ cookiecutter.package }}.data import SENSORS, generate_sensor_data
from {{ cookiecutter.package }}.drift import compare, reference_stats


def columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {sensor: frame[sensor].to_numpy(dtype=float) for sensor in SENSORS}


def test_readings_of_other_machines_do_not_drift() -> None:
    reference = reference_stats(generate_sensor_data(n_machines=20, seed=42))
    new = generate_sensor_data(n_machines=5, seed=7)
    report = compare(reference, columns(new), max_psi=0.25, max_ks=0.3)
    assert report["drifted"] == []
    assert set(report["sensors"]) == set(SENSORS)


def test_a_shifted_sensor_drifts_and_only_that_one() -> None:
    reference = reference_stats(generate_sensor_data(n_machines=20, seed=42))
    new = generate_sensor_data(n_machines=5, seed=7)
    new["temperature"] += 15
    report = compare(reference, columns(new), max_psi=0.25, max_ks=0.3)
    assert report["drifted"] == ["temperature"]
    assert report["sensors"]["temperature"]["psi"] > 0.25
