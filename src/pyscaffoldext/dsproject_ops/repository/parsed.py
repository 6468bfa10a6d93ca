"""The result of parsing one file: data, or the parser's error with its position."""

from __future__ import annotations

from typing import Any, NamedTuple


class ParseError(NamedTuple):
    message: str
    line: int | None = None
    column: int | None = None
    # True when the file was never parsed: too large, not UTF-8, a symlink out of the
    # repository, or beyond a YAML bound; ``message`` says which.
    unreadable: bool = False


class Parsed:
    """A parsed file: ``data`` (None when it failed), positions of YAML keys."""

    def __init__(self, data: Any = None, error: ParseError | None = None, node: Any = None):
        self.data = data
        self.error = error
        # YAML: the node tree, turned into key positions only when a caller asks for a line
        self.node = node
        self._positions: dict[tuple[Any, ...], tuple[int, int]] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def positions(self) -> dict[tuple[Any, ...], tuple[int, int]]:
        """``{key path: (line, column)}``, 1-based, for every key and list item."""
        if self._positions is None:
            from .yamlread import positions

            self._positions = positions(self.node) if self.node is not None else {}
        return self._positions

    def line(self, *path: Any) -> int | None:
        """The line of the deepest known key along ``path`` (YAML only)."""
        for n in range(len(path), 0, -1):
            found = self.positions.get(tuple(path[:n]))
            if found:
                return found[0]
        return None

    def column(self, *path: Any) -> int | None:
        found = self.positions.get(tuple(path))
        return found[1] if found else None


def unreadable(reason: str) -> Parsed:
    return Parsed(error=ParseError(reason, unreadable=True))
