"""Each escaping filter, read back by the real reader of its language."""

from __future__ import annotations

import ast
import configparser
import shlex
import tomllib

import yaml
from configobj import ConfigObj
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pyscaffoldext.dsproject_ops import escaping

TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\"'#,%:{}[]\\`$;&|<>\n\t \u2028\u0085\ufeff")),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=30,
)
LINE = TEXT.filter(lambda t: not any(c in t for c in "\r\n\x00"))


@settings(max_examples=200, deadline=None)
@given(value=TEXT)
@example(value="A\n")  # found by this test: `$` matched before the final newline
def test_python_yaml_toml_and_shell_read_the_value_back(value: str) -> None:
    assert ast.literal_eval(escaping.py_str(value)) == value
    assert yaml.safe_load(f"key: {escaping.yaml_str(value)}\n")["key"] == value
    if not any(ord(c) < 32 and c not in "\t\n" or c == "\x7f" for c in value):
        assert tomllib.loads(f"key = {escaping.toml_str(value)}\n")["key"] == value
    assert shlex.split(escaping.shell_word(value)) == [value]


@settings(max_examples=200, deadline=None)
@given(value=TEXT)
def test_ini_values_read_back_folded(value: str) -> None:
    cfg = configparser.ConfigParser()
    cfg.read_string(f"[s]\nkey = {escaping.ini_value(value)}\n")
    assert cfg["s"]["key"] == " ".join(value.split())


@settings(max_examples=200, deadline=None)
@given(value=LINE)
def test_dvc_config_values_read_back_whole(value: str) -> None:
    value = value.strip()
    if '"""' in value and "'''" in value:
        return
    read = ConfigObj([f"key = {escaping.config_value(value)}"])["key"]
    assert read == value


def test_yaml_words_that_are_not_strings_are_quoted() -> None:
    for word in ["0x1f", "0o17", ".5", "1_000", "2001-12-14", "12:30", "null", "On", "=", "~"]:
        assert yaml.safe_load(f"k: {escaping.yaml_str(word)}")["k"] == word
    assert escaping.yaml_str("demo") == "demo" and escaping.yaml_str("my-proj.v2") == "my-proj.v2"


def test_markdown_text_defuses_html_and_template_braces() -> None:
    assert escaping.md_text("a <script> {{ x }} {% if %} R&D") == (
        "a &lt;script> &#123;{ x }} &#123;% if %} R&D"
    )


def test_public_uri_drops_every_kind_of_secret() -> None:
    cases = {
        "https://admin:pw@h/p": "https://h/p",
        "https://tok@h/p": "https://h/p",
        "ssh://alice:pw@h:22/p": "ssh://alice@h:22/p",
        "https://h/p?x=1&token=t&X-Amz-Signature=s": "https://h/p?x=1",
        "postgresql://u:pw@db/m": "postgresql://u@db/m",
        "sqlite:///mlflow.db": "sqlite:///mlflow.db",
        "../folder": "../folder",
    }
    for given_uri, public in cases.items():
        assert escaping.public_uri(given_uri) == public
