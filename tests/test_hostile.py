"""Issue 13: hostile text in every option is data, never code or template.

A hypothesis test drives every option (project name, package, description, author,
email, url, license, ci, dvc-remote, mlflow-tracking-uri, python-version, example)
with hostile text. Each example is either refused with one line (a DsopsError, so
putup prints one ``ERROR:`` line and writes nothing), or rendered (in-process, with
``render()``), and then: every Python file compiles, importing the generated package
runs none of the input, every YAML/TOML/INI/JSON file parses back to the intended
value, no secret reaches a tracked file and nothing reads as unrendered template code.
The numbered cases of the issue are reproduced with the real commands below.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from configobj import ConfigObj
from conftest import BIN, base_env, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyscaffoldext.dsproject_ops.answers import Answers, build, one_line
from pyscaffoldext.dsproject_ops.errors import DsopsError
from pyscaffoldext.dsproject_ops.render import render
from pyscaffoldext.dsproject_ops.validate.templates import _JINJA
from pyscaffoldext.dsproject_ops.writer import local_files, materialise

MARKER = "PWNED"
# Payloads that would run, break out of a literal or a line, or open a template.
PAYLOADS = [
    f'"; open("{MARKER}", "w"); x="',
    f"'; open('{MARKER}', 'w'); x='",
    f'\n__import__("os").system("touch {MARKER}")\n',
    f'""" + open("{MARKER}", "w").name + """',
    "{% endif %}",
    "{{ cookiecutter.project_name }}",
    "\nnew_key = injected\n[injected]",
    "a: b\n- c",
    "%(here)s %",
    "#,'\"`$(touch x)`\\",
    "<script>alert(1)</script>",
    "\u2028\u0085é中🐍",
]
TEXT = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(
        alphabet=st.one_of(
            st.sampled_from(list("\"':#{}%\n\t\\;[]=&*!|>-@`$~/?,é ")), st.characters()
        ),
        max_size=30,
    ),
)
SCHEMES = ["ssh", "s3", "https", "http", "sqlite", "postgresql", "gs", "file", "webdav", "evil"]
URI = st.one_of(
    TEXT,
    st.builds(lambda s, rest: f"{s}://{rest}", st.sampled_from(SCHEMES), TEXT),
    st.builds(
        lambda s, user, pw, host, path: f"{s}://{user}:{pw}@{host}/{path}",
        st.sampled_from(SCHEMES),
        st.sampled_from(["u", "tok3n", "", "a%40b"]),
        st.sampled_from(["s3cr%3At", "pw", "x%23y"]),
        st.sampled_from(["h", "127.0.0.1:2222", "[::1]", "h:99999", "h:abc", "[evil"]),
        TEXT,
    ),
)
# Valid values, awkward ones included (credentials, IPv6, ports, ',' and "'" in URLs).
SEGMENT = st.text(alphabet="abcXYZ019-._~!$&'()*+,;=:@%20", min_size=1, max_size=12).map(
    lambda t: t.replace("%", "%25").replace("%2520", "%20")
)
CREDS = st.sampled_from(["", "u@", "tok3nUser@", "u:s3cr%3At@", ":pw@", "u:x%23y%2Cz@"])
HOSTS = st.sampled_from(["h", "files.example.com:2222", "[::1]", "127.0.0.1:5000"])
QUERY = st.sampled_from(["", "?token=t0kVal9", "?x=1", "?x=1&api_key=k3yVal9"])
GOOD_REMOTE = st.one_of(
    st.sampled_from(["../remote", "/srv/dvc", "~/dvc", "../a#c,d", "s3://bucket/dvc"]),
    st.builds(
        lambda s, c, h, p, q: f"{s}://{c}{h}/{p}{q}",
        st.sampled_from(["ssh", "https", "webdav", "s3", "gs", "hdfs"]),
        CREDS,
        HOSTS,
        SEGMENT,
        QUERY,
    ),
)
GOOD_URI = st.one_of(
    st.sampled_from(["sqlite:///mlflow.db", "sqlite:///a,b'c.db", "file:///tmp/mlruns"]),
    st.builds(
        lambda s, c, h, p, q: f"{s}://{c}{h}/{p}{q}",
        st.sampled_from(["http", "https", "postgresql", "mysql+pymysql"]),
        CREDS,
        HOSTS,
        SEGMENT,
        st.sampled_from(["", "?token=t0kVal9"]),
    ),
)
# Free text that is accepted: anything printable, tabs and newlines, no template syntax.
PROSE = st.one_of(
    st.sampled_from([p for p in PAYLOADS if "{{" not in p and "{%" not in p]),
    st.text(
        alphabet=st.one_of(
            st.sampled_from(list("\"':#%\n\t\\;[]=&*!|>-@`$~/?,é ")),
            st.characters(blacklist_categories=("Cc", "Cs")),
        ),
        max_size=30,
    ).filter(lambda t: not re.search(r"\{[{%#]", t)),
)
VALID = {
    "description": PROSE,
    "author": PROSE,
    "email": PROSE,
    "url": st.sampled_from(["", "https://example.com/p?a=1&b='x'", "http://[::1]:8080/"]),
    "license": PROSE,
    "ci": st.sampled_from(["both", "gitlab", "github", "none"]),
    "dvc_remote": GOOD_REMOTE,
    "mlflow_tracking_uri": GOOD_URI,
    "python_version": st.sampled_from(["3.11", "3.12", "3.13"]),
    "example": st.booleans(),
}
HOSTILE = {key: TEXT for key in VALID}
HOSTILE.update(url=URI, dvc_remote=URI, mlflow_tracking_uri=URI)
HOSTILE["name"] = st.one_of(st.sampled_from(["x" * 201, "", "-x", "a b", "a/../b"]), TEXT)


@st.composite
def option_sets(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """A name and valid (awkward) values for every option, hostile text in one or two."""
    options = {key: draw(strategy) for key, strategy in VALID.items()}
    options["name"] = draw(st.sampled_from(["demo", "my-proj.v2", "A.b_c-9", "null", "on"]))
    for key in draw(st.lists(st.sampled_from(sorted(HOSTILE)), max_size=2)):
        options[key] = draw(HOSTILE[key])
    return str(options.pop("name")), options


CASES = option_sets()


def secrets_of(answers: Answers) -> list[str]:
    found = [unquote(answers.dvc_password)] if answers.dvc_password else []
    found += [value for _key, value in answers.mlflow_env]
    if answers.dvc_local_url:
        from pyscaffoldext.dsproject_ops.escaping import split_secrets

        found += [unquote(v) for v in split_secrets(answers.dvc_local_url)[1].values()]
    return [s for s in found if len(s) >= 5]  # shorter ones occur in any text


def check_tree(answers: Answers, tree: dict[str, str]) -> None:
    for path, text in tree.items():
        if path.endswith((".yml", ".yaml")):
            list(yaml.safe_load_all(text))
        elif path.endswith(".toml"):
            tomllib.loads(text)
        elif path.endswith((".json", ".ipynb")):
            json.loads(text)
        elif path.endswith(".py"):
            compile(text, path, "exec")
        assert not _JINJA.search(text), f"{path}: reads as unrendered template code"
        for secret in secrets_of(answers):
            assert secret not in text, f"{path} holds a secret"
    # Python: the values, as literals.
    tracking = ast.parse(tree[f"src/{answers.package}/tracking.py"])
    consts = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tracking.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
    }
    assert consts["DEFAULT_TRACKING_URI"] == answers.mlflow_tracking_uri
    assert consts["EXPERIMENT"] == answers.project_name
    # INI (setuptools reads with interpolation): each value as recorded.
    cfg = configparser.ConfigParser()
    cfg.read_string(tree["setup.cfg"])
    assert cfg["pyscaffold"]["dsproject_ops_dvc_remote"] == answers.dvc_remote
    assert cfg["pyscaffold"]["dsproject_ops_mlflow_tracking_uri"] == answers.mlflow_tracking_uri
    assert cfg["metadata"]["description"] == one_line(answers.description)
    assert cfg["metadata"]["author"] == one_line(answers.author)
    assert cfg["metadata"]["url"] == answers.url.strip()
    # DVC's config (configobj, as DVC reads it): the URL whole, never cut at '#' or ','.
    dvc = ConfigObj(tree[".dvc/config"].splitlines())
    url = dvc['remote "default"']["url"]
    remote = answers.dvc_remote
    expected = remote if "://" in remote or remote[:1] in "/~" else f"../{remote}"
    assert url == expected
    # YAML: the description in the docs site.
    site = yaml.safe_load(tree["mkdocs.yml"])
    assert site["site_description"] == one_line(answers.description)
    assert site["site_name"] == answers.project_name
    assert yaml.safe_load(tree["environment.yml"])["name"] == answers.project_name
    # The secrets' own files parse back to them.
    local = local_files(answers)
    if ".dvc/config.local" in local:
        section = ConfigObj(local[".dvc/config.local"].splitlines())['remote "default"']
        if answers.dvc_password:
            assert section["password"] == unquote(answers.dvc_password)
        if answers.dvc_local_url:
            assert section["url"] == answers.dvc_local_url


@pytest.mark.slow  # renders and validates per example
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=CASES)
def test_every_option_with_hostile_text(case: tuple[str, dict[str, object]]) -> None:
    name, options = case
    try:
        answers = build(name, **options)
    except DsopsError as exc:
        message = str(exc)
        assert message and "\n" not in message and "\r" not in message
        return
    check_tree(answers, render(answers))


@pytest.mark.parametrize("payload", PAYLOADS[:4])
def test_generated_code_never_runs_input(payload: str, tmp_path: Path) -> None:
    """Import the generated package (tracking, cli) with the payload in every free-text
    option: no marker file appears. URIs cannot carry the payload at all (refused)."""
    answers = build("demo", description=payload, author=payload, license=payload)
    with pytest.raises(DsopsError):
        build("demo", mlflow_tracking_uri=f"http://x.com/{payload}")
    materialise(tmp_path, render(answers))
    code = "import demo, demo.tracking, demo.cli; print(demo.tracking.DEFAULT_TRACKING_URI)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**base_env(), "PYTHONPATH": str(tmp_path / "src")},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / MARKER).exists()


def one_line_refusal(tmp_path: Path, *options: str) -> str:
    """putup refuses: exit 1, one ERROR line, no traceback, nothing written."""
    done = run(
        [BIN / "putup", "--dsproject-ops", *options], cwd=tmp_path, check=False, env=base_env()
    )
    said = (done.stdout + done.stderr).strip()
    assert done.returncode == 1, said
    assert "Traceback" not in said
    errors = [line for line in said.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, said
    assert list(tmp_path.iterdir()) == [], "something was written"
    return errors[0]


@pytest.mark.parametrize(
    "options, says",
    [
        (
            (
                "--mlflow-tracking-uri",
                'http://x.com/"; import os; os.system("touch pwned"); X="',
            ),
            "not allowed in a URI",
        ),
        (("--mlflow-tracking-uri", "http://x.com/\nnew = key"), "not allowed in a URI"),
        (("--dvc-remote", "ssh://u:zz@[evil/p"), "Invalid IPv6 URL"),
        (("--dvc-remote", "ssh://host:99999/p"), "Port out of range"),
        (("--dvc-remote", "ssh://host:abc/p"), "Port could not be cast"),
        (("--dvc-remote", "s3://bucket/p#frag"), "'#' (a fragment)"),
        (("--description", "a {% endif %} b"), "reads as template code"),
        (("--url", "javascript:alert(1)"), "http:// or https://"),
    ],
)
def test_bad_options_are_one_line_refusals(
    options: tuple[str, ...], says: str, tmp_path: Path
) -> None:
    line = one_line_refusal(tmp_path, *options, "demo")
    assert says in line
    assert "zz" not in line  # a password is never echoed


def test_overlong_name_is_a_one_line_refusal(tmp_path: Path) -> None:
    line = one_line_refusal(tmp_path, "a" * 240)
    assert "240 characters" in line


def test_commas_in_a_dvc_url_reach_dvc_whole(tmp_path: Path) -> None:
    """A ',' is valid in a URL: DVC itself reads the URL back whole."""
    answers = build("demo", dvc_remote="s3://bucket/a,b/c")
    repo = tmp_path / "repo"
    repo.mkdir()
    run(["git", "init", "-q"], cwd=repo)
    materialise(repo, {".dvc/config": render(answers)[".dvc/config"]})
    listed = run([BIN / "dvc", "remote", "list"], cwd=repo).stdout
    assert "s3://bucket/a,b/c" in listed


def test_doctor_on_a_setup_cfg_that_is_not_utf8(tmp_path: Path) -> None:
    """Issue 13, case 7: no traceback; the unreadable file is reported."""
    (tmp_path / "setup.cfg").write_bytes(b"[metadata]\nname = p\ndescription = caf\xe9\n")
    run(["git", "init", "-q"], cwd=tmp_path)
    done = run([BIN / "dsops", "doctor"], cwd=tmp_path, check=False)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.slow  # runs both front-ends
def test_both_front_ends_write_the_same_bytes_for_awkward_answers(tmp_path: Path) -> None:
    """The escaping filters are one module loaded by both: cookiecutter (through
    ``_extensions``) and putup make the same repository from awkward, valid answers."""
    from test_cookiecutter import assert_same_repository, cookiecutter
    from test_cookiecutter import putup as putup_as_ada

    answers = {
        # (--license is left out: PyScaffold maps it to the nearest license it knows.)
        "description": "R&D: \"quotes\" 'too' 100% <b>bold</b> # not a comment \U0001f40d",
        "url": "https://example.com/p?a=1&b='x'",
        "dvc_remote": "https://tok3nValue@files.example.com:8443/a,b?token=t0kVal9&x=1",
        "mlflow_tracking_uri": "postgresql://ml:p%40ssW0rd@db.example.com/mlflow",
    }
    options = [
        "--description",
        answers["description"],
        "--url",
        answers["url"],
        "--dvc-remote",
        answers["dvc_remote"],
        "--mlflow-tracking-uri",
        answers["mlflow_tracking_uri"],
    ]
    putup_as_ada(tmp_path / "putup", "demo", tuple(options))
    cookiecutter(tmp_path / "cc", {"author": "Ada Lovelace", "email": "ada@example.com", **answers})
    made = tmp_path / "putup" / "demo"
    assert_same_repository(made, tmp_path / "cc" / "demo")
    tracked = run(["git", "ls-files", "-z"], cwd=made).stdout.split("\0")
    text = "".join((made / f).read_text(encoding="utf-8") for f in tracked if f)
    for secret in ("tok3nValue", "t0kVal9", "p@ssW0rd", "p%40ssW0rd"):
        assert secret not in text
