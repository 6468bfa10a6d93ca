"""Path patterns of ``.gitignore``, ``.dockerignore`` and the per-path ignores."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=None)
def _regex(pattern: str, anchored: bool) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            body = pattern[i + 1 : end] if end != -1 else ""
            if body.startswith("!"):
                body = "^" + body[1:]
            if end == -1 or body in ("", "^"):
                out.append(re.escape(ch))  # not a class: a literal bracket
            else:
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    prefix = "" if anchored else "(?:.*/)?"
    try:
        return re.compile(prefix + "".join(out) + "$")
    except re.error:  # a pattern Docker or git would not understand either: match it literally
        return re.compile(prefix + re.escape(pattern) + "$")


def parse_lines(text: str) -> list[str]:
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def ignored(path: str, rules: list[str], docker: bool = False) -> bool:
    """Whether ``path`` (POSIX, relative to the root) is excluded by ``rules``.

    Later rules win, ``!`` re-includes; a rule matching a parent folder excludes
    everything under it. Docker anchors every pattern at the context root; git
    anchors a pattern only when it contains a slash that is not its last character.
    """
    path = path.strip("/")
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for rule in rules:
        negate = rule.startswith("!")
        body = rule[1:] if negate else rule
        dir_only = body.endswith("/")
        body = body.strip("/") if docker else body.rstrip("/")
        if body.startswith("/"):
            anchored, body = True, body[1:]
        else:
            anchored = docker or "/" in body
        regex = _regex(body, anchored)
        for n, candidate in enumerate(prefixes):
            if dir_only and n == len(prefixes) - 1 and not docker:
                continue  # a directory rule never matches the file itself
            if regex.match(candidate):
                result = not negate
                break
    return result


def glob_match(path: str, pattern: str) -> bool:
    """A per-path ignore: ``notebooks/*.ipynb``, ``data/**``, ``Dockerfile``."""
    return bool(_regex(pattern.strip("/"), "/" in pattern.strip("/")).match(path))
