"""Notebook stages: the stage the command writes, and a real headless run."""

import json
from pathlib import Path

import nbformat
import pytest

from {{ cookiecutter.package }}.errors import UserError
from {{ cookiecutter.package }}.notebook_stage import (
    NotebookStage,
    Param,
    execute,
    plan,
    stage_name,
)

ROOT = Path(__file__).resolve().parents[1]


def write_notebook(path: Path, tagged: bool = True) -> None:
    cell = nbformat.v4.new_code_cell("rows = 3")
    if tagged:
        cell.metadata["tags"] = ["parameters"]
    path.write_text(nbformat.writes(nbformat.v4.new_notebook(cells=[cell])))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seed=data.seed", Param("seed", "data.seed")),
        ("data.seed", Param("seed", "data.seed")),
    ],
)
def test_param_is_a_variable_and_a_key(text: str, expected: Param) -> None:
    assert Param.parse(text) == expected


@pytest.mark.parametrize("text", ["", "1x=data.seed", "bad name=a"])
def test_bad_param_is_refused(text: str) -> None:
    with pytest.raises(UserError, match="bad parameter"):
        Param.parse(text)


def test_stage_runs_papermill_through_the_package() -> None:
    stage = NotebookStage(
        name="eda",
        notebook="notebooks/eda.ipynb",
        output="reports/eda.ipynb",
        params=(Param("seed", "data.seed"),),
        deps=("data/raw/x.csv",),
    )
    assert stage.command == (
        "python -m {{ cookiecutter.package }}.cli run-notebook notebooks/eda.ipynb "
        "reports/eda.ipynb -p seed=data.seed"
    )
    args = stage.dvc_stage_add()
    assert args[:4] == ["stage", "add", "--name", "eda"]
    assert args[-1] == stage.command
    for pair in (
        ["--deps", "notebooks/eda.ipynb"],
        ["--deps", "data/raw/x.csv"],
        ["--params", "data.seed"],
        ["--outs", "reports/eda.ipynb"],
    ):
        at = args.index(pair[1])
        assert args[at - 1] == pair[0]


def test_stage_name_comes_from_the_notebook() -> None:
    assert stage_name("notebooks/EDA report.ipynb") == "eda_report"


def test_plan_checks_the_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("params.yaml").write_text("data:\n  seed: 1\n")
    write_notebook(tmp_path / "nb.ipynb")
    write_notebook(tmp_path / "untagged.ipynb", tagged=False)
    stage = plan("nb.ipynb", ["data.seed"], [], [])
    assert (stage.name, stage.output) == ("nb", "reports/nb.ipynb")
    with pytest.raises(UserError, match="not a notebook"):
        plan("missing.ipynb", [], [], [])
    with pytest.raises(UserError, match="no cell tagged 'parameters'"):
        plan("untagged.ipynb", ["data.seed"], [], [])
    with pytest.raises(UserError, match="'data.rows' is not in params.yaml"):
        plan("nb.ipynb", ["data.rows"], [], [])
    with pytest.raises(UserError, match="neither exists nor is an output"):
        plan("nb.ipynb", [], ["data/raw/nothing.csv"], [])


def test_template_notebook_runs_headless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    output = tmp_path / "executed" / "template.ipynb"
    execute(ROOT / "notebooks" / "template.ipynb", output, {"n_hours": 6})
    cells = json.loads(output.read_text(encoding="utf-8"))["cells"]
    injected = [
        c for c in cells if "injected-parameters" in c["metadata"].get("tags", [])
    ]
    assert injected and "n_hours = 6" in "".join(injected[0]["source"])
    assert all(
        out.get("output_type") != "error" for c in cells for out in c.get("outputs", [])
    )
{%- if cookiecutter.example %}


def test_eda_stage_is_what_the_command_writes(in_repo: Path) -> None:
    import yaml

    stage = plan(
        "notebooks/eda.ipynb", ["machines=eda.machines"], ["data/raw/sensors.csv"], []
    )
    declared = yaml.safe_load((in_repo / "dvc.yaml").read_text())["stages"]["eda"]
    assert declared["cmd"] == stage.command
    assert sorted(declared["deps"]) == sorted([stage.notebook, *stage.deps])
    assert declared["params"] == [p.key for p in stage.params]
    assert declared["outs"] == [stage.output]
{%- endif %}
