"""docs: what the README tells users to run and read exists."""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from . import commands
from .context import Context
from .registry import Check, Issue

README = "README.md"
_FENCE = re.compile(r"^(\s*)(```|~~~)\s*([\w+-]*)")
_SHELL = {"", "bash", "sh", "shell", "console", "zsh", "shell-session"}
_INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def readme_commands(text: str) -> Iterator[tuple[int, str]]:
    """(line, command) for shell code blocks and for inline code that is a command."""
    fence: str | None = None
    shell = False
    pending = ""
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        match = _FENCE.match(line)
        if match and fence is None:
            fence, shell = match.group(2), match.group(3).lower() in _SHELL
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
                continue
            if not shell:
                continue
            body = line.strip()
            if body.startswith("$ "):
                body = body[2:]
            if not pending:
                start = number
            if body.endswith("\\"):
                pending += body[:-1] + " "
                continue
            full, pending = pending + body, ""
            if full and not full.startswith("#"):
                yield start, full
            continue
        for span in _INLINE.finditer(line):
            code = span.group(1).strip()
            if " " in code or code.startswith("./"):
                yield number, code


class ReadmeCommandsExist(Check):
    """The commands the README tells users to run exist: scripts, ``make`` targets,
    ``python -m`` modules and console scripts of the package, ``pip install
    .[extra]`` extras, ``-r``/``-f`` files and ``dvc repro`` (or ``<project> repro``) stages.

    A newcomer's first command failing is the worst start; fix the README or add
    what it promises.
    """

    code = "DOC001"
    family = "docs"
    summary = "commands the README tells users to run exist"
    severity = "error"
    needs = ("setup.cfg", "pyproject.toml", "dvc.yaml")

    def applies(self, ctx: Context) -> bool:
        return ctx.is_file(README)

    def run(self, ctx: Context) -> Iterable[Issue]:
        for line, command in readme_commands(ctx.text(README) or ""):
            for problem in commands.problems(ctx, command):
                yield Issue(f"`{command}`: {problem}", README, line)


class ReadmeLinksExist(Check):
    """Relative links in the README point at files or folders that exist."""

    code = "DOC002"
    family = "docs"
    summary = "the README's relative links exist"
    severity = "warning"

    def applies(self, ctx: Context) -> bool:
        return ctx.is_file(README)

    def run(self, ctx: Context) -> Iterable[Issue]:
        for number, line in enumerate((ctx.text(README) or "").splitlines(), 1):
            for match in _LINK.finditer(line):
                target = match.group(1).split("#", 1)[0]
                if (
                    not target
                    or re.match(r"^[a-z][a-z0-9+.\-]*:", target, re.IGNORECASE)
                    or target.startswith("/")
                ):
                    continue
                if not ctx.exists(target.rstrip("/")):
                    yield Issue(
                        f"link to {target} which does not exist", README, number, match.start() + 1
                    )


MKDOCS = ("mkdocs.yml", "mkdocs.yaml")


def _nav(items: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(key path, page) of every page in an MkDocs ``nav``."""
    if isinstance(items, list):
        for index, item in enumerate(items):
            yield from _nav(item, (*path, index))
    elif isinstance(items, dict):
        for title, value in items.items():
            yield from _nav(value, (*path, title))
    elif isinstance(items, str):
        yield path, items


class MkDocsNavPagesExist(Check):
    """Every page in ``mkdocs.yml``'s ``nav`` exists under its ``docs_dir`` (default
    ``docs``); external links (``https://...``) are left alone.

    MkDocs only warns ("A reference to ... is included in the nav configuration,
    which is not found"), and with ``strict: true`` the site stops building.
    """

    code = "DOC003"
    family = "docs"
    summary = "the pages mkdocs.yml's nav lists exist"
    needs = MKDOCS

    def applies(self, ctx: Context) -> bool:
        return any(ctx.is_file(rel) for rel in MKDOCS)

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel in MKDOCS:
            parsed = ctx.yaml(rel) if ctx.is_file(rel) else None
            if parsed is None or not parsed.ok or not isinstance(parsed.data, dict):
                continue
            docs_dir = str(parsed.data.get("docs_dir") or "docs").strip("/")
            for path, page in _nav(parsed.data.get("nav"), ("nav",)):
                target = page.split("#", 1)[0].strip()
                if not target or re.match(r"^[a-z][a-z0-9+.\-]*:", target, re.IGNORECASE):
                    continue
                if not ctx.exists(f"{docs_dir}/{target.lstrip('/')}"):
                    yield Issue(
                        f"nav lists {target}, which is not in {docs_dir}/", rel, parsed.line(*path)
                    )
