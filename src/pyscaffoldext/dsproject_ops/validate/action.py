"""The last step of ``putup --dsproject-ops``: validate what was just generated.

A generated repository with findings is a bug in the template, so it is reported
loudly (every finding, on stderr) and ``putup`` exits non-zero.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..errors import DsopsError

Struct = dict[str, Any]
Opts = dict[str, Any]


class GeneratedRepositoryInvalid(DsopsError):
    """The repository ``putup`` generated fails ``dsops validate``."""


def validate_generated(struct: Struct, opts: Opts) -> tuple[Struct, Opts]:
    if opts.get("pretend") or opts.get("update"):
        return struct, opts  # an upgraded repository is the user's: `dsops validate` it
    from .formats.human import render
    from .runner import validate

    target = Path(opts["project_path"]).absolute()
    result = validate(target)
    if result.findings:
        print("\n" + "!" * 78, file=sys.stderr)
        print(
            "dsops validate: the generated repository has findings. This is a bug in the "
            "dsproject-ops template;\nplease report it with the output below.",
            file=sys.stderr,
        )
        print("!" * 78 + "\n", file=sys.stderr)
        print(render(result), file=sys.stderr)
        raise GeneratedRepositoryInvalid(
            f"the generated repository {target} fails `dsops validate` "
            f"({len(result.findings)} finding(s) above); it was left in place for inspection"
        )
    return struct, opts
