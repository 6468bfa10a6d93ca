"""Data drift: do new readings still look like the data the model was trained on?

The `train` stage saves reference statistics of the training data (``reference_stats``:
101 quantiles per sensor). The `drift` stage compares new readings with them, per
sensor, in two ways:

* the population stability index (PSI) over the reference's deciles: how much the
  share of readings in each tenth moved (< 0.1 stable, 0.1-0.25 some change,
  > 0.25 a real shift, by the usual rule of thumb);
* scipy's Kolmogorov-Smirnov test of the new readings against the reference
  distribution: the largest gap between the two cumulative distributions.

It writes reports/drift.json and fails (exit 1, one line) when a sensor's PSI or KS
statistic is above params.yaml `drift.max_psi` / `drift.max_ks`. Only numpy and scipy
are imported: the stage reads its CSV without pandas.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .data import SENSORS
from .errors import UserError

QUANTILES = np.linspace(0, 1, 101)
EPSILON = 1e-4  # an empty bin counts as this share, so the PSI stays finite


def reference_stats(frame: Any) -> dict[str, Any]:
    """Rows, mean, std and 101 quantiles of each sensor (``frame``: a DataFrame)."""
    stats: dict[str, Any] = {"rows": int(len(frame)), "sensors": {}}
    for sensor in SENSORS:
        values = np.asarray(frame[sensor], dtype=float)
        stats["sensors"][sensor] = {
            "mean": round(float(values.mean()), 6),
            "std": round(float(values.std()), 6),
            "quantiles": [round(float(q), 6) for q in np.quantile(values, QUANTILES)],
        }
    return stats


def psi(reference: list[float], values: np.ndarray) -> float:
    """Population stability index of ``values`` over the reference deciles."""
    edges = np.asarray(reference)[10:100:10]  # the 9 inner decile edges
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=10)
    actual = np.maximum(counts / max(len(values), 1), EPSILON)
    expected = np.full(10, 0.1)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks(reference: list[float], values: np.ndarray) -> tuple[float, float]:
    """KS statistic and p-value of ``values`` against the reference distribution
    (its cumulative distribution interpolated between the quantiles)."""
    from scipy.stats import kstest

    points = np.asarray(reference)

    def cdf(x: np.ndarray) -> np.ndarray:
        return np.interp(x, points, QUANTILES, left=0.0, right=1.0)

    result = kstest(values, cdf)
    return float(result.statistic), float(result.pvalue)


def compare(
    reference: dict[str, Any],
    columns: dict[str, np.ndarray],
    max_psi: float,
    max_ks: float,
) -> dict[str, Any]:
    """The drift report: per sensor PSI, KS and whether it drifted."""
    sensors: dict[str, Any] = {}
    for sensor, stats in reference["sensors"].items():
        values = columns[sensor]
        index = psi(stats["quantiles"], values)
        statistic, pvalue = ks(stats["quantiles"], values)
        sensors[sensor] = {
            "psi": round(index, 4),
            "ks_statistic": round(statistic, 4),
            "ks_pvalue": float(f"{pvalue:.4g}"),
            "reference_mean": stats["mean"],
            "new_mean": round(float(values.mean()), 6),
            "drifted": bool(index > max_psi or statistic > max_ks),
        }
    drifted = [name for name, found in sensors.items() if found["drifted"]]
    return {
        "rows": int(len(next(iter(columns.values())))),
        "reference_rows": reference["rows"],
        "max_psi": max_psi,
        "max_ks": max_ks,
        "drifted": drifted,
        "sensors": sensors,
    }


def read_sensors(path: Path) -> dict[str, np.ndarray]:
    """The sensor columns of a CSV file (numpy only: no pandas import for one read)."""
    if not path.is_file():
        raise UserError(f"{path} not found: run the pipeline first (dvc repro)")
    table = np.genfromtxt(
        path, delimiter=",", names=True, dtype=float, encoding="utf-8"
    )
    names = table.dtype.names or ()
    missing = [s for s in SENSORS if s not in names]
    if missing:
        raise UserError(f"{path} has no column(s) {', '.join(missing)}")
    columns = {sensor: np.atleast_1d(table[sensor]) for sensor in SENSORS}
    if len(columns[SENSORS[0]]) == 0:
        raise UserError(f"{path} has no rows")
    return columns


def main(argv: list[str], prog: str) -> int:
    """The `drift` stage: new readings against the training data (params: drift)."""
    import argparse

    from .params import load_params

    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("reference", type=Path, help="reference statistics (JSON)")
    parser.add_argument("data", type=Path, help="new readings (CSV)")
    parser.add_argument("report", type=Path, help="drift report to write (JSON)")
    args = parser.parse_args(argv)
    settings = load_params()["drift"]
    max_psi, max_ks = float(settings["max_psi"]), float(settings["max_ks"])
    reference = json.loads(args.reference.read_text(encoding="utf-8"))
    report = compare(reference, read_sensors(args.data), max_psi, max_ks)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if report["drifted"]:
        worst = ", ".join(
            f"{name} (PSI {report['sensors'][name]['psi']}, "
            f"KS {report['sensors'][name]['ks_statistic']})"
            for name in report["drifted"]
        )
        raise UserError(
            f"{args.data} drifted from the training data: {worst} above "
            f"drift.max_psi {max_psi} / drift.max_ks {max_ks} in params.yaml "
            f"(details: {args.report})"
        )
    print(f"{args.data}: no drift ({len(SENSORS)} sensors); report in {args.report}")
    return 0
