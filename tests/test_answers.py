"""Answers: validation, metacharacters in free text, and the setup.cfg record."""

from __future__ import annotations

import configparser
import json
import re
import tomllib

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from setuptools.config.setupcfg import read_configuration

from pyscaffoldext.dsproject_ops.answers import (
    Answers,
    build,
    cookiecutter_json,
    defaults,
    derive_package,
    from_recorded,
    one_line,
    split_credentials,
)
from pyscaffoldext.dsproject_ops.errors import DsopsError
from pyscaffoldext.dsproject_ops.escaping import md_text
from pyscaffoldext.dsproject_ops.render import render

# Text that breaks naive templates: quotes, YAML/INI/Jinja metacharacters, newlines,
# percent signs (setuptools interpolates setup.cfg), non-ASCII, surrogates.
NASTY = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\"':#{}%\n\t\\;[]=&*!|>-@`$~é中🐍 ")),
        st.characters(),
    ),
    max_size=40,
)


def parse_everything(tree: dict[str, str]) -> None:
    for path, text in tree.items():
        if path.endswith((".yml", ".yaml")):
            list(yaml.safe_load_all(text))
        elif path.endswith(".toml"):
            tomllib.loads(text)
        elif path.endswith((".json", ".ipynb")):
            json.loads(text)
        elif path.endswith(".cfg") or path == ".dvc/config":
            configparser.ConfigParser().read_string(text)
        elif path.endswith(".py"):
            compile(text, path, "exec")


@pytest.mark.slow  # renders the whole tree per example
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(description=NASTY, author=NASTY)
def test_free_text_gives_valid_files_that_keep_the_value(
    tmp_path_factory: pytest.TempPathFactory, description: str, author: str
) -> None:
    try:
        answers = build("demo", description=description, author=author)
    except DsopsError as exc:
        # Only text that cannot be written (control characters, surrogates) or that
        # reads as template code (``{%``, ``{{``, ``{#``) is refused.
        assert "\n" not in str(exc)
        if re.search(r"\{[{%#]", description) or re.search(r"\{[{%#]", author):
            return
        bad = [
            c
            for c in description + author
            if (ord(c) < 32 and c not in "\n\t")
            or 0xD800 <= ord(c) <= 0xDFFF
            or 0x7F <= ord(c) < 0xA0
        ]
        assert bad
        return
    tree = render(answers)
    parse_everything(tree)
    folder = tmp_path_factory.mktemp("cfg")
    (folder / "setup.cfg").write_text(tree["setup.cfg"], encoding="utf-8")
    for name in ("README.md", "LICENSE.txt"):
        (folder / name).write_text(tree[name], encoding="utf-8")
    metadata = read_configuration(folder / "setup.cfg")["metadata"]
    assert metadata.get("description", "") == one_line(description)
    assert metadata.get("author", "") == (one_line(author) or "")
    assert md_text(description) in tree["README.md"]
    assert md_text(author) in tree["AUTHORS.md"]
    # and the record reads back to the same answers
    cfg = configparser.ConfigParser()
    cfg.read_string(tree["setup.cfg"])
    again = from_recorded(dict(cfg["pyscaffold"]), dict(cfg["metadata"]))
    assert again.ci == answers.ci and again.dvc_remote == answers.dvc_remote


@pytest.mark.parametrize("choice", ["gitlab", "github", "both", "none"])
def test_recorded_answers_round_trip(choice: str) -> None:
    answers = build(
        "my-proj",
        ci=choice,
        example=False,
        python_version="3.12",
        dvc_remote="s3://bucket/x%20y",
        mlflow_tracking_uri="http://127.0.0.1:5000",
    )
    tree = render(answers)
    cfg = configparser.ConfigParser()
    cfg.read_string(tree["setup.cfg"])
    again = from_recorded(dict(cfg["pyscaffold"]), dict(cfg["metadata"]))
    assert again == answers


def test_defaults_come_from_cookiecutter_json() -> None:
    spec = cookiecutter_json()
    answers = build("demo")
    assert answers.ci == spec["ci"][0]
    assert answers.python_version == spec["python_version"][0]
    assert answers.example is spec["example"]
    assert answers.mlflow_tracking_uri == spec["mlflow_tracking_uri"]
    assert set(defaults()) | {"project_name", "package", "dvc_remote"} >= {
        k for k in spec if not k.startswith("_")
    }


@pytest.mark.parametrize("name", ["demo", "My-Project", "a.b-c", "x1"])
def test_package_derivation_matches_the_cookiecutter_default(name: str) -> None:
    import jinja2

    expr = cookiecutter_json()["package"]
    assert jinja2.Template(expr).render(cookiecutter={"project_name": name}) == derive_package(name)


def test_remote_password_is_split_off_and_never_rendered() -> None:
    answers = build("demo", dvc_remote="ssh://alice:s3cr%3At@127.0.0.1:2222/srv/dvc")
    assert answers.dvc_remote == "ssh://alice@127.0.0.1:2222/srv/dvc"
    assert answers.dvc_password == "s3cr%3At"
    assert all("s3cr" not in text for text in render(answers).values())
    assert split_credentials("ssh://h/p") == ("ssh://h/p", None, None)


@pytest.mark.parametrize(
    "remote",
    [
        "/srv/dvc",
        "../x",
        "~/dvc",
        "s3://b/p",
        "ssh://u@h/p",
        "gs://b",
        "azure://c/p",
        "https://h/dvc",
    ],
)
def test_valid_remotes(remote: str) -> None:
    assert build("demo", dvc_remote=remote).dvc_remote == remote


@pytest.mark.parametrize("remote", ["ftp://h/p", "s3:bucket", "ssh:///p", "\x00"])
def test_invalid_remotes(remote: str) -> None:
    with pytest.raises(DsopsError, match="invalid --dvc-remote"):
        build("demo", dvc_remote=remote)


def test_relative_remote_is_written_relative_to_the_dvc_folder() -> None:
    config = render(build("demo"))[".dvc/config"]
    assert "url = ../../demo-dvc-remote" in config
    assert "url = /srv/x" in render(build("demo", dvc_remote="/srv/x"))[".dvc/config"]


def test_answers_are_frozen() -> None:
    answers = build("demo")
    with pytest.raises(AttributeError):
        answers.ci = "none"  # type: ignore[misc]
    assert isinstance(answers, Answers)
