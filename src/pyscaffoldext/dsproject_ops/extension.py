"""The PyScaffold extension: ``putup --dsproject-ops NAME``."""

from __future__ import annotations

import argparse
from typing import Any, List

from pyscaffold.actions import Action
from pyscaffold.extensions import Extension

from .answers import CI_CHOICES, PYTHON_CHOICES, defaults

# Extension options are stored under keys starting with the extension's name, which
# is how PyScaffold records them in setup.cfg and hands them back on --update.
OPTION_DESTS = {
    "ci": "dsproject_ops_ci",
    "dvc_remote": "dsproject_ops_dvc_remote",
    "mlflow_tracking_uri": "dsproject_ops_mlflow_tracking_uri",
    "python_version": "dsproject_ops_python_version",
    "example": "dsproject_ops_example",
}


class DsprojectOps(Extension):  # type: ignore[misc]  # PyScaffold is untyped
    """generate a complete, validated ModelOps data-science repository (DVC, MLflow,
    pre-commit, CI/CD, Docker) from the dsproject-ops template"""

    def augment_cli(self, parser: argparse.ArgumentParser) -> "DsprojectOps":
        # Our flag also routes `putup --update --dsproject-ops PATH` to our upgrade
        # before PyScaffold reads setup.cfg: a repository we did not make has no
        # [pyscaffold] section, or names an extension that is gone (`dsproject`), and
        # PyScaffold refuses both before any action of ours could run.
        parser.add_argument(
            self.flag, dest="extensions", action=_activate(self), nargs=0, help=self.help_text
        )
        plain = defaults()
        group = parser.add_argument_group("dsproject-ops options (with --dsproject-ops)")
        group.add_argument(
            "--ci",
            dest=OPTION_DESTS["ci"],
            metavar="{" + ",".join(CI_CHOICES) + "}",
            help=f"CI/CD pipelines to generate (default: {plain['ci']})",
        )
        group.add_argument(
            "--dvc-remote",
            dest=OPTION_DESTS["dvc_remote"],
            metavar="URL",
            help="default DVC remote: a folder path, ssh://user@host/path, s3://bucket/path "
            "... (default: ../NAME-dvc-remote, a folder beside the repository); "
            "a password in the URL goes only to the git-ignored .dvc/config.local",
        )
        group.add_argument(
            "--mlflow-tracking-uri",
            dest=OPTION_DESTS["mlflow_tracking_uri"],
            metavar="URI",
            help="MLflow tracking store or server "
            f"(default: {plain['mlflow_tracking_uri']}, git-ignored)",
        )
        group.add_argument(
            "--python-version",
            dest=OPTION_DESTS["python_version"],
            metavar="{" + ",".join(PYTHON_CHOICES) + "}",
            help="Python version of the environment, CI and image "
            f"(default: {plain['python_version']})",
        )
        group.add_argument(
            "--no-example",
            dest=OPTION_DESTS["example"],
            action="store_const",
            const="false",
            help="leave out the runnable predictive-maintenance example (default: include it)",
        )
        from .flags import run_scaffold  # no "Update accomplished!" after our upgrade

        parser.set_defaults(command=run_scaffold)
        return self

    def activate(self, pipeline: List[Action]) -> List[Action]:
        # Imported here, not at the top: every `putup` (even plain `putup x` and
        # `putup --help`) loads this module, and actions pull in jinja2.
        from . import actions, flags

        # No built-in extension is needed: the template tree owns every file, so the
        # CLI and pyscaffold.api.create_project(extensions=[DsprojectOps()]) agree.
        # PyScaffold's own flags (--namespace, --pre-commit, ...): explained or refused
        # first, and their actions never run (flags.py).
        pipeline = [flags.check_flags, *flags.without_taken_over(pipeline)]
        pipeline = self.unregister(pipeline, "pyscaffold.actions:get_default_options")
        pipeline = self.register(
            pipeline, actions.get_default_options, before="verify_options_consistency"
        )
        pipeline = self.register(pipeline, actions.build_answers, after="get_default_options")
        pipeline = self.register(pipeline, actions.render_structure, after="define_structure")
        pipeline = self.unregister(pipeline, "pyscaffold.actions:verify_project_dir")
        pipeline = self.register(pipeline, actions.verify_target, after="render_structure")
        pipeline = self.register(pipeline, flags.check_force, after="verify_target")
        pipeline = self.unregister(pipeline, "pyscaffold.structure:create_structure")
        pipeline = self.unregister(pipeline, "pyscaffold.actions:init_git")
        pipeline = self.register(pipeline, actions.write_project, after="version_migration")
        # A freshly generated tree must pass `dsops validate`: findings are a template bug.
        from .validate.action import validate_generated

        pipeline = self.register(pipeline, validate_generated, after="write_project")
        # `putup --update` is our three-way upgrade (inside write_project): PyScaffold's
        # migration would rewrite setup.cfg behind its back (and record our options).
        pipeline = self.unregister(pipeline, "pyscaffold.update:version_migration")
        # Next steps tailored to the answers, instead of PyScaffold's "done!".
        from .onboarding.next_steps import report_next_steps

        pipeline = self.register(
            pipeline, report_next_steps, before="pyscaffold.actions:report_done"
        )
        pipeline = self.unregister(pipeline, "pyscaffold.actions:report_done")
        return pipeline


def options_from(opts: dict[str, Any]) -> dict[str, Any]:
    """Our answers' raw values from PyScaffold's options."""
    return {key: opts.get(dest) for key, dest in OPTION_DESTS.items()}


def _activate(extension: "DsprojectOps") -> type[argparse.Action]:
    class Activate(argparse.Action):
        def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
            namespace.extensions = [*getattr(namespace, "extensions", []), extension]
            from pyscaffold.cli import run_scaffold

            from .flags import run_scaffold as ours

            # PyScaffold's default command, or ours that augment_cli put in its place
            if getattr(namespace, "command", None) in (run_scaffold, ours):
                namespace.command = run_scaffold_or_upgrade

    return Activate


def run_scaffold_or_upgrade(opts: dict[str, Any]) -> None:
    """``putup``'s command with our extension: ``--update`` is ``dsops upgrade``,
    whatever the repository's setup.cfg records (or does not)."""
    from .flags import run_scaffold

    if not opts.get("update"):
        run_scaffold(opts)
        return
    from pathlib import Path

    from .actions import run_update

    run_update(Path(str(opts.get("project_path", "."))), bool(opts.get("pretend")))
