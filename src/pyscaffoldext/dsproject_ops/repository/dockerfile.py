"""Dockerfiles, read as Docker's own parser reads them: logical lines (the ``escape``
directive, continuations, comments inside them), heredocs, ``--flags``, exec form; with
the mistakes ``docker build`` refuses (unknown instruction, no arguments, no ``FROM``)."""

from __future__ import annotations

import json
import re
from typing import NamedTuple

KEYWORDS = {
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
}


class Instruction:
    def __init__(self, line: int, keyword: str, args: str) -> None:
        self.line = line
        self.keyword = keyword
        self.args = args
        self.flags: dict[str, str] = {}
        self.heredoc = False

    def exec_form(self) -> list[str] | None:
        text = self.args.strip()
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None


class Dockerfile(NamedTuple):
    instructions: list[Instruction]
    errors: list[tuple[int, str]]


def parse(text: str) -> Dockerfile:
    escape = "\\"
    match = re.match(r"^#\s*escape\s*=\s*(\S)", text)
    if match:
        escape = match.group(1)
    lines = text.splitlines()
    result = Dockerfile([], [])
    i = 0
    while i < len(lines):
        raw = lines[i]
        start = i + 1
        i += 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        logical = raw
        while logical.rstrip().endswith(escape) and i < len(lines):
            logical = logical.rstrip()[:-1]
            nxt = lines[i]
            i += 1
            if nxt.lstrip().startswith("#"):
                logical += escape  # comments inside a continuation are dropped
                continue
            logical += " " + nxt
        keyword, _, args = logical.strip().partition(" ")
        instruction = Instruction(start, keyword.upper(), args.strip())
        heredoc = re.search(r"<<-?[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?", args)
        if heredoc and instruction.keyword in ("RUN", "COPY", "ADD"):
            end = heredoc.group(1)
            while i < len(lines) and lines[i].strip() != end:
                i += 1
            i += 1
            instruction.heredoc = True
        while instruction.args.startswith("--"):
            flag, _, rest = instruction.args.partition(" ")
            name, _, value = flag[2:].partition("=")
            instruction.flags[name] = value
            instruction.args = rest.strip()
        if instruction.keyword not in KEYWORDS:
            result.errors.append((start, f"unknown instruction {keyword!r}"))
        elif not instruction.args and instruction.keyword not in ("HEALTHCHECK",):
            result.errors.append((start, f"{instruction.keyword} needs arguments"))
        result.instructions.append(instruction)
    first = next((ins for ins in result.instructions if ins.keyword != "ARG"), None)
    if first is not None and first.keyword != "FROM":
        result.errors.append((first.line, "the first instruction (after ARG) must be FROM"))
    if first is None:
        result.errors.append((1, "no FROM instruction"))
    return result


def stages(dockerfile: Dockerfile) -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for ins in dockerfile.instructions:
        if ins.keyword == "FROM":
            found.append([ins])
        elif found:
            found[-1].append(ins)
    return found
