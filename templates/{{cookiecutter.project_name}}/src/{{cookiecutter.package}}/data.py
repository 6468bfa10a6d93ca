"""A deterministic generator of predictive-maintenance sensor data.

Each machine reports temperature, vibration, pressure and rotation speed once per
hour. Failures become likelier as the machine wears (vibration and temperature drift
upwards), which gives the model a real, learnable signal without any download.
Replace this module with your own data source when you adopt the project.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SENSORS = ("temperature", "vibration", "pressure", "rotation_speed")


def generate_sensor_data(
    n_machines: int = 20, n_hours: int = 200, seed: int = 42
) -> pd.DataFrame:
    """Readings per machine over time, with a binary ``failure`` label."""
    if n_machines < 1 or n_hours < 1:
        raise ValueError("n_machines and n_hours must be positive")
    rng = np.random.default_rng(seed)
    frames = []
    for machine in range(n_machines):
        wear = np.cumsum(rng.gamma(shape=0.5, scale=0.02, size=n_hours))
        temperature = 60 + 8 * wear + rng.normal(0, 1.5, n_hours)
        vibration = 0.5 + 0.6 * wear + rng.normal(0, 0.08, n_hours)
        pressure = 30 - 1.5 * wear + rng.normal(0, 0.7, n_hours)
        rotation_speed = 1500 - 40 * wear + rng.normal(0, 15, n_hours)
        risk = 1 / (1 + np.exp(-(4 * wear - 6 + rng.normal(0, 0.5, n_hours))))
        failure = (rng.random(n_hours) < risk * 0.35).astype(int)
        frames.append(
            pd.DataFrame(
                {
                    "machine_id": machine,
                    "hour": np.arange(n_hours),
                    "temperature": temperature.round(3),
                    "vibration": vibration.round(4),
                    "pressure": pressure.round(3),
                    "rotation_speed": rotation_speed.round(1),
                    "failure": failure,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def main(argv: list[str], prog: str) -> int:
    """The `get-data` stage: write the readings described by params.yaml `data`,
    and, with --new, the new readings to score (`data.new`: other machines, no label).
    """
    import argparse

    from .params import load_params

    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("output", type=Path, help="CSV file to write")
    parser.add_argument("--new", type=Path, help="CSV file of new readings to write")
    args = parser.parse_args(argv)
    settings = load_params()["data"]
    readings = generate_sensor_data(
        n_machines=int(settings["n_machines"]),
        n_hours=int(settings["n_hours"]),
        seed=int(settings["seed"]),
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    readings.to_csv(args.output, index=False)
    print(f"wrote {len(readings)} readings to {args.output}")
    if args.new:
        new = settings["new"]
        unlabelled = generate_sensor_data(
            n_machines=int(new["n_machines"]),
            n_hours=int(settings["n_hours"]),
            seed=int(new["seed"]),
        ).drop(columns="failure")
        args.new.parent.mkdir(parents=True, exist_ok=True)
        unlabelled.to_csv(args.new, index=False)
        print(f"wrote {len(unlabelled)} new readings to {args.new}")
    return 0
