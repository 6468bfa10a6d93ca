"""templates: nothing left unrendered, no merge leftovers."""

from __future__ import annotations

import re
from typing import Iterable

from .context import Context
from .registry import Check, Issue

# Jinja that cookiecutter or PyScaffold should have rendered. GitHub's ``${{ ... }}``
# expressions are not Jinja and never match.
_JINJA = re.compile(
    r"(?<!\$)\{\{-?\s*cookiecutter\b|\{%-?\s*(?:if|elif|for|set|raw|macro|include)\s[^%]*"
    r"cookiecutter|\{%-?\s*(?:endif|endfor|endraw)\s*-?%\}"
)
_CONFLICT_START = re.compile(r"^<{7}(?: |$)", re.MULTILINE)
_CONFLICT_ANY = re.compile(r"^(?:<{7}(?: |$)|={7}$|>{7}(?: |$)|\|{7}(?: |$))", re.MULTILINE)


def _text_files(ctx: Context) -> Iterable[tuple[str, str]]:
    for rel in ctx.files:
        text = ctx.text(rel)
        if text is not None:
            yield rel, text


def _position(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


class UnrenderedJinja(Check):
    """No text file contains unrendered template code (``{{ cookiecutter.x }}``,
    ``{% if cookiecutter... %}``).

    It means a template was copied instead of rendered, or a merge brought template
    source in. Replace it with the value it stands for. Markdown code blocks and code
    spans are left alone: there, template syntax is shown on purpose.
    """

    code = "TPL001"
    family = "templates"
    summary = "no unrendered Jinja"

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, text in _text_files(ctx):
            if "{{" not in text and "{%" not in text:
                continue
            if rel.endswith((".md", ".markdown")):
                text = _outside_code(text)  # template syntax shown on purpose
            found = _JINJA.search(text)
            if found:
                line, col = _position(text, found.start())
                yield Issue(
                    f"unrendered template code {found.group(0).strip()!r}: "
                    "replace it with the value it stands for",
                    rel,
                    line,
                    col,
                )


class ConflictMarkers(Check):
    """No text file contains merge-conflict markers (``<<<<<<<``, ``=======``,
    ``>>>>>>>``).

    They are left by a merge, a rebase or ``dsops upgrade`` where both sides changed
    the same lines. Edit the file to keep the right lines and delete the markers.
    """

    code = "TPL002"
    family = "templates"
    summary = "no merge-conflict markers"

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel, text in _text_files(ctx):
            if "<<<<<<<" not in text and ">>>>>>>" not in text:
                continue
            if not _CONFLICT_START.search(text) and not re.search(r"^>{7}", text, re.MULTILINE):
                continue
            found = _CONFLICT_ANY.search(text)
            if found:
                line, col = _position(text, found.start())
                yield Issue(
                    "merge-conflict marker: resolve the conflict and delete the " "markers",
                    rel,
                    line,
                    col,
                )


class MergeLeftovers(Check):
    """No ``*.rej``, ``*.orig`` or ``*.porig`` files: rejected hunks and backups
    left by ``patch``, ``git merge`` or template updaters.

    Apply what they hold by hand, then delete them.
    """

    code = "TPL003"
    family = "templates"
    summary = "no rejected-patch or merge backup files"
    severity = "warning"

    def run(self, ctx: Context) -> Iterable[Issue]:
        for rel in ctx.worktree:  # leftovers are usually untracked
            if rel.endswith((".rej", ".orig", ".porig")):
                yield Issue(
                    f"{rel} is left over from a patch or merge: apply it by hand, "
                    "then delete it",
                    rel,
                )


# A Jinja/cookiecutter placeholder or block tag of any variable (``{{ project_name }}``,
# ``{{ name|upper }}``, ``{% if x %}``); never GitHub's ``${{ ... }}`` or Go's ``{{ .X }}``.
_PLACEHOLDER = re.compile(
    r"(?<![$\w{])\{\{-?[ \t]*[A-Za-z_][\w.]*[ \t]*(?:\|[^{}\n]*)?-?\}\}"
    r"|\{%-?[ \t]*(?:if|elif|else|endif|for|endfor|set|raw|endraw|block|endblock|macro"
    r"|endmacro|include)\b[^%\n]*-?%\}"
)
# Markdown code that shows template syntax on purpose: fenced blocks and `code spans`
_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.S | re.M)
_SPAN = re.compile(r"(`+)[^`\n].*?\1")


def _outside_code(text: str) -> str:
    """``text`` with Markdown code blanked (same length, same lines)."""

    def blank(found: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", found.group(0))

    return _SPAN.sub(blank, _FENCE.sub(blank, text))


class UnrenderedPlaceholders(Check):
    """No file the template wrote still holds a template placeholder of any name
    (``{{ project_name }}``, ``{{ package|lower }}``, ``{% if ... %}``), at the
    placeholder's line and column.

    ``TPL001`` finds cookiecutter's own syntax in every file; this one looks for any
    Jinja variable, but only in the files the recorded answers say the template wrote
    (a repository's own templates, docs and notebooks are the user's business), and
    never inside Markdown code blocks or code spans, where template syntax is shown on
    purpose. GitHub's ``${{ ... }}`` and Go templates' ``{{ .Field }}`` are not Jinja.
    """

    code = "TPL004"
    family = "templates"
    summary = "no unrendered placeholders in the files the template wrote"

    def applies(self, ctx: Context) -> bool:
        return ctx.answers is not None

    def run(self, ctx: Context) -> Iterable[Issue]:
        from .layout import recorded_template, template_paths

        answers = ctx.answers or {}
        root, _, _ = recorded_template(answers.get("template", ""))
        for rel in template_paths(answers, root):
            text = ctx.text(rel) if ctx.is_file(rel) else None
            if not text or ("{{" not in text and "{%" not in text):
                continue
            if rel.endswith((".md", ".markdown")):
                text = _outside_code(text)
            for found in _PLACEHOLDER.finditer(text):
                if _JINJA.match(text, found.start()):
                    continue  # TPL001's: reported once
                line, col = _position(text, found.start())
                yield Issue(
                    f"unrendered placeholder {found.group(0)!r}: replace it with the "
                    "value it stands for",
                    rel,
                    line,
                    col,
                )
