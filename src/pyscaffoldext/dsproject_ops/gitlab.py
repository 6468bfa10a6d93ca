"""What GitLab CI means by the top level of ``.gitlab-ci.yml``: shared by the checks
(``dsops validate``) and the explanations (``dsops tour``), so both agree on what a job is."""

from __future__ import annotations

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
