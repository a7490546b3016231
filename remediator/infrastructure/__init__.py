"""What remediator relies on and acts on, as the console's infrastructure page shows it: the
broker (and its Sentinels), the health URLs its rules act on, and Sentry's side (its API,
the tiers' cron monitors, uptime monitors)."""
