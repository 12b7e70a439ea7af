"""Trace context: a W3C ``traceparent`` per gateway event, carried into the worker's logs.

The id ties log lines and REST calls to an event; with tracing on it is the
OpenTelemetry span's (``standalone.observability.otel``).
"""

from __future__ import annotations

import contextvars
import logging
import secrets

current: contextvars.ContextVar[str] = contextvars.ContextVar("traceparent", default="")


def new_traceparent() -> str:
    """A fresh sampled ``traceparent``: version 00, random trace and span ids."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


class TraceFilter(logging.Filter):
    """Adds ``traceparent`` to every record (empty outside an event), for a log format.

    The logging of the entry points (``standalone.observability.logs``) adds it
    and every other id itself; this is for embedders with their own handlers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.traceparent = current.get()
        return True
