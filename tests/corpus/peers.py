"""The peer tools, installed from PyPI once per machine, each in its own venv.

``~/.cache/dsproject-ops-tests/peers/<tool>-<digest of its pins>`` (``DSOPS_PEER_CACHE``
moves it). A venv is built in a temporary folder and renamed into place when its
install finished, under a file lock, so parallel sessions and a killed run never
leave a half-installed peer behind; a fresh machine (CI) builds it on first use.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

# Exact pins: the corpus is made by the same tool versions everywhere.
PEERS: dict[str, tuple[str, ...]] = {
    # pyscaffoldext-dsproject 0.7.2 with the PyScaffold it runs on.
    "dsproject": ("pyscaffoldext-dsproject==0.7.2", "pyscaffold==4.6", "setuptools-scm==10.3.4"),
    # cookiecutter-data-science's package: its template is cloned from GitHub at run
    # time (not in the wheel nor the sdist), so only its dependency writers are used.
    "ccds": ("cookiecutter-data-science==2.3.0", "tomlkit==0.15.2"),
    "kedro": ("kedro==1.7.0",),
    # Builds the corpus' wheels offline (--no-build-isolation) and imports their packages.
    "builder": (
        "pip==26.3",
        "setuptools==84.2.1",
        "setuptools-scm==10.3.4",
        "flit_core==3.12.0",
        "wheel==0.48.0",
        "python-dotenv==1.2.4",
        "loguru==0.7.3",
    ),
}


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "dsproject-ops-tests" / "peers"
    return Path(os.environ.get("DSOPS_PEER_CACHE", default))


def _target(tool: str) -> Path:
    pins = PEERS[tool]
    digest = hashlib.sha256("\n".join((sys.version, *pins)).encode()).hexdigest()[:12]
    return cache_dir() / f"{tool}-{digest}"


def ready(tool: str) -> bool:
    """Installed already (``peer`` would return at once)."""
    return (_target(tool) / "ok").exists()


def peer(tool: str) -> Path:
    """The ``bin`` folder of ``tool``'s venv, installing it on first use."""
    pins = PEERS[tool]
    target = _target(tool)
    root = target.parent
    root.mkdir(parents=True, exist_ok=True)
    if (target / "ok").exists():
        return target / "bin"
    with open(root / f".{tool}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "ok").exists():
            return target / "bin"
        building = root / f".{target.name}.building"
        shutil.rmtree(building, ignore_errors=True)
        done = _install(building, pins)
        if done.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise RuntimeError(f"installing {' '.join(pins)} failed:\n{done.stderr[-2000:]}")
        # venv scripts name the folder they were made in: name the final one.
        _relocate(building, target)
        (building / "ok").write_text("\n".join(pins) + "\n", encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        os.rename(building, target)
    return target / "bin"


def _install(building: Path, pins: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """A venv in ``building`` with ``pins`` installed: by uv when the suite has it (the
    same pins, a fraction of pip's CPU on a cold machine, where these installs share
    the cores with the running suite), else by the venv's own pip."""
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    uv = shutil.which(
        "uv", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    if uv is None:
        venv.EnvBuilder(with_pip=True).create(building)
        command = [str(building / "bin" / "python"), "-m", "pip", "install", "-q", *pins]
    else:
        made = subprocess.run(
            [uv, "venv", "-q", "--python", sys.executable, str(building)],
            capture_output=True,
            text=True,
            env=env,
        )
        if made.returncode != 0:
            return made
        command = [uv, "pip", "install", "-q", "--python", str(building / "bin" / "python"), *pins]
    return subprocess.run(command, capture_output=True, text=True, env=env)


def _relocate(built: Path, target: Path) -> None:
    old, new = str(built).encode(), str(target).encode()
    for path in (built / "bin").iterdir():
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if old in data:
                path.write_bytes(data.replace(old, new))
    cfg = built / "pyvenv.cfg"
    cfg.write_bytes(cfg.read_bytes().replace(old, new))


if __name__ == "__main__":  # python corpus/peers.py TOOL...: install them (the suite's warm-up)
    for name in sys.argv[1:]:
        peer(name)
