"""``dsops fleet``: upgrade many repositories at once, each on its own branch."""
