"""The one exception type users see: a one-line message, never a traceback."""

from __future__ import annotations


class DsopsError(RuntimeError):
    """A problem with the user's input or repository, explained in one line.

    It subclasses :class:`RuntimeError` because PyScaffold's ``putup`` turns
    exactly that family into ``ERROR: <message>`` and exit code 1.
    """
