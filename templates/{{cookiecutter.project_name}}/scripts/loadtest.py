"""Load-test the model service on this machine: throughput and latency percentiles.

    {{ cookiecutter.project_name }} serve --workers 2 &        # in another terminal
    python scripts/loadtest.py --requests 2000 --concurrency 8
    2000 requests, 8 clients: 2000 ok, 0 failed in 4.10 s
    throughput 487.8 requests/s; latency p50 15.2 ms, p99 41.0 ms

Bounded on purpose: loopback addresses only (never someone else's server), at
most 100,000 requests, 256 clients and 300 seconds. Each client is a thread with
one keep-alive connection (the standard library's http.client), sending the
first rows of data/processed/test.csv (or zeros) as POST /predict.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import ipaddress
import json
import socket
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

LIMITS = {"requests": 100_000, "concurrency": 256, "duration": 300.0}


def loopback(host: str) -> bool:
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback
            for info in socket.getaddrinfo(host, None)
        )
    except (OSError, ValueError):
        return False


def number(text: str) -> int | float:
    """A CSV cell as JSON would write it: integer columns (ids, hours) stay integers,
    which the data contract requires."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def body(url: str, rows: int, data: Path) -> bytes:
    """A valid /predict body: the model's columns (from /ready) with real values."""
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or "127.0.0.1"
    connection = http.client.HTTPConnection(host, parsed.port, timeout=10)
    # Older servers of this template listed the columns on /health.
    for path in ("/ready", "/health"):
        connection.request("GET", path)
        answer = connection.getresponse()
        found = json.loads(answer.read() or b"{}")
        if answer.status == 200 and "columns" in found:
            break
    else:
        raise SystemExit(f"loadtest: {url}/ready answered {answer.status}: not ready")
    columns = found["columns"]
    connection.close()
    records = []
    if data.is_file():
        with data.open(newline="", encoding="utf-8") as fh:
            for row, _ in zip(csv.DictReader(fh), range(rows)):
                records.append({c: number(row[c]) for c in columns})
    while len(records) < rows:
        records.append({c: 0 for c in columns})
    return json.dumps({"records": records}).encode()


def client(
    url: str,
    payload: bytes,
    tickets: list[int],
    lock: threading.Lock,
    deadline: float,
    latencies: list[float],
    failures: list[str],
) -> None:
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or "127.0.0.1"
    connection = http.client.HTTPConnection(host, parsed.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    while time.monotonic() < deadline:
        with lock:
            if not tickets:
                break
            tickets.pop()
        started = time.perf_counter()
        try:
            connection.request("POST", "/predict", body=payload, headers=headers)
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                failures.append(f"HTTP {answer.status}")
                continue
        except (OSError, http.client.HTTPException) as error:
            failures.append(type(error).__name__)
            connection.close()  # reconnects on the next request
            continue
        latencies.append(time.perf_counter() - started)
    connection.close()


def percentile(values: list[float], share: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[
        round(share * 100) - 1
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Load-test the model service (loopback only)."
    )
    parser.add_argument(
        "--url", default="http://127.0.0.1:8000", help="(default: %(default)s)"
    )
    parser.add_argument(
        "--requests", type=int, default=2000, help="(default: %(default)s)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="clients (default: %(default)s)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=60.0,
        help="stop after this many seconds (default: 60)",
    )
    parser.add_argument(
        "--rows", type=int, default=1, help="records per request (default: 1)"
    )
    parser.add_argument("--data", type=Path, default=Path("data/processed/test.csv"))
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead"
    )
    args = parser.parse_args(argv)
    for name, limit in LIMITS.items():
        value = getattr(args, name)
        if not 0 < value <= limit:
            parser.error(f"--{name} must be between 1 and {limit:g}")
    host = urllib.parse.urlsplit(args.url).hostname or ""
    if urllib.parse.urlsplit(args.url).scheme != "http" or not loopback(host):
        parser.error(
            f"{args.url}: only http:// on a loopback address (127.0.0.1, localhost)"
        )
    payload = body(args.url, args.rows, args.data)
    tickets = list(range(args.requests))
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[str] = []
    started = time.perf_counter()
    deadline = time.monotonic() + args.duration
    threads = [
        threading.Thread(
            target=client,
            args=(args.url, payload, tickets, lock, deadline, latencies, failures),
        )
        for _ in range(args.concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    result = {
        "requests": len(latencies) + len(failures),
        "ok": len(latencies),
        "failed": len(failures),
        "concurrency": args.concurrency,
        "seconds": round(elapsed, 3),
        "throughput": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "errors": sorted(set(failures)),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['requests']} requests, {args.concurrency} clients: "
            f"{result['ok']} ok, {result['failed']} failed in {elapsed:.2f} s"
        )
        print(
            f"throughput {result['throughput']} requests/s; "
            f"latency p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
        )
        if failures:
            print("errors: " + ", ".join(result["errors"]), file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
