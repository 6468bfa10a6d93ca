"""cookiecutter post-generation hook: finish the repository exactly as putup does.

cookiecutter renders every file of the template; this hook removes those the
``_features`` map of cookiecutter.json leaves out for these answers, and makes
putup's single git commit (a remote password goes only to the git-ignored
.dvc/config.local), all with the dsproject-ops package beside this template, so
`dsops validate` and `dsops upgrade` treat the result like a putup-made repository.
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

from pyscaffoldext.dsproject_ops.cookiecutter_hooks import post_gen  # noqa: E402

# cookiecutter runs this hook inside the generated repository.
sys.exit(post_gen(CONTEXT, Path.cwd()))
