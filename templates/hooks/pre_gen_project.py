"""cookiecutter pre-generation hook: validate the answers exactly as putup does.

cookiecutter renders this file with Jinja before running it: the line below
receives every answer as JSON. The rules live once, in the dsproject-ops package
beside this template (pyscaffoldext.dsproject_ops.answers); a bad answer prints
putup's one-line error and exits 1, and cookiecutter then removes its output.
"""

import json
import sys
from pathlib import Path

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")


def package_root(template: Path) -> Path:
    """A checkout keeps the package in <repo>/src beside <repo>/templates; a wheel
    keeps the template inside the package (site-packages/pyscaffoldext/dsproject_ops)."""
    for candidate in (template.parent / "src", *template.parents[2:3]):
        if (candidate / "pyscaffoldext" / "dsproject_ops" / "answers.py").is_file():
            return candidate
    sys.exit(f"ERROR: the dsproject-ops package is not beside the template {template}")


sys.path.insert(0, str(package_root(Path(CONTEXT["_repo_dir"]).resolve())))

from pyscaffoldext.dsproject_ops.cookiecutter_hooks import pre_gen  # noqa: E402

sys.exit(pre_gen(CONTEXT))
