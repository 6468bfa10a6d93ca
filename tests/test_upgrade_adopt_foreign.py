"""upgrade/foreign.py: fitting the template to a repository we did not make (pure)."""

from __future__ import annotations

import configparser

from pyscaffoldext.dsproject_ops.upgrade.foreign import (
    Layout,
    adapt_theirs,
    adjust,
    find_layout,
    ignore_skipped,
    layout_conflict,
    migrate_record,
    requirement_notes,
    restore_ours,
    unhide_dvc_pointers,
)
from pyscaffoldext.dsproject_ops.upgrade.plan import ADDED, KEPT, MERGED, SKIPPED, Change


def test_the_teams_package_is_found_in_every_layout() -> None:
    src = find_layout(["src/churn/__init__.py", "src/churn/features/__init__.py", "README.md"])
    assert (src.package_dir, src.flat, src.package) == ("src/churn", False, "churn")
    assert "src/churn/features/__init__.py" in src.files
    flat = find_layout(["sales/__init__.py", "tests/__init__.py", "docs/conf.py"])
    assert (flat.package_dir, flat.flat, flat.package) == ("sales", True, "sales")
    v1 = find_layout(["src/__init__.py", "src/data/__init__.py", "src/models/train_model.py"])
    assert (v1.package_dir, v1.flat, v1.package) == ("src", True, "")
    assert find_layout(["train.py", "README.md"]) == Layout()
    two = ["src/a/__init__.py", "src/b/__init__.py"]
    assert find_layout(two, "b").package_dir == "src/b"


def test_a_template_module_never_shadows_the_teams_package() -> None:
    layout = find_layout(["src/churn/__init__.py", "src/churn/features/__init__.py"])
    assert "shadow your package src/churn/features/" in layout_conflict(
        "src/churn/features.py", layout, "churn"
    )
    assert layout_conflict("src/churn/train.py", layout, "churn") == ""
    assert layout_conflict("tests/test_x.py", layout, "churn") == ""
    flat = find_layout(["sales/__init__.py"])
    assert layout_conflict("src/sales/train.py", flat, "sales").startswith("beside your package")


def _added(path: str, text: str) -> Change:
    return Change(path, ADDED, text, theirs=text)


def test_files_needing_a_skipped_module_are_skipped_too() -> None:
    layout = find_layout(["src/p/__init__.py", "src/p/features/__init__.py"])
    changes = [
        _added("src/p/features.py", "X = 1\n"),
        _added("src/p/train.py", "from .features import X\n"),
        _added("src/p/serve.py", "import json\n"),
        _added("tests/test_train.py", "from p.train import fit\n"),
        _added("tests/test_serve.py", "from p import serve\n"),
        _added("dvc.yaml", "deps:\n- src/p/features.py\n"),
        _added("docs/howto.md", "See src/p/features.py.\n"),
    ]
    got = {c.path: c for c in adjust(changes, layout, "p", lambda rel: None)}
    skipped = {p for p, c in got.items() if c.kind == SKIPPED}
    assert skipped == {"src/p/features.py", "src/p/train.py", "tests/test_train.py", "dvc.yaml"}
    assert got["tests/test_train.py"].note == "needs p.train, which is not added"
    assert got["src/p/serve.py"].kind == ADDED and got["docs/howto.md"].kind == ADDED
    assert all(c.text is None for c in got.values() if c.kind == SKIPPED)


def test_an_identical_untracked_placeholder_never_blocks() -> None:
    changes = [_added("data/raw/.gitkeep", ""), _added("models/.gitkeep", "")]
    present = {"data/raw/.gitkeep": b""}
    got = adjust(changes, Layout(), "p", present.get)
    assert [(c.path, c.kind) for c in got] == [
        ("data/raw/.gitkeep", KEPT),
        ("models/.gitkeep", ADDED),
    ]
    # a different file in the way is left to the upgrade's refusal
    other = adjust([_added("data/raw/.gitkeep", "")], Layout(), "p", lambda rel: b"data")
    assert other[0].kind == ADDED


CFG = """[metadata]
name = churn
description = Churn

[options]
package_dir =
    =src
packages = find_namespace:
install_requires =
    pandas

[options.packages.find]
where = src

[options.entry_points]
console_scripts =
    churn = churn.cli:main

[flake8]
max_line_length = 88

[pyscaffold]
version = 4.5
package = churn
extensions =
    dsproject
    markdown
    no_skeleton
"""


def test_the_old_extension_record_is_migrated() -> None:
    out = migrate_record(CFG, "4.6")
    parser = configparser.RawConfigParser()
    parser.read_string(out)
    assert parser["pyscaffold"]["extensions"].split() == [
        "dsproject_ops",
        "markdown",
        "no_skeleton",
    ]
    assert parser["pyscaffold"]["version"] == "4.6"
    assert "[flake8]\nmax_line_length = 88\n" in out  # the rest verbatim
    assert migrate_record(out, "4.6") == out
    plain = "[metadata]\nname = x\n"
    assert migrate_record(plain, "4.6") == plain


def test_a_migration_alone_is_a_change_to_write() -> None:
    migrated = migrate_record(CFG, "4.6")
    (kept,) = restore_ours([Change("setup.cfg", KEPT, ours=migrated)], {"setup.cfg": CFG})
    assert (kept.kind, kept.text, kept.ours) == (MERGED, migrated, CFG)


def test_the_template_setup_cfg_fits_a_flat_package_and_pyproject_metadata() -> None:
    files = {"setup.cfg": CFG, "README.md": "x"}
    flat = find_layout(["churn/__init__.py"])
    out, notes = adapt_theirs(files, flat, lambda rel: None)
    parser = configparser.RawConfigParser()
    parser.read_string(out["setup.cfg"])
    assert not parser.has_option("options", "package_dir")
    assert not parser.has_section("options.packages.find")
    assert not parser.has_section("options.entry_points")
    assert parser["options"]["install_requires"].split() == ["pandas"]
    assert any("your package is churn/" in n for n in notes)
    pyproject = '[project]\nname = "churn"\nversion = "1"\n'
    src = find_layout(["src/churn/__init__.py"])
    reads = {"pyproject.toml": pyproject}
    out, notes = adapt_theirs(files, src, reads.get)
    parser = configparser.RawConfigParser()
    parser.read_string(out["setup.cfg"])
    assert dict(parser["metadata"]) == {"name": "churn"}  # the record names the project
    assert not parser.has_section("options") and parser.has_section("pyscaffold")
    untouched, none = adapt_theirs(files, src, lambda rel: None)
    assert untouched == files and none == []


def test_requirement_pins_that_disagree_are_reported() -> None:
    text = "# ours\npandas==1.5.3\nnumpy>=2,<3\nscikit-learn<1.0  # old\nrequests==2.0\n-e .\n"
    notes = requirement_notes(text, {"pandas": "3.1.1", "numpy": "2.4.6", "scikit-learn": "1.9.1"})
    assert notes == [
        "requirements.txt:2: pandas==1.5.3, but the template pins pandas==3.1.1 "
        "(environment.yml, setup.cfg): pick one",
        "requirements.txt:4: scikit-learn<1.0 excludes the template's pin "
        "scikit-learn==1.9.1: pick one",
    ]
    assert requirement_notes(None, {"pandas": "1"}) == []


def test_skipped_files_are_recorded_for_validate() -> None:
    out = ignore_skipped(CFG, ["dvc.yaml", "src/churn/features.py"])
    parser = configparser.RawConfigParser()
    parser.read_string(out)
    assert parser["dsops.validate"]["per-path-ignores"].split("\n")[-2:] == [
        "dvc.yaml: LAY001",
        "src/churn/features.py: LAY001",
    ]
    again = ignore_skipped(out, ["dvc.yaml", "tests/test_features.py"])
    lines = configparser.RawConfigParser()
    lines.read_string(again)
    assert lines["dsops.validate"]["per-path-ignores"].count("dvc.yaml") == 1
    assert "tests/test_features.py: LAY001" in lines["dsops.validate"]["per-path-ignores"]
    assert ignore_skipped(CFG, []) == CFG


def test_nested_data_ignores_let_dvc_pointers_through() -> None:
    files = {
        "data/raw/.gitignore": "# Ignore everything in this directory\n*\n!.gitignore\n",
        "data/raw/keep.txt": "",
        "data/other/.gitignore": "*.csv\n",
        ".gitignore": "*\n",
    }
    out = unhide_dvc_pointers(files, files.get)
    assert list(out) == ["data/raw/.gitignore"]
    assert out["data/raw/.gitignore"].startswith(files["data/raw/.gitignore"])
    assert out["data/raw/.gitignore"].endswith("!*.dvc\n")
    assert unhide_dvc_pointers(out, out.get) == {}


def test_the_teams_documents_under_other_names_are_kept() -> None:
    changes = [_added("README.md", "# x\n"), _added("docs/index.md", "# x\n")]
    got = adjust(changes, Layout(), "p", lambda rel: None, frozenset({"README.rst"}))
    assert [(c.path, c.kind, c.note) for c in got] == [
        ("README.md", SKIPPED, "you have README.rst"),
        ("docs/index.md", ADDED, ""),
    ]


def test_packaging_and_the_image_use_the_teams_documents() -> None:
    cfg = "[metadata]\nname = x\nlicense_files = LICENSE.txt\nlong_description = file: README.md\n"
    cfg += "long_description_content_type = text/markdown; charset=UTF-8\n"
    docker = "FROM python\nCOPY setup.cfg README.md LICENSE.txt ./\nRUN echo README.md\n"
    team = {"README.rst": "x", "LICENSE": "y"}
    out, _ = adapt_theirs({"setup.cfg": cfg, "Dockerfile": docker}, Layout(), team.get)
    assert (
        out["Dockerfile"]
        == "FROM python\nCOPY setup.cfg README.rst LICENSE ./\nRUN echo README.md\n"
    )
    parser = configparser.RawConfigParser()
    parser.read_string(out["setup.cfg"])
    assert parser["metadata"]["long_description"] == "file: README.rst"
    assert parser["metadata"]["long_description_content_type"] == "text/x-rst; charset=UTF-8"
    assert parser["metadata"]["license_files"] == "LICENSE"


def test_the_python_version_is_read_from_environment_yml() -> None:
    from pyscaffoldext.dsproject_ops.upgrade.adopt import _env_python

    assert _env_python("dependencies:\n  - python=3.12\n  - pip\n") == "3.12"
    assert _env_python("dependencies:\n    - pandas\n    - python >=3.13\n") == "3.13"
    assert _env_python("dependencies: [\n") == ""  # does not parse: the default applies
    assert _env_python(None) == ""
