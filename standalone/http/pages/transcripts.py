"""Who may read a stored transcript, and reading it from the tenant's object store."""

from __future__ import annotations

from standalone import keys
from standalone.db.records import Ticket
from storage.ports import ObjectNotFound, ObjectStore


def may_read(ticket: Ticket, user_id: str, staff_categories: frozenset[str], admin: bool) -> bool:
    """The member who opened it, staff of its category, or an admin of its server."""
    return user_id == ticket.creator_id or admin or ticket.category in staff_categories


async def stored_transcript(store: ObjectStore, ticket: Ticket) -> bytes | None:
    """The HTML transcript of a closed ticket from its tenant's store, if one was kept."""
    if ticket.state != "closed":
        return None
    key = ticket.transcript_key or keys.transcript(ticket.guild_id, ticket.number)
    try:
        return await store.get(key)
    except ObjectNotFound:
        return None
