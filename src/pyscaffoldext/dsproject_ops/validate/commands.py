"""What a shell command line refers to in the repository, and whether it exists.

Used for CI scripts and for the README's commands. Only references that can be
decided from the repository are checked: files run by an interpreter, ``./x``
scripts, ``make`` targets, ``python -m`` modules of the project's own package, the
project's console scripts, ``pip install -e .[extra]`` extras, ``-r``/``-f`` files
and ``dvc repro`` (or ``<project> repro``) stages. System tools are never guessed at.
"""

from __future__ import annotations

import re
import shlex
from typing import Iterator

from .context import Context

_INTERPRETERS = re.compile(r"^(?:python(?:\d(?:\.\d+)?)?|bash|sh|zsh|source|\.)$")
_SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")", ";;"}
_PREFIXES = {"sudo", "exec", "time", "env", "nohup", "command", "then", "do", "else"}


def simple_commands(text: str) -> Iterator[list[str]]:
    for line in text.replace("\\\n", " ").splitlines():
        yield from _simple(line)


def _simple(line: str) -> Iterator[list[str]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: not a command we can read
        return
    current: list[str] = []
    for token in tokens:
        if token in _SEPARATORS or set(token) <= set("&|;()<>"):
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def _placeholder(token: str) -> bool:
    return any(c in token for c in "$*<>{}`") or token.isupper()


def _file(ctx: Context, token: str) -> bool:
    if token.startswith(("/", "~")) or _placeholder(token):
        return True  # outside the repository, or not known before it runs
    path = token[2:] if token.startswith("./") else token
    return ctx.exists(path) or ctx.git_ignored(path)


def problems(ctx: Context, line: str) -> Iterator[str]:
    """Why the commands on ``line`` cannot run in this repository (empty when fine)."""
    for words in simple_commands(line):
        while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in _PREFIXES):
            words = words[1:]
        if not words:
            continue
        yield from _one(ctx, words)


def _one(ctx: Context, words: list[str]) -> Iterator[str]:
    head, args = words[0], words[1:]
    package = ctx.package
    if _INTERPRETERS.match(head):
        if head.startswith("python") and "-m" in args:
            module = args[args.index("-m") + 1] if args.index("-m") + 1 < len(args) else ""
            if package and module.split(".")[0] == package and not _module(ctx, module):
                yield f"module {module} does not exist in the package"
            elif package and module == f"{package}.cli":
                yield from _repro(ctx, args[args.index("-m") + 2 :])
            return
        script = next((a for a in args if not a.startswith("-")), None)
        if head.startswith("python") and args[:1] and args[0] == "-c":
            return
        if (
            script
            and (head in ("bash", "sh", "zsh", "source", ".") or script.endswith((".py", ".sh")))
            and not _file(ctx, script)
        ):
            yield f"{script} does not exist"
        return
    if head.startswith("./") or (("/" in head) and not head.startswith(("/", "~", "$"))):
        if not _file(ctx, head):
            yield f"{head} does not exist"
        return
    if head == "make" and not any(a.startswith("-") for a in args):
        targets = ctx.make_targets
        if targets is None:
            yield "there is no Makefile"
            return
        for target in args:
            if "=" not in target and target not in targets:
                yield f"make target {target!r} does not exist in the Makefile"
        return
    if head in ("pip", "pip3") or (head.startswith("python") and args[:2] == ["-m", "pip"]):
        yield from _pip(ctx, args[2:] if head.startswith("python") else args)
        return
    if head in ("conda", "mamba", "micromamba") and args[:1] == ["env"]:
        for flag in ("-f", "--file"):
            if flag in args and args.index(flag) + 1 < len(args):
                name = args[args.index(flag) + 1]
                if not _file(ctx, name):
                    yield f"{name} does not exist"
        return
    if head == "dvc":
        yield from _repro(ctx, args)
        return
    names = {n for n in (package, ctx.project_name) if n}
    if head in names and head in ctx.console_scripts:
        yield from _repro(ctx, args)  # `<project> repro` passes its arguments to dvc repro
    if (
        head in names or any(head.startswith(n + "-") for n in names)
    ) and head not in ctx.console_scripts:
        yield f"{head!r} is not a console script of the package ([options.entry_points])"


def _repro(ctx: Context, args: list[str]) -> Iterator[str]:
    """The stages ``repro ARGS`` names (``dvc repro`` or the project's warm ``repro``)."""
    stages = ctx.dvc_stages
    if args[:1] != ["repro"] or stages is None:
        return
    for target in [a for a in args[1:] if not a.startswith("-")]:
        target = target.rsplit(":", 1)[-1]  # dvc.yaml:train names a stage too
        if target not in stages and not ctx.exists(target) and not _placeholder(target):
            yield f"dvc.yaml has no stage {target!r}"


def _module(ctx: Context, module: str) -> bool:
    parts = module.split(".")
    for base in ("src", "."):
        stem = "/".join([base, *parts]) if base != "." else "/".join(parts)
        if ctx.is_file(stem + ".py") or ctx.is_file(stem + "/__main__.py"):
            return True
    return False


def _pip(ctx: Context, args: list[str]) -> Iterator[str]:
    if not args or args[0] != "install":
        return
    rest = args[1:]
    for index, arg in enumerate(rest):
        if arg in ("-r", "--requirement", "-c", "--constraint") and index + 1 < len(rest):
            if not _file(ctx, rest[index + 1]):
                yield f"{rest[index + 1]} does not exist"
        match = re.match(r"^\.(?:/)?\[([^\]]+)\]$", arg)
        if match:
            for extra in match.group(1).split(","):
                if ctx.extras and extra.strip() not in ctx.extras:
                    yield f"the package has no extra {extra.strip()!r}"
