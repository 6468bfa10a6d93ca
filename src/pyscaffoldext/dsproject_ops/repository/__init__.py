"""One model of a repository, shared by every command that reads one.

:class:`Repository` lists the files once (``git ls-files`` for tracked, untracked and
ignored paths, or a walk outside git), reads each file at most once, within limits
(size, UTF-8, never through a symlink out of the repository), and parses it lazily
with the one reader for its kind (``yamlread``, ``formats``, ``requirements``,
``conda``, ``ignore``, ``layout``). A file that cannot be read or parsed becomes a
:class:`Parsed` with an error that says why, never an exception.
"""

from __future__ import annotations

from .limits import MAX_ALIAS_NODES, MAX_BYTES, MAX_DEPTH
from .model import Repository
from .parsed import Parsed, ParseError

__all__ = ["MAX_ALIAS_NODES", "MAX_BYTES", "MAX_DEPTH", "ParseError", "Parsed", "Repository"]
