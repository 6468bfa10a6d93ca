"""The Jinja extensions of this template, for cookiecutter (``_extensions`` in cookiecutter.json).

They live once, in the dsproject-ops package beside this template
(pyscaffoldext.dsproject_ops.escaping), which ``putup`` uses too: both front-ends
escape every answer the same way. cookiecutter puts this folder on ``sys.path``.
"""

import sys
from pathlib import Path

try:
    from pyscaffoldext.dsproject_ops.escaping import Escaping
except ImportError:  # cookiecutter installed apart from dsproject-ops: use the checkout's
    _HERE = Path(__file__).resolve().parent
    for _candidate in (_HERE.parent / "src", *_HERE.parents[2:3]):
        if (_candidate / "pyscaffoldext" / "dsproject_ops" / "escaping.py").is_file():
            sys.path.insert(0, str(_candidate))
            break
    from pyscaffoldext.dsproject_ops.escaping import Escaping

from pyscaffoldext.dsproject_ops.lockfile import Locks  # noqa: E402

# A bad answer ends cookiecutter with our one line, not its traceback (see the class).
from pyscaffoldext.dsproject_ops.cookiecutter_hooks import OneLineHookErrors  # noqa: E402

__all__ = ["Escaping", "Locks", "OneLineHookErrors"]
