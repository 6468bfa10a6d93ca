"""What GitLab CI means by the top level of ``.gitlab-ci.yml``: shared by the checks
(``dsops validate``) and the explanations (``dsops tour``), so both agree on what a job is."""

from __future__ import annotations

from typing import Any, Mapping

# Top-level keys that configure the pipeline instead of naming a job
# (https://docs.gitlab.com/ci/yaml/). ``types`` is the deprecated spelling of ``stages``.
GLOBAL_KEYWORDS = frozenset(
    {
        "default",
        "include",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "spec",
        "types",
    }
)


def resolve_extends(
    jobs: Mapping[Any, Any], name: str, seen: frozenset[str] = frozenset()
) -> dict[Any, Any]:
    """Job ``name`` with its ``extends:`` chain merged in, the job's own keys winning.

    A shallow merge, enough to learn a job's stage, script, rules and needs; an
    unknown parent or a cycle is skipped (CI004 reports those)."""
    job = jobs.get(name)
    if not isinstance(job, Mapping):
        return {}
    parents = job.get("extends") or []
    merged: dict[Any, Any] = {}
    for parent in [parents] if isinstance(parents, str) else list(parents):
        if isinstance(parent, str) and parent not in seen and parent != name:
            merged.update(resolve_extends(jobs, parent, seen | {name}))
    merged.update(job)
    return merged
