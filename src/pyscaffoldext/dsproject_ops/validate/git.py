"""git: what git tracks (read from ``.git/index``, no subprocess)."""

from __future__ import annotations

from typing import Iterable

from .context import Context
from .registry import Check, Finding, Issue

DATA_ROOTS = ("data/", "models/", "mlruns/", "mlartifacts/")
DATA_FILES = ("mlflow.db",)
# Placeholders and pointers that belong in git inside data folders.
ALLOWED_NAMES = {".gitkeep", ".gitignore", "README.md", "README.rst", "README.txt", ".keep"}


class _Git(Check):
    family = "git"

    def applies(self, ctx: Context) -> bool:
        return ctx.git_index is not None


class NoDataInGit(_Git):
    """Nothing under ``data/``, ``models/`` or the MLflow stores (``mlruns/``,
    ``mlartifacts/``, ``mlflow.db``) is tracked by git, except placeholders
    (``.gitkeep``, ``README.md``) and DVC pointers (``*.dvc``).

    Data and models are versioned by DVC: ``git rm --cached FILE`` then ``dvc add FILE``.
    """

    code = "GIT001"
    summary = "no data, models or tracking stores in git"

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel in ctx.tracked or []:
            name = rel.rsplit("/", 1)[-1]
            if name in ALLOWED_NAMES or rel.endswith(".dvc"):
                continue
            if rel.startswith(DATA_ROOTS) or rel in DATA_FILES:
                yield Issue(
                    f"{rel} is tracked by git: `git rm --cached {rel}` and version it "
                    "with DVC (`dvc add`)",
                    rel,
                )


class NoLargeFiles(_Git):
    """No tracked file is larger than the limit (500 KB, like pre-commit's
    ``check-added-large-files``; set ``max-file-kb`` in ``[tool.dsops.validate]``).

    Large files make every clone slow forever, even after deletion. Move them to DVC.
    """

    code = "GIT002"
    summary = "no tracked file above the size limit"
    severity = "warning"

    def run(self, ctx: Context) -> Iterable[Issue]:
        limit = int(ctx.options.get("max_file_kb", 500))
        for rel, size in sorted((ctx.git_index or {}).items()):
            if size > limit * 1024:
                yield Issue(
                    f"{rel} is {size // 1024} KB (limit {limit} KB): version it with DVC", rel
                )


# (a path that must never be committed, the .gitignore line that keeps it out, what it is)
MUST_IGNORE = (
    ("data/raw/sample.csv", "/data/*/?*", "data (versioned by DVC)"),
    ("models/model/model.pkl", "/models/*", "models (versioned by DVC)"),
    ("mlruns/0/meta.yaml", "/mlruns/", "MLflow's file store"),
    ("mlartifacts/0/model.pkl", "/mlartifacts/", "MLflow's artifact store"),
    ("mlflow.db", "/mlflow.db", "MLflow's tracking database"),
    (".env", ".env", "the environment file with credentials"),
)
GITIGNORE = ".gitignore"


def _unignored(ctx: Context) -> list[tuple[str, str, str]]:
    from . import patterns

    rules = patterns.parse_lines(ctx.text(GITIGNORE) or "")
    return [entry for entry in MUST_IGNORE if not patterns.ignored(entry[0], rules)]


class IgnoresDataAndStores(_Git):
    """The root ``.gitignore`` keeps data, models, MLflow's stores and ``.env`` out of
    git (``/data/*/?*``, ``/models/*``, ``/mlruns/``, ``/mlartifacts/``,
    ``/mlflow.db``, ``.env``), so that ``git add -A`` cannot commit them.

    ``--fix`` appends the missing lines under a comment.
    """

    code = "GIT003"
    summary = ".gitignore keeps data, models, tracking stores and .env out"
    severity = "warning"

    def run(self, ctx: Context) -> Iterable[Issue]:
        missing = _unignored(ctx)
        if missing:
            shown = ", ".join(f"{what} (`{line}`)" for _, line, what in missing)
            yield Issue(
                f"{GITIGNORE} does not ignore {shown}: add those lines",
                GITIGNORE,
                1 if ctx.is_file(GITIGNORE) else None,
            )

    def fix(self, ctx: Context, findings: list[Finding]) -> dict[str, str]:
        missing = _unignored(ctx)
        if not missing:
            return {}
        text = ctx.text(GITIGNORE) or ""
        if text and not text.endswith("\n"):
            text += "\n"
        added = "".join(f"{line}\n" for _, line, _ in missing)
        return {GITIGNORE: f"{text}# never committed (dsops validate --fix, GIT003)\n{added}"}
