"""Errors a service reports to whoever started it."""

from __future__ import annotations


class StartupError(Exception):
    """The deployment cannot serve any tenant; the message says why."""
