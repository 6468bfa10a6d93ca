"""The bounds on reading a repository's files: input never decides how much work we do."""

from __future__ import annotations

# Bytes: a configuration file larger than this is data, not something to check.
MAX_BYTES = 1_000_000
# Nested YAML collections: real configuration stays below 20 levels.
MAX_DEPTH = 100
# YAML nodes after expanding every alias: a "billion laughs" document is refused here,
# before anything walks it (GitLab CI files with anchors stay in the hundreds).
MAX_ALIAS_NODES = 100_000


def too_large(size: int) -> str:
    return f"too large to check ({size / 1_000_000:.1f} MB > {MAX_BYTES / 1_000_000:g} MB limit)"
