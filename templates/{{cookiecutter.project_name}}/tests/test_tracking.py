"""The experiment log and the tracking helpers (no MLflow run needed)."""

import hashlib
from pathlib import Path

import pytest

from {{ cookiecutter.package }} import experiment_log, tracking


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_are_appended_under_one_header(tmp_path: Path) -> None:
    log = tmp_path / "experiments.csv"
    experiment_log.append_row({"date": "d1", "test_auc": 0.9, "outputs": "m"}, log)
    experiment_log.append_row({"date": "d2", "test_auc": 0.8, "outputs": "m"}, log)
    rows = experiment_log.read_rows(log)
    assert [r["date"] for r in rows] == ["d1", "d2"]
    header = log.read_text().splitlines()[0].split(",")
    assert header.index("test_auc") < header.index("outputs")
    assert header.index("outputs") < header.index("description")


def test_a_new_metric_gets_a_column_and_old_rows_keep_theirs(tmp_path: Path) -> None:
    log = tmp_path / "experiments.csv"
    experiment_log.append_row({"date": "d1", "test_auc": 0.9}, log)
    experiment_log.append_row({"date": "d2", "test_auc": 0.8, "test_f1": 0.5}, log)
    rows = experiment_log.read_rows(log)
    assert rows[0]["test_auc"] == "0.9" and rows[0]["test_f1"] == ""
    assert rows[1]["test_f1"] == "0.5"


def test_data_version_is_the_md5_dvc_records(tmp_path: Path) -> None:
    data = write(tmp_path / "train.csv", "a,b\n1,2\n")
    expected = hashlib.md5(b"a,b\n1,2\n").hexdigest()
    assert experiment_log.file_md5(data) == expected
    assert expected in experiment_log.data_link(data)


def test_experiment_row_fills_every_column(tmp_path: Path) -> None:
    train = tracking.DataSet(write(tmp_path / "train.csv", "x\n1\n2\n"))
    test = tracking.DataSet(write(tmp_path / "test.csv", "x\n3\n"))
    row = tracking.experiment_row(
        commit="abc",
        settings={"model": "forest", "cv_folds": 3},
        train=train,
        test=test,
        metrics={"test": {"roc_auc": 0.9}, "cv": {"roc_auc": 0.8}},
        outputs=["models/model"],
        description="try",
    )
    assert row["train_rows"] == 2 and row["test_rows"] == 1
    assert row["test_roc_auc"] == 0.9 and row["cv_roc_auc"] == 0.8
    assert row["validation"] == "3-fold cross-validation on the training set"
    assert all(str(value) for value in row.values())
    header = experiment_log.header_for(row, [])
    assert set(header) == set(row)


def test_tracking_uri_defaults_to_the_project_store_and_env_wins(
    tmp_path: Path,
) -> None:
    found = tracking.tracking_uri({"DVC_ROOT": str(tmp_path)})
    assert found == tracking.anchored(tracking.DEFAULT_TRACKING_URI, tmp_path.resolve())
    assert tracking.tracking_uri({"MLFLOW_TRACKING_URI": "http://h:5000"}) == (
        "http://h:5000"
    )


def test_a_relative_sqlite_store_is_anchored_at_the_root(tmp_path: Path) -> None:
    root = tmp_path.as_posix()
    assert tracking.anchored("sqlite:///mlflow.db", tmp_path) == (
        f"sqlite:///{root}/mlflow.db"
    )
    assert tracking.anchored("sqlite:////srv/x.db", tmp_path) == "sqlite:////srv/x.db"
    assert tracking.anchored("http://h:5000", tmp_path) == "http://h:5000"


def test_the_root_is_dvc_s_even_in_a_temporary_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dvc exp run --temp` runs stages in a copy that has its own .dvc folder."""
    copy = tmp_path / "repo" / ".dvc" / "tmp" / "exps" / "tmp1"
    (copy / ".dvc").mkdir(parents=True)
    monkeypatch.chdir(copy)
    assert tracking.project_root({}) == copy.resolve()
    original = {"DVC_ROOT": str(tmp_path / "repo")}
    assert tracking.project_root(original) == (tmp_path / "repo").resolve()


def test_a_union_merge_s_two_header_lines_read_as_one(tmp_path: Path) -> None:
    """Two branches that each added a column, merged by git's union driver."""
    log = write(
        tmp_path / "experiments.csv",
        "date,commit,a,outputs\nd1,c1,1,m\ndate,commit,b,outputs\nd2,c2,2,m\n",
    )
    rows = experiment_log.read_rows(log)
    assert [(r["date"], r["a"], r["b"]) for r in rows] == [
        ("d1", "1", ""),
        ("d2", "", "2"),
    ]
    experiment_log.append_row({"date": "d3", "commit": "c3"}, log)
    lines = log.read_text().splitlines()
    assert sum(line.startswith("date,commit,") for line in lines) == 1
    assert [r["date"] for r in experiment_log.read_rows(log)] == ["d1", "d2", "d3"]


def test_description_prefers_the_given_text() -> None:
    assert tracking.describe(" a  b ", {}) == "a b"
    assert tracking.describe(None, {"DVC_EXP_NAME": "x"}) == "dvc experiment x"
    assert tracking.describe(None, {}) == "pipeline run"


def test_git_commit_outside_a_repository(tmp_path: Path) -> None:
    assert tracking.git_commit(tmp_path).startswith("unknown")


def test_missing_metrics_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="run the pipeline first"):
        tracking.read_metrics([tmp_path / "metrics.json"])


def test_credentials_come_from_the_env_file_and_never_show(tmp_path: Path) -> None:
    env_file = write(
        tmp_path / ".env",
        "# a comment\nMLFLOW_TRACKING_USERNAME=ada\n"
        'MLFLOW_TRACKING_PASSWORD="p#w \\"x\\""\nOTHER=ignored\n',
    )
    environ = {"MLFLOW_TRACKING_USERNAME": "set-already"}
    tracking.load_env_file(env_file, environ)
    # The environment wins; only MLFLOW_* variables are read.
    assert environ == {
        "MLFLOW_TRACKING_USERNAME": "set-already",
        "MLFLOW_TRACKING_PASSWORD": 'p#w "x"',
    }
    assert tracking.shown("https://ada:pw@host/x") == "https://ada:***@host/x"
