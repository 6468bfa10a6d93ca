"""The adoption corpus: peer tools installed once (peers.py) and the foreign
repositories they make, with a team's edits (repos.py)."""
