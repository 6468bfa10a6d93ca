"""The guide's ``docs/learn.md``, generated from the English catalogue.

The page is a template file like every other (so ``putup`` and ``cookiecutter`` render
it alike): variants become ``{% if %}`` blocks on the answers and placeholders become
the answers' values. ``tests/test_learn_page.py`` fails when the file in the template
differs from what the catalogue makes; rewrite it with::

    python -m pyscaffoldext.dsproject_ops.onboarding.learn.page
"""

from __future__ import annotations

import sys
from typing import Any

from ...paths import project_template
from . import catalogue
from .lessons import ORDER

RELATIVE = "docs/learn.md"
# Each variant key as a condition on the answers.
CONDITIONS = {
    "gitlab": "cookiecutter.ci == 'gitlab'",
    "github": "cookiecutter.ci == 'github'",
    "both": "cookiecutter.ci == 'both'",
    "none": "cookiecutter.ci == 'none'",
    "example": "cookiecutter.example",
    "no_example": "not cookiecutter.example",
    "local_remote": "'://' not in cookiecutter.__dvc_remote",
    "server_remote": "'://' in cookiecutter.__dvc_remote",
}
# Each placeholder as the answer it stands for.
VALUES = {
    "project": "{{ cookiecutter.project_name }}",
    "package": "{{ cookiecutter.package }}",
    "image": "{{ cookiecutter.__image }}",
    "remote": "{{ cookiecutter.__dvc_remote }}",
    "exp_set": "{% if cookiecutter.example %}train.n_estimators=100{% else %}seed=43{% endif %}",
}


def _filled(text: str) -> str:
    return " ".join(catalogue.fill(text, VALUES).split())


def _variants(raw: Any) -> str:
    if isinstance(raw, str):
        return _filled(raw)
    parts: list[str] = []
    default = ""
    for key in catalogue.VARIANTS:
        if key not in raw:
            continue
        if key == "default":
            default = _filled(str(raw[key]))
            continue
        tag = "if" if not parts else "elif"
        parts.append(f"{{%- {tag} {CONDITIONS[key]} %}}\n{_filled(str(raw[key]))}\n")
    if not parts:
        return default
    if default:
        parts.append(f"{{%- else %}}\n{default}\n")
    return "".join(parts) + "{%- endif %}"


def source(language: str = catalogue.DEFAULT) -> str:
    """The Jinja source of ``docs/learn.md``."""
    data = catalogue.load(language)
    ui = data["ui"]
    out = [
        "<!-- Generated from the dsops learn catalogue "
        "(pyscaffoldext.dsproject_ops.onboarding.learn): edit the catalogue, not this page. -->",
        f"# {ui['page_title']}",
        "",
        _filled(str(ui["page_intro"])),
        "",
    ]
    for number, lesson in enumerate(ORDER, 1):
        texts = data["lessons"][lesson]
        out += [
            f"## {number}. {_filled(str(texts['title']))}",
            "",
            f"**{ui['why']}.** {_variants(texts['why'])}",
            "",
            f"**{ui['task']}.** {_variants(texts['task'])}",
            "",
            f"**{ui['check']}.** {_variants(texts['check'])}: `dsops learn check {lesson}`",
            "",
        ]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    path = project_template() / RELATIVE
    path.write_text(source(), encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
