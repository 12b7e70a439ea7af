"""Transcript access: creator, staff of the ticket's category, admins; nobody else."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from standalone import keys
from standalone.db.records import Ticket
from standalone.http.pages.transcripts import may_read, stored_transcript
from storage.file import FileStore
from storage.scoped import ScopedStore

TICKET = Ticket(
    guild_id="10",
    number=3,
    category="abc",
    creator_id="100",
    state="closed",
    interaction_id="1",
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)


def test_creator_staff_and_admins_may_read_others_may_not():
    none: frozenset[str] = frozenset()
    assert may_read(TICKET, "100", none, admin=False)
    assert may_read(TICKET, "200", frozenset({"abc"}), admin=False)
    assert may_read(TICKET, "200", none, admin=True)
    assert not may_read(TICKET, "200", frozenset({"other"}), admin=False)


async def test_stored_transcript_reads_only_the_tickets_own_tenant_scope(tmp_path):
    root = FileStore(tmp_path)
    mine, theirs = ScopedStore(root, "mine"), ScopedStore(root, "theirs")
    key = keys.transcript("10", 3)
    await theirs.put(key, b"<p>other tenant</p>")
    assert await stored_transcript(mine, TICKET) is None
    await mine.put(key, b"<p>ours</p>")
    assert await stored_transcript(mine, TICKET) == b"<p>ours</p>"
    still_open = msgspec.structs.replace(TICKET, state="open")
    assert await stored_transcript(mine, still_open) is None
