"""``dsops upgrade`` (and ``putup --update``): three-way merges of template versions.

Pure modules build data (:mod:`.plan`, :mod:`.merge3`, :mod:`.structured`,
:mod:`.report`, :mod:`.adopt`, :mod:`.record`); :mod:`.history` renders any released
template version; :mod:`.apply` alone writes to the repository. See docs/upgrade.md.
"""

# Every git the upgrade runs: a repository's own core.fsmonitor names a program git
# would start when it reads the index (repository.listing.SAFE_CONFIG does the same).
GIT = ("git", "-c", "core.fsmonitor=false")
