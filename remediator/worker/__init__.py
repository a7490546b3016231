"""The worker side: the Celery app and its configuration, running one job, tier health."""
