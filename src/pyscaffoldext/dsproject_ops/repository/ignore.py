"""git's ignore rules: every ``.gitignore`` of the repository, read with ``pathspec``
as git reads them (a deeper file's rules win for the paths under it)."""

from __future__ import annotations

from typing import Any, Callable


class IgnoreRules:
    def __init__(self, files: dict[str, str]) -> None:
        """``files``: ``{path of a .gitignore: its text}``."""
        import pathspec

        self._specs: list[tuple[str, Any]] = sorted(
            (
                (rel.rsplit("/", 1)[0] + "/" if "/" in rel else "", _spec(pathspec, text))
                for rel, text in files.items()
            ),
            key=lambda item: item[0].count("/"),
        )

    def ignored(self, rel: str) -> bool:
        """Whether git would ignore ``rel`` (POSIX, relative to the root; a trailing
        ``/`` asks about a folder). Paths need not exist."""
        result = False
        for folder, spec in self._specs:
            if folder and not rel.startswith(folder):
                continue
            check = spec.check_file(rel[len(folder) :])
            if check.include is not None:
                result = bool(check.include)
        return result

    @classmethod
    def read(cls, files: list[str], text: Callable[[str], str | None]) -> "IgnoreRules":
        found = {}
        for rel in files:
            if rel == ".gitignore" or rel.endswith("/.gitignore"):
                found[rel] = text(rel) or ""
        return cls(found)


def _spec(pathspec: Any, text: str) -> Any:
    return pathspec.GitIgnoreSpec.from_lines(text.splitlines())
