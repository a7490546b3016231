"""Applying a proposed code change safely: the guard that refuses dangerous diffs, the
workspace where it is tested, and the draft pull request it becomes (never the default
branch)."""
