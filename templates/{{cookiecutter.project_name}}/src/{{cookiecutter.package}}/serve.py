"""`{{ cookiecutter.project_name }} serve`: the model service on uvicorn, on a laptop and in the image.

    {{ cookiecutter.project_name }} serve                  # http://127.0.0.1:8000/docs
    curl -s http://127.0.0.1:8000/predict -H 'Content-Type: application/json' \\
         -d '{"records": [{"temperature": 61.2, "vibration": 0.71, ...}]}'
    {"failure_probability": [0.07], "model": "<run id>"}

The application (endpoints, metrics, logs) is in ``service.py``; the limits that
protect it in ``guards.py``; docs/serving.md explains the choices. Every option
has an environment variable (``SERVE_<OPTION>``), which the container and the
Kubernetes ConfigMap use; an option given on the command line wins.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import tempfile
from typing import Any, Sequence

DEFAULTS: dict[str, Any] = {
    "model": "models/model",
    "host": "127.0.0.1",
    "port": 8000,
    "workers": 1,
    "max_body_bytes": 1024 * 1024,
    "max_rows": 1000,
    "client_timeout": 10.0,
    "keep_alive": 5,
    "graceful_timeout": 30,
    "log_level": "info",
}
HELP = {
    "model": "MLflow model: a folder, or a URI such as models:/<name>@champion",
    "host": "address to listen on (0.0.0.0: every interface, as in the image)",
    "port": "TCP port",
    "workers": "worker processes (each loads the model; about one per CPU)",
    "max_body_bytes": "larger request bodies get 413, whatever Content-Length says",
    "max_rows": "most records in one /predict request",
    "client_timeout": "seconds a client has to send its request head, then its body",
    "keep_alive": "seconds an idle keep-alive connection stays open",
    "graceful_timeout": "seconds SIGTERM waits for requests in flight",
    "log_level": "debug, info, warning or error (JSON lines on stderr)",
}


METAVARS = {
    "max_body_bytes": "BYTES",
    "client_timeout": "SECONDS",
    "keep_alive": "SECONDS",
    "graceful_timeout": "SECONDS",
}


def _env(name: str) -> str:
    return "SERVE_" + name.upper()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for name, default in DEFAULTS.items():
        raw = os.environ.get(_env(name), default)
        try:
            value = type(default)(raw)
        except ValueError:
            kind = type(default).__name__
            parser.error(f"{_env(name)}={raw!r} is not a valid {kind}")
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=type(default),
            default=value,
            metavar=METAVARS.get(name, name.split("_")[-1].upper()),
            help=f"{HELP[name]} (env {_env(name)}; default: %(default)s)",
        )


def run(args: argparse.Namespace, prog: str = "serve") -> int:
    # Start-up creates hundreds of thousands of objects (the libraries, the model) that
    # live as long as the process: collecting while they pile up costs ~15 % of it.
    # The service turns the collector back on once the model is loaded.
    gc.disable()
    try:
        return _start(args, prog)
    finally:
        gc.enable()  # on an early error, or after the server stopped


def _start(args: argparse.Namespace, prog: str) -> int:
    from .service import locate

    try:
        locate(args.model)
    except ValueError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print(f"{prog}: error: --workers must be at least 1", file=sys.stderr)
        return 2
    # The worker processes build the application from these (app_from_env).
    for name in ("model", "max_body_bytes", "max_rows", "client_timeout", "log_level"):
        os.environ[_env(name)] = str(getattr(args, name))
    if args.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Workers share their metrics through files; /metrics adds them up.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="metrics-")
    import uvicorn

    from .guards import GuardedH11
    from .service import JsonFormatter

    logging_config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": args.log_level.upper()}
        },
    }
    # uvicorn stops gracefully on SIGTERM, then raises the signal again to end the
    # process the default way: handled here, that ends in exit status 0 instead.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        uvicorn.run(
            "{{ cookiecutter.package }}.service:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            http=GuardedH11,
            lifespan="on",
            log_config=logging_config,
            access_log=False,  # service.py logs each request once, with its id
            server_header=False,
            timeout_keep_alive=args.keep_alive,
            timeout_graceful_shutdown=args.graceful_timeout,
        )
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """`{{ cookiecutter.project_name }} serve`: serve the trained model over HTTP."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the trained model over HTTP (FastAPI on uvicorn; "
        "API description at /docs).",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv), parser.prog)


if __name__ == "__main__":
    raise SystemExit(main())
