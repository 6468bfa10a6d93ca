"""Every released template version, renderable from the installed package.

A release archives its template tree (``cookiecutter.json`` and the project folder)
as ``template_history/<version>.tar.gz`` inside the package, so a colleague's fresh
clone with only the newest package installed can still render the version a
repository was made with: no machine-local state, no network. Archives are made by
the maintainer command below, once per release::

    python -m pyscaffoldext.dsproject_ops.upgrade.history snapshot

Extra archive folders (a platform team's private templates, or tests) can be listed
in ``DSOPS_TEMPLATE_HISTORY`` (``os.pathsep``-separated); they are searched first.
"""

from __future__ import annotations

import argparse
import atexit
import gzip
import hashlib
import io
import os
import re
import shutil
import sys
import tarfile
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from ..errors import DsopsError
from ..paths import template_root

HISTORY_DIR = Path(__file__).resolve().parent.parent / "template_history"
ENV_VAR = "DSOPS_TEMPLATE_HISTORY"
_VERSION = re.compile(r"^\d+(\.\d+)*([.-]?[A-Za-z0-9]+)*$")


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Sort key: numeric parts numerically (0.10.0 after 0.9.0)."""
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.-]", version))


def history_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    return extra + [HISTORY_DIR]


def current_version(root: Path | None = None) -> str:
    return str(_read_spec(root or template_root())["_template_version"])


def pyscaffold_version(root: Path | None = None) -> str:
    """The PyScaffold version a template tree records in ``setup.cfg [pyscaffold]``."""
    return str(_read_spec(root or template_root()).get("_pyscaffold_version", ""))


def pins(root: Path | None = None) -> dict[str, str]:
    """The exact runtime pins of a template tree (``_pins``: name -> version)."""
    found = _read_spec(root or template_root()).get("_pins", {})
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def archived_versions() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in reversed(history_dirs()):  # earlier folders win
        if folder.is_dir():
            for archive in folder.glob("*.tar.gz"):
                found[archive.name[: -len(".tar.gz")]] = archive
    return found


def known_versions() -> list[str]:
    return sorted({*archived_versions(), current_version()}, key=version_key)


def template_for(version: str) -> Path:
    """The template tree (the folder holding ``cookiecutter.json``) of ``version``."""
    if version == current_version():
        return template_root()
    archive = archived_versions().get(version)
    if archive is None:
        raise DsopsError(
            f"unknown template version {version!r} (this dsproject-ops knows "
            f"{', '.join(known_versions())}): upgrade pyscaffoldext-dsproject-ops"
        )
    return _extract(str(archive))


@lru_cache(maxsize=None)
def _extract(archive: str) -> Path:
    target = Path(tempfile.mkdtemp(prefix="dsops-template-"))
    atexit.register(shutil.rmtree, target, True)
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            # Only plain files under the archive's own folder: never a link or ../ path.
            name = Path(member.name)
            if not member.isfile() or name.is_absolute() or ".." in name.parts:
                raise DsopsError(
                    f"template archive {archive} holds an unsafe entry {member.name!r}"
                )
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            path.write_bytes(source.read())
    return target


def _read_spec(root: Path) -> dict[str, object]:
    from ..spec import load  # the one reader of cookiecutter.json

    return dict(load(root).data)


def tree_files(root: Path) -> dict[str, bytes]:
    """The files a template tree is made of, as archived (no caches)."""
    files: dict[str, bytes] = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in names:
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(folder) / name
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return dict(sorted(files.items()))


def archive_bytes(files: dict[str, bytes]) -> bytes:
    """A reproducible tar.gz: sorted entries, zero times and owners."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


def archive_files(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        out = {}
        for member in tar.getmembers():
            source = tar.extractfile(member)
            if source is not None:
                out[member.name] = source.read()
    return dict(sorted(out.items()))


def digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name, data in sorted(files.items()):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def snapshot(root: Path | None = None, into: Path | None = None) -> Path:
    """Archive the template tree at ``root`` under its ``_template_version``.

    Refuses to replace an archive with different contents: a released version never
    changes; change the templates under a new ``_template_version`` instead.
    """
    root = root or template_root()
    into = into or HISTORY_DIR
    version = current_version(root)
    if not _VERSION.match(version):
        raise DsopsError(f"invalid _template_version {version!r} in {root / 'cookiecutter.json'}")
    files = tree_files(root)
    target = into / f"{version}.tar.gz"
    if target.exists():
        if digest(archive_files(target)) == digest(files):
            return target
        raise DsopsError(
            f"{target} already holds a different template {version}: bump _template_version "
            "in templates/cookiecutter.json (and say what changed in CHANGELOG.rst)"
        )
    into.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(archive_bytes(files))
    os.replace(tmp, target)
    return target


def problems(root: Path | None = None, folder: Path | None = None) -> list[str]:
    """What is wrong with the archive folder against the template tree at ``root``:
    the templates changed while an archive of their ``_template_version`` exists
    (bump the version), or an archive is newer than the templates."""
    root = root or template_root()
    folder = folder or HISTORY_DIR
    version = current_version(root)
    found = []
    for archive in sorted(folder.glob("*.tar.gz")):
        archived = archive.name[: -len(".tar.gz")]
        if archived == version and digest(archive_files(archive)) != digest(tree_files(root)):
            found.append(
                f"the templates changed but _template_version is still {version}, which "
                f"{archive.name} archives: bump it and describe the change in CHANGELOG.rst"
            )
        elif version_key(archived) > version_key(version):
            found.append(f"{archive.name} is newer than the templates ({version})")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyscaffoldext.dsproject_ops.upgrade.history",
        description="Maintainers: archive the current template tree at release time, "
        "so `dsops upgrade` can render it forever after.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="archive templates/ as template_history/<version>")
    snap.add_argument("--root", type=Path, help="template tree (default: the package's)")
    snap.add_argument("--into", type=Path, help=f"archive folder (default: {HISTORY_DIR})")
    sub.add_parser("list", help="the template versions this package can render")
    args = parser.parse_args(argv)
    try:
        if args.command == "snapshot":
            print(snapshot(args.root, args.into))
        else:
            print("\n".join(known_versions()))
    except DsopsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
