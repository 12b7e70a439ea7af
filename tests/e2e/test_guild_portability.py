"""A server whose tickets the bot really ran moves to another deployment with its transcripts."""

from __future__ import annotations

from pathlib import Path

from standalone.db.tickets import TicketRepository
from standalone.portability import GuildExport, export_to_file, import_guild
from storage.scoped import ScopedStore
from tests.e2e.closing_flow import closed, open_for
from tests.e2e.conftest import eventually
from tests.e2e.test_closing import start
from tests.e2e.test_force_close import force
from tests.standalone.portability.conftest import close_instance, open_instance


async def test_a_closed_ticket_and_its_transcript_move_to_another_deployment(
    discord, stack, tmp_path: Path
) -> None:
    cast = await start(discord, stack)
    world = cast.world
    guild = str(world.guild.id)
    channel_id = await open_for(discord, cast, "Printer on fire")
    await world.actor(discord, cast.creator).send_message(channel_id, "It is smoking now")
    repo = TicketRepository(stack.backends.db, world.tenant)

    async def archived() -> bool:
        ticket = await repo.by_channel(str(channel_id))
        return ticket is not None and len(await repo.archived(ticket)) >= 2

    await eventually(archived)
    _, text = await force(discord, cast, cast.staff, {"reason": "fixed"}, channel_id)
    assert "Closing ticket #1" in text
    ticket = await eventually(lambda: closed(stack, world, 1))
    assert ticket.transcript_key is not None
    source = ScopedStore(stack.backends.store, world.tenant)
    transcript = await source.get(ticket.transcript_key)
    assert b"It is smoking now" in transcript
    messages = await repo.archived(ticket)

    path = tmp_path / "guild.zip"
    job = GuildExport(
        stack.backends.db,
        stack.backends.store,
        stack.backends.cipher,
        tenant=world.tenant,
        guild_id=guild,
    )
    await export_to_file(job, path)
    other = await open_instance(tmp_path / "other")
    try:
        await import_guild(
            other.db, other.store, other.cipher, path, tenant="moved", guild_id=guild
        )
        moved_repo = TicketRepository(other.db, "moved")
        moved = await moved_repo.get(guild, 1)
        assert moved is not None and moved.state == "closed"
        assert other.cipher.decrypt(moved.topic or "") == "Printer on fire"
        assert other.cipher.decrypt(moved.close_reason or "") == "fixed"
        assert await ScopedStore(other.store, "moved").get(moved.transcript_key or "") == transcript
        copied = await moved_repo.archived(moved)
        assert [other.cipher.decrypt(m.content) for m in copied] == [
            stack.backends.cipher.decrypt(m.content) for m in messages
        ]
    finally:
        await close_instance(other)
