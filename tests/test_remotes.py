"""Issue 14: every DVC remote scheme `--dvc-remote` accepts gets its DVC plugin, in
the conda environment, the package extras, both CI systems' training jobs and the
image; and DVC, at the pinned versions, really supports the scheme with that plugin.

One generated repository per scheme; the CI system and the example vary with it, so
the CI files of every scheme are also checked by gitlab-ci-local and actionlint.
"""

from __future__ import annotations

import configparser
import json
import re
import shutil
from pathlib import Path
from typing import Callable

import pytest
import yaml
from conftest import BIN, run
from test_cicd import gcl, instructions

from pyscaffoldext.dsproject_ops.answers import DVC_SCHEMES, cookiecutter_json

SPEC = cookiecutter_json()
# scheme -> the plugin (None: DVC reads it without one)
PLUGINS = {
    "s3": "dvc-s3",
    "gs": "dvc-gs",
    "azure": "dvc-azure",
    "ssh": "dvc-ssh",
    "hdfs": "dvc-hdfs",
    "webhdfs": "dvc-webhdfs",
    "http": None,
    "https": None,
    "webdav": "dvc-webdav",
    "webdavs": "dvc-webdav",
    "oss": "dvc-oss",
    "gdrive": "dvc-gdrive",
    "": None,  # a folder
}
CI = ("gitlab", "github", "both", "none")


def remote_url(scheme: str) -> str:
    return f"{scheme}://store.example.com/dvc" if scheme else "../shared-dvc-remote"


def test_every_accepted_scheme_is_covered() -> None:
    assert set(PLUGINS) - {""} == set(DVC_SCHEMES)
    pinned = {p for p in PLUGINS.values() if p}
    assert pinned == set(SPEC["_extra_pins"])


@pytest.mark.slow  # imports every DVC remote plugin
def test_dvc_supports_every_scheme_with_the_pinned_plugins() -> None:
    """`dvc version` lists the remote types whose plugin loads (the test extras
    install exactly the template's pins: tests/test_selfcheck.py)."""
    done = run([BIN / "dvc", "version"], cwd=Path.cwd())
    supports = done.stdout.split("Supports:", 1)[1].split("Config:")[0]
    listed = set(re.findall(r"^\s+(\w+) \(", supports, re.M))
    for scheme in DVC_SCHEMES:
        assert scheme in listed, (scheme, supports)


@pytest.mark.slow  # runs gitlab-ci-local, actionlint and validate per remote
@pytest.mark.parametrize("scheme", sorted(PLUGINS), ids=lambda s: s or "folder")
def test_the_remote_plugin_reaches_environment_extras_ci_and_image(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path], scheme: str
) -> None:
    index = sorted(PLUGINS).index(scheme)
    ci = CI[index % len(CI)]
    options = ["--ci", ci, "--dvc-remote", remote_url(scheme)]
    if index % 3 == 1:
        options.append("--no-example")
    repo = generate(*options)
    plugin = PLUGINS[scheme]
    extra = plugin[4:] if plugin else ""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(repo / "setup.cfg", encoding="utf-8")
    extras = cfg["options.extras_require"]
    # Every plugin has its extra, whatever the remote (the remote can change later).
    for name, version in SPEC["_extra_pins"].items():
        companions = SPEC["_extra_requires"].get(name, {})
        wanted = {f"{name}=={version}"} | {f"{n}=={v}" for n, v in companions.items()}
        assert set(extras[name[4:]].split()) == wanted
    # The pip route (the hashed lock) and the conda environment install the remote's plugin.
    route = "pip install --require-hashes -r requirements/lock.txt"
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert route in readme and "pip install --no-deps -e ." in readme
    lock = (repo / "requirements/lock.txt").read_text(encoding="utf-8")
    for name in filter(None, PLUGINS.values()):
        pinned = re.search(
            rf"^{re.escape(name)}==[\w.]+ \\\n\s+--hash=sha256:[0-9a-f]{{64}}", lock, re.M
        )
        assert bool(pinned) == (name == plugin), (name, plugin)
    environment = yaml.safe_load((repo / "environment.yml").read_text(encoding="utf-8"))
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert pip == [f"-e .[{extra}]" if extra else "-e ."]
    # The image serves the model and nothing else: no DVC, so no remote plugin either.
    steps = instructions((repo / "Dockerfile").read_text(encoding="utf-8"))
    installs = [a for k, a in steps if k == "RUN" and "pip install" in a][0]
    # it installs its own hashed lock (requirements/serve.lock.txt), not the development one
    served = re.search(r"--require-hashes -r (\S+)", installs)
    assert served and served.group(1) != "requirements/lock.txt", installs
    pinned = (repo / served.group(1)).read_text(encoding="utf-8")
    pins = set(re.findall(r"^[\w.-]+==[\w.]+", pinned, re.M))
    assert pins and not {p for p in pins if p.startswith("dvc")}, pins
    # The training jobs.
    train = route
    if ci in ("gitlab", "both"):
        work = copy_repo(repo)
        preview = yaml.safe_load(gcl(work, "--preview").stdout)
        assert any(train in line for line in preview["train"]["script"])
        jobs = json.loads(gcl(work, "--list-json").stdout)
        assert {j["name"] for j in jobs} >= {"lint", "validate", "test", "train"}
    if ci in ("github", "both"):
        workflow = (repo / ".github/workflows/train-deliver.yml").read_text(encoding="utf-8")
        assert train in workflow
        assert shutil.which("shellcheck"), "shellcheck not found: apt-get install shellcheck"
        done = run([BIN / "actionlint", "-no-color"], cwd=repo, check=False)
        assert (done.returncode, done.stdout + done.stderr) == (0, "")
    # The repository still passes its own validation.
    done = run([BIN / "dsops", "validate", str(repo)], cwd=repo, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
