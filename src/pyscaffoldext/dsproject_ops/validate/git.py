"""git: what git tracks (read from ``.git/index``, no subprocess)."""

from __future__ import annotations

from typing import Iterable

from .context import Context
from .registry import Check, Issue

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
