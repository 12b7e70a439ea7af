"""The http service: dashboard pages, JSON API, metrics and health."""
