"""Hourly trend buckets: what the console's trends page charts (see buckets.py)."""
