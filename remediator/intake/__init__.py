"""Intake: verifying a webhook, keeping it while Redis is down, and processing it (Flask-free)."""
