"""``dsops validate``: check any repository against the dsproject-ops template.

The checks live in one module per family and register themselves in
:mod:`.registry`; :mod:`.runner` runs them over a lazily parsed :class:`.context.Context`;
:mod:`.formats` turns the result into human, JSON, SARIF, JUnit or GitLab output.
Nothing heavy is imported at module level: validation of a generated repository runs
in-process, without a subprocess, on every commit.
"""
