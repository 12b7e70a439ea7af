"""The ids every log line carries: tenant, guild, ticket, and the event's trace.

They live in context variables, so whatever a task logs while handling an event
is tagged without passing the ids around; a task started meanwhile inherits them.
The trace itself is ``standalone.tracing.current`` (a W3C ``traceparent``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from standalone.tracing import current as current_trace

tenant: contextvars.ContextVar[str] = contextvars.ContextVar("log_tenant", default="")
guild: contextvars.ContextVar[str] = contextvars.ContextVar("log_guild", default="")
ticket: contextvars.ContextVar[str] = contextvars.ContextVar("log_ticket", default="")


class Ids:
    """The ids in force now; empty strings where nothing is known."""

    __slots__ = ("guild", "span_id", "tenant", "ticket", "trace_id")

    def __init__(self) -> None:
        self.tenant = tenant.get()
        self.guild = guild.get()
        self.ticket = ticket.get()
        self.trace_id, self.span_id = split_traceparent(current_trace.get())


def split_traceparent(traceparent: str) -> tuple[str, str]:
    """(trace id, span id) of a ``traceparent``; empty strings when it is not one."""
    parts = traceparent.split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return "", ""
    return parts[1], parts[2]


@contextlib.contextmanager
def bound(
    *,
    tenant_name: str | None = None,
    guild_id: str | None = None,
    ticket_id: str | None = None,
    traceparent: str | None = None,
) -> Iterator[None]:
    """Set the given ids for the block; on leaving, what was in force before is back.

    Ids set deeper inside (a ticket found mid-event) are undone on leaving too.
    """
    tokens: list[tuple[contextvars.ContextVar[str], contextvars.Token[str]]] = []
    for var, value in (
        (tenant, tenant_name),
        (guild, guild_id),
        (ticket, ticket_id),
        (current_trace, traceparent),
    ):
        if value is not None:
            tokens.append((var, var.set(value)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def note_ticket(guild_id: str, number: int) -> None:
    """The event in hand concerns this ticket: tag the rest of its lines with it."""
    guild.set(guild_id)
    ticket.set(str(number))


# When the event in hand entered the stream (Unix time, seconds; 0 outside an
# event): the start of the interaction → callback latency.
event_entered: contextvars.ContextVar[float] = contextvars.ContextVar("event_entered", default=0.0)
