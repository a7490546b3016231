"""remediator: Sentry alerts in, safe and verified remediation jobs out."""

__version__ = "0.1.0"
