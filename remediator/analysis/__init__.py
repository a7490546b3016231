"""Analysis of production errors: the evidence read from Sentry (redacted), the question put
to an analyzer (an OpenAI-compatible model, or Sentry's Seer), and the validated answer."""
