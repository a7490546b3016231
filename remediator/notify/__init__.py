"""Notifications: lifecycle events routed by the rule file's `notify:` section to Slack,
PagerDuty, email, GitHub, a signed webhook or any Apprise service, with a digest per
(route, rule) so a storm makes a handful of messages."""
