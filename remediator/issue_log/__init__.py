"""The Sentry issues remediator has seen: what their webhooks said last, kept beside the
job records so the console's issues pages need no call to Sentry (see model.py, store.py)."""
