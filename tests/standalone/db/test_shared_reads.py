"""One gateway event's handlers share their reads of a ticket, a category and a guild."""

from __future__ import annotations

from standalone.db.settings import SettingsRepository
from standalone.db.shared_reads import shared_reads
from standalone.db.tickets import TicketRepository
from standalone.tickets.router import EventRouter


async def _ticket_in_channel(repo: TicketRepository, channel: str):
    category = await repo.save_category("1", "Support", "9", [])
    ticket = await repo.create("1", category.key, "7", f"i{channel}", None)
    await repo.set_channel("1", ticket.number, channel)
    return ticket


async def test_outside_a_scope_every_read_sees_the_database(db):
    repo = TicketRepository(db, "a")
    ticket = await _ticket_in_channel(repo, "100")
    assert (await repo.by_channel("100")).number == ticket.number
    await repo.set_channel("1", ticket.number, "200")
    assert await repo.by_channel("100") is None


async def test_inside_a_scope_the_first_read_is_shared_and_forgotten_after(db):
    repo = TicketRepository(db, "a")
    settings = SettingsRepository(db, "a")
    ticket = await _ticket_in_channel(repo, "100")
    with shared_reads():
        first = await repo.by_channel("100")
        guild = await settings.guild("1")
        category = await settings.category("1", ticket.category)
        # Changed meanwhile (by another process, say): the event goes on with
        # what its first handler saw.
        await repo.set_channel("1", ticket.number, "200")
        await settings.update_guild("1", archive=not guild.archive)
        await settings.update_category("1", ticket.category, archive=False)
        assert await repo.by_channel("100") == first
        assert await settings.guild("1") == guild
        assert await settings.category("1", ticket.category) == category
        # Another channel, guild or tenant is a read of its own.
        assert await repo.by_channel("200") is not None
        assert await TicketRepository(db, "b").by_channel("100") is None
    assert await repo.by_channel("100") is None
    assert (await settings.guild("1")).archive is not guild.archive
    assert (await settings.category("1", ticket.category)).archive is False


async def test_the_event_router_shares_reads_within_one_event_only(db):
    repo = TicketRepository(db, "a")
    ticket = await _ticket_in_channel(repo, "100")
    seen: list[object] = []
    router = EventRouter()

    async def archive(data: bytes) -> None:
        seen.append(await repo.by_channel("100"))
        await repo.set_channel("1", ticket.number, data.decode())

    async def activity(data: bytes) -> None:
        seen.append(await repo.by_channel("100"))

    router.on("MESSAGE_CREATE", archive)
    router.on("MESSAGE_CREATE", activity)
    await router.dispatch("MESSAGE_CREATE", b"300")
    assert seen[0] is not None and seen[1] == seen[0]
    # The next event reads afresh: the channel moved on.
    await router.dispatch("MESSAGE_CREATE", b"400")
    assert seen[2] is None and seen[3] is None
