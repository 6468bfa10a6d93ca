"""``dsops learn``: the thin layer that parses, calls the checks and prints.

Start-up stays small: ``--list``, ``status`` and ``reset`` read only the catalogue and
the progress file; the repository is read (``facts``) only to show or check a lesson.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ...errors import DsopsError
from .lessons import ORDER

ACTIONS = ("status", "next", "show", "check", "skip", "reset")


def parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="A short course on this repository's daily work (hooks, environment, "
        "DVC data and remote, pipeline, experiments, tests, notebook stages, CI/CD, "
        "serving, upgrades). Each lesson has a check that reads the repository's real "
        "state and never changes it.",
        epilog="actions: status (default) where you stand; next: the next lesson; "
        "show LESSON; check [LESSON|all]: check the next (or a named) lesson; "
        "skip LESSON [--reason TEXT]; reset: forget the progress. "
        "Exit code of check: 1 when something is missing.",
    )
    p.add_argument("action", nargs="?", default="status", choices=ACTIONS, metavar="ACTION")
    p.add_argument("lesson", nargs="?", help="a lesson id (see --list), or `all` for check")
    p.add_argument(
        "-C", dest="path", default=".", metavar="PATH", help="the repository (default: .)"
    )
    p.add_argument("--list", action="store_true", help="list the lessons and exit")
    p.add_argument("--lang", help="catalogue language (default: from LC_ALL/LANG): en, zh")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument(
        "--sandbox",
        metavar="DIR",
        help="generate a throwaway practice repository in DIR and exit",
    )
    p.add_argument(
        "--url",
        default="http://127.0.0.1:8000",
        help="where the serving lesson looks for the model service",
    )
    p.add_argument("--reason", default="", help="why you skip a lesson (with `skip`)")
    return p


def main(argv: list[str], prog: str) -> int:
    args = parser(prog).parse_args(argv)
    from . import catalogue

    language = catalogue.choose_language(args.lang, os.environ)
    if args.sandbox:
        return _sandbox(Path(args.sandbox), language, args.format)
    if args.list:
        return _emit(args.format, _listing(language), _listing_text(language))
    root = _repository(args.path)
    if (
        args.lesson
        and args.lesson not in ORDER
        and not (args.action == "check" and args.lesson == "all")
    ):
        raise DsopsError(f"unknown lesson {args.lesson!r} (lessons: {', '.join(ORDER)})")
    if args.action in ("show", "skip") and not args.lesson:
        raise DsopsError(f"`{args.action}` needs a lesson id (lessons: {', '.join(ORDER)})")
    from . import progress as store

    if args.action == "reset":
        path = store.reset(root)
        from .lessons import ui

        message = ui("reset", language, path=path or root)
        return _emit(args.format, {"reset": str(path or "")}, message + "\n")
    state = store.load(root)
    if args.action == "status":
        return _status(root, state, language, args.format)
    if args.action == "skip":
        state.record(args.lesson, "skipped", f"by you: {args.reason}".rstrip(": "))
        store.save(state)
        return _status(root, state, language, args.format)
    lesson = args.lesson or _next(state)
    if lesson is None:
        return _status(root, state, language, args.format)
    from ..facts import read
    from .checks import Probe

    probe = Probe(read(root), os.environ, args.url)
    if args.action in ("next", "show"):
        return _emit(
            args.format,
            _lesson_data(lesson, probe, language),
            _lesson_text(lesson, probe, language),
        )
    lessons = list(ORDER) if lesson == "all" else [lesson]
    return _check(lessons, probe, state, language, args.format)


def _repository(path: str) -> Path:
    from ..tour_cli import repository

    return repository(path)


def _next(state: Any) -> str | None:
    return next((name for name in ORDER if not state.status(name)), None)


def _emit(fmt: str, data: Any, text: str) -> int:
    if fmt == "json":
        import json

        sys.stdout.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    elif sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        _colour(text)
    else:
        sys.stdout.write(text)
    return 0


def _colour(text: str) -> None:
    """On a terminal: the same lines, with states and commands in colour (rich)."""
    try:
        from rich.console import Console
        from rich.text import Text
    except ImportError:  # plain text is complete; colour is a bonus
        sys.stdout.write(text)
        return
    from . import catalogue

    console = Console(highlight=False, soft_wrap=True)
    words: dict[str, str] = {}
    for code in catalogue.languages():
        ui = catalogue.load(code)["ui"]
        words.update({ui["passed"]: "green", ui["missing"]: "red", ui["skipped"]: "yellow"})
    for line in text.splitlines():
        styled = Text(line)
        for word, style in words.items():
            styled.highlight_words([word], style)
        styled.highlight_regex(r"(?<=\$ ).*", "bold cyan")
        styled.highlight_regex(r"`[^`]+`", "cyan")
        console.print(styled)


# ------------------------------------------------------------------------ listing


def _listing(language: str) -> list[dict[str, str]]:
    from .lessons import title

    return [{"id": name, "title": title(name, language)} for name in ORDER]


def _listing_text(language: str) -> str:
    from .text import pad

    lines = [
        f"{n:>3}. {pad(item['id'], 12)} {item['title']}"
        for n, item in enumerate(_listing(language), 1)
    ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------- status


def _status(root: Path, state: Any, language: str, fmt: str) -> int:
    from .lessons import title, ui
    from .text import pad, wrap

    data: dict[str, Any] = {"repository": str(root), "language": language, "lessons": []}
    lines = wrap(ui("heading", language, project=root.name))
    tags = {s: ui(s, language) for s in ("passed", "skipped", "todo")}
    width = max(len(t) for t in tags.values())
    for number, name in enumerate(ORDER, 1):
        status = state.status(name) or "todo"
        entry = state.lessons.get(name, {})
        data["lessons"].append(
            {"id": name, "title": title(name, language), "status": status, **entry}
        )
        tag = pad(tags.get(status, status), width)
        lines.append(f"{number:>3}. [{tag}] {pad(title(name, language), 44)} {name}")
    passed = sum(state.status(n) == "passed" for n in ORDER)
    skipped = sum(state.status(n) == "skipped" for n in ORDER)
    lines.extend(wrap(ui("progress", language, passed=passed, total=len(ORDER), skipped=skipped)))
    upcoming = _next(state)
    data["next"] = upcoming
    if upcoming:
        lines.extend(wrap(ui("current", language, title=title(upcoming, language))))
    else:
        lines.extend(wrap(ui("finished", language)))
    if state.path is None:
        lines.extend(wrap(ui("no_git", language)))
    data["saved"] = state.path is not None
    return _emit(fmt, data, "\n".join(lines) + "\n")


# ------------------------------------------------------------------------ lessons


def _lesson_data(lesson: str, probe: Any, language: str) -> dict[str, Any]:
    from .lessons import context, text

    ctx = context(probe.facts)
    data: dict[str, Any] = {
        "id": lesson,
        "number": ORDER.index(lesson) + 1,
        "title": text(lesson, "title", language, ctx),
        "why": text(lesson, "why", language, ctx),
        "task": text(lesson, "task", language, ctx),
        "check": text(lesson, "check", language, ctx),
    }
    if lesson == "ci":
        data["jobs"] = [
            {
                "provider": j.provider,
                "file": j.file,
                "name": j.name,
                "stage": j.stage,
                "runs": list(j.commands[:2]),
            }
            for j in probe.facts.jobs
        ]
    return data


def _lesson_text(lesson: str, probe: Any, language: str) -> str:
    from .lessons import message, ui
    from .text import WIDTH, cells, wrap

    data = _lesson_data(lesson, probe, language)
    lines = wrap(ui("lesson", language, number=data["number"], title=data["title"]))
    for key in ("why", "task", "check"):
        label = ui(key, language) + ": "
        lines.extend(wrap(data[key], indent="    ", first="  " + label))
    for job in data.get("jobs", []):
        if job is data["jobs"][0]:
            lines.append("  " + message("ci.jobs", language, {}))
        # One line a job: its first command, cut to fit (the file has the whole script;
        # a long quoted word would not wrap inside 80 columns).
        line = f"    - {job['name']} ({job['stage']}): {(job['runs'] or ['-'])[0]}"
        while cells(line) > WIDTH:
            line = line[:-2] + "…"
        lines.append(line)
    lines.extend(wrap(ui("check_command", language, lesson=lesson), indent="  ", first="  "))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------- checks


def _check(lessons: list[str], probe: Any, state: Any, language: str, fmt: str) -> int:
    from . import checks
    from . import progress as store
    from .lessons import message, title, ui
    from .text import wrap

    out: list[dict[str, Any]] = []
    lines: list[str] = []
    missing = False
    for lesson in lessons:
        result = checks.run(lesson, probe)
        said = message(result.key, language, result.values)
        notes = [message(n.key, language, n.values) for n in result.notes]
        if result.status == checks.PASSED:
            state.record(lesson, "passed")
        elif result.status == checks.SKIPPED:
            state.record(lesson, "skipped", message(result.key, "en", result.values))
        else:
            missing = True
            if state.status(lesson) == "passed":
                state.forget(lesson)  # progress follows the repository, not the past
        out.append(
            {
                "id": lesson,
                "status": result.status,
                "message": said,
                "hint": result.hint,
                "notes": notes,
                "code": result.key,
            }
        )
        tag = ui({"passed": "passed", "skipped": "skipped"}.get(result.status, "missing"), language)
        lines.extend(wrap(f"{title(lesson, language)}: {tag}", first=f"[{lesson}] ", indent="  "))
        lines.extend(wrap(said, indent="    ", first="  "))
        if result.hint:
            # One command a line, never broken inside: it is meant to be copied.
            lines.append(f"  {ui('hint', language)}:")
            lines.extend(f"    $ {part.strip()}" for part in result.hint.split(" && "))
        for note in notes:
            lines.extend(wrap(note, indent="    ", first=f"  {ui('note', language)}: "))
    saved = store.save(state)
    if not saved:
        lines.extend(wrap(ui("no_git", language)))
    upcoming = _next(state)
    if upcoming and len(lessons) == 1 and lessons[0] != upcoming and not missing:
        lines.extend(wrap(ui("current", language, title=title(upcoming, language))))
    data = {"repository": str(probe.root), "results": out, "next": upcoming, "saved": saved}
    _emit(fmt, data, "\n".join(lines) + "\n")
    return 1 if missing else 0


# ------------------------------------------------------------------------ sandbox


def _sandbox(target: Path, language: str, fmt: str) -> int:
    """A throwaway repository from the same render and writer as ``putup``."""
    from ...answers import build
    from ...render import render
    from ...writer import write_project
    from .lessons import ui

    name = target.absolute().name
    answers = build(name)
    path = write_project(target, render(answers), answers)
    from .text import wrap

    said = "\n".join(wrap(ui("sandbox", language, path=path)))
    return _emit(fmt, {"sandbox": str(path)}, said + "\n")
