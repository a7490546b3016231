"""The audit trail: who did what, kept so that a deleted or edited entry shows (see trail.py)."""
