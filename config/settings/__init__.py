"""Settings per environment: `base` (shared, no side effects), `dev`, `test`, `production`."""
