"""PyScaffold's own extension flags next to ``--dsproject-ops``.

Our template owns every file, so PyScaffold's extensions that add files (pre-commit,
GitLab CI, GitHub Actions, Cirrus CI) or move the package (namespace) cannot simply run
as well. Each flag either says what we already generate, or is refused with one line
before anything is written. Their actions are taken out of the pipeline: none of them
may add a file, install hooks or print advice that contradicts the pinned hooks (the
pre-commit extension's "run `pre-commit autoupdate`").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .errors import DsopsError

Action = Callable[..., Any]
Opts = dict[str, Any]

# PyScaffold's extension modules whose actions never run with --dsproject-ops.
TAKEN_OVER = frozenset(
    f"pyscaffold.extensions.{name}"
    for name in ("pre_commit", "gitlab_ci", "github_actions", "cirrus", "namespace", "no_pyproject")
)

# flag -> why it is refused.
REFUSED = {
    "namespace": "the template's imports, DVC stages, entry points and image name the "
    "top-level package; choose a package name with --package instead",
    "cirrus": "dsproject-ops generates GitLab CI and GitHub Actions only (choose with --ci)",
    "no-pyproject": "pyproject.toml holds the build system and the hooks' tool settings",
}

# flag -> what we generate anyway; the CI the flag needs, if any.
ALREADY = {
    "pre-commit": ("already generated: .pre-commit-config.yaml with pinned hooks", None),
    "gitlab": ("already generated: .gitlab-ci.yml", "gitlab"),
    "github-actions": ("already generated: .github/workflows/", "github"),
    "no-tox": ("no effect: the template has no tox.ini", None),
    "no-skeleton": ("no effect: the template has no skeleton module", None),
}

_FLAGS = {
    "pyscaffold.extensions.namespace": "namespace",
    "pyscaffold.extensions.cirrus": "cirrus",
    "pyscaffold.extensions.no_pyproject": "no-pyproject",
    "pyscaffold.extensions.pre_commit": "pre-commit",
    "pyscaffold.extensions.gitlab_ci": "gitlab",
    "pyscaffold.extensions.github_actions": "github-actions",
    "pyscaffold.extensions.no_tox": "no-tox",
    "pyscaffold.extensions.no_skeleton": "no-skeleton",
}


def without_taken_over(pipeline: Iterable[Action]) -> list[Action]:
    """The pipeline without the actions of the extensions we take over."""
    return [a for a in pipeline if getattr(a, "__module__", "") not in TAKEN_OVER]


def flags_given(extensions: Iterable[Any]) -> list[str]:
    """The PyScaffold flags among the active extensions, in a stable order."""
    given = {_FLAGS.get(type(ext).__module__) for ext in extensions}
    return sorted(flag for flag in given if flag)


def notes(flags: Iterable[str], ci: str | None) -> list[str]:
    """One line per flag that has nothing to do; a refusal raises ``DsopsError``."""
    lines = []
    for flag in flags:
        if flag in REFUSED:
            raise DsopsError(f"--{flag} is not supported with --dsproject-ops: {REFUSED[flag]}")
        what, needs = ALREADY[flag]
        if needs and ci is not None and ci not in (needs, "both"):
            raise DsopsError(
                f"--{flag} asks for {needs} CI but --ci {ci} leaves it out: "
                f"use --ci {needs} or --ci both"
            )
        lines.append(f"--{flag}: {what}")
    return lines


def refuse_overwrite(target: Path, tree: Mapping[str, str]) -> None:
    """``--force`` may generate into a folder that has files, never over one of them.

    A file that already holds exactly what would be written is not overwritten in any
    sense that matters (a re-run, or a run after a killed swap): it does not count."""
    if not target.is_dir():
        return
    hit = [rel for rel, text in tree.items() if _differs(target / rel, text)]
    if hit:
        more = f" and {len(hit) - 3} more" if len(hit) > 3 else ""
        raise DsopsError(
            f"--force would overwrite {', '.join(hit[:3])}{more} in {target}: bring the "
            "template into an existing repository with "
            f"`putup --dsproject-ops --update {target}` "
            "(a three-way merge that loses no edit), or choose a new folder"
        )


def _differs(path: Path, text: str) -> bool:
    if path.is_symlink():
        return True
    if not path.exists():
        return False
    try:
        return not path.is_file() or path.read_bytes() != text.encode("utf-8")
    except OSError:
        return True


# -- the actions and the command (thin glue) ---------------------------------------------


def check_flags(struct: Any, opts: Opts) -> tuple[Any, Opts]:
    """First action: refuse or explain PyScaffold's flags before anything is written."""
    for line in notes(flags_given(opts.get("extensions", ())), opts.get("dsproject_ops_ci")):
        print(line)
    return struct, opts


def check_force(struct: Any, opts: Opts) -> tuple[Any, Opts]:
    """After rendering: ``--force`` never overwrites a file of the user's."""
    if opts.get("force") and not opts.get("update"):
        refuse_overwrite(Path(opts["project_path"]).absolute(), opts["dsproject_ops_tree"])
    return struct, opts


def run_scaffold(opts: Opts) -> None:
    """``putup``'s command: PyScaffold's, less its "Update accomplished! Please check
    setup.cfg" note after our upgrade, which prints its own report. On ``--update`` the
    extensions come from setup.cfg, so which ones ran is known only afterwards."""
    from pyscaffold import __version__, api
    from pyscaffold.cli import Version

    from .extension import DsprojectOps

    _, final = api.create_project(opts)
    ours = any(isinstance(ext, DsprojectOps) for ext in final.get("extensions", ()))
    if opts["update"] and not opts["force"] and not ours:  # PyScaffold's own update
        print(
            "Update accomplished!\nPlease check if your setup.cfg still complies with:\n"
            f"https://pyscaffold.org/en/v{Version(__version__).base_version}/configuration.html"
        )
