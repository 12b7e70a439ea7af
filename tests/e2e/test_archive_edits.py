"""Edits and deletions of ticket messages reach the archive and the transcript."""

from __future__ import annotations

from emulation.discord.models import Attachment
from standalone import keys
from standalone.db.archive import ArchiveRepository
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from storage.scoped import ScopedStore
from tests.e2e.conftest import eventually, make_world
from tests.e2e.flow import close_with_approval, open_ticket, post_panel


async def test_edits_and_deletions_are_kept_and_shown(discord, stack):
    world = make_world(discord, "edits")
    await stack.add(world)
    await stack.start()
    repo = TicketRepository(stack.backends.db, world.tenant)
    archive = ArchiveRepository(stack.backends.db, world.tenant)
    cipher = stack.backends.cipher
    channel_id = await open_ticket(discord, world, await post_panel(discord, world), "Broken")
    channel = discord.channel(channel_id)
    member = world.actor(discord, world.member)

    edited = await member.send_message(channel_id, "first version")
    gone = await member.send_message(channel_id, "oops, my password is hunter2")
    bulk = [await member.send_message(channel_id, f"spam {n}") for n in range(2)]
    report = discord.world.create_message(
        channel,
        world.member.id,
        content="see the log",
        attachments=[Attachment(id=discord.world.ids.next(), filename="error.log", size=3)],
    )
    await eventually(lambda: archive.get(str(report.id)))

    await member.edit_message(channel_id, edited.id, "second version")
    await eventually(lambda: _edits(archive, edited.id, 1))
    update = await member.edit_message(channel_id, edited.id, "third version")
    stored = await eventually(lambda: _edits(archive, edited.id, 2))
    assert stored.edited and cipher.decrypt(stored.content) == "third version"
    assert [cipher.decrypt(e["content"]) for e in stored.edits] == [
        "first version",
        "second version",
    ]
    assert "first version" not in str(stored.edits)  # encrypted at rest

    # A redelivered update and an embed-only update change nothing.
    payload = {
        "id": str(update.id),
        "channel_id": str(channel_id),
        "guild_id": str(channel.guild_id),
    }
    await discord.dispatch(world.app.id, "MESSAGE_UPDATE", payload | {"content": "third version"})
    await discord.dispatch(world.app.id, "MESSAGE_UPDATE", payload | {"embeds": []})
    await member.delete_message(channel_id, gone.id)
    discord.world.bulk_delete(channel, bulk)  # a moderator's purge
    for message in (gone, *bulk):
        await eventually(lambda message=message: _deleted(archive, message.id))
    assert len((await archive.get(str(edited.id))).edits) == 2
    deleted = await archive.get(str(gone.id))
    assert cipher.decrypt(deleted.content) == "oops, my password is hunter2"  # content kept

    await close_with_approval(discord, world, channel_id, world.staff, world.member)
    ticket = await eventually(lambda: _closed(repo, channel_id))
    html = (
        await ScopedStore(stack.backends.store, world.tenant).get(ticket.transcript_key)
    ).decode()
    assert "third version" in html and "2 earlier version(s)" in html
    # The message as it ended, then its earlier versions, oldest first.
    assert html.index("third version") < html.index("first version") < html.index("second version")
    assert html.count('class="msg deleted"') == 3
    assert "error.log" in html and f"/attachments/{channel_id}/" in html


async def test_archive_off_keeps_no_content_but_tracks_activity(discord, stack):
    world = make_world(discord, "noarchive")
    await stack.add(world)
    await stack.start()
    panel = await post_panel(discord, world)
    settings = SettingsRepository(stack.backends.db, world.tenant)
    (category,) = await settings.categories(str(world.guild.id))
    await settings.update_category(category.guild_id, category.key, archive=False)
    repo = TicketRepository(stack.backends.db, world.tenant)
    channel_id = await open_ticket(discord, world, panel, "Keep it private")
    message = await world.actor(discord, world.member).send_message(channel_id, "secret stuff")
    ticket = await eventually(lambda: _active(repo, channel_id))
    await world.actor(discord, world.member).edit_message(
        channel_id, message.id, "more secret stuff"
    )
    await world.actor(discord, world.member).send_message(channel_id, "a later one")
    ticket = await eventually(lambda: _active_after(repo, channel_id, ticket.last_message_at))
    assert await repo.archived(ticket) == []

    # The guild's switch applies when the category leaves it open.
    await settings.update_category(category.guild_id, category.key, archive=None)
    await settings.update_guild(category.guild_id, archive=False)
    await world.actor(discord, world.member).send_message(channel_id, "still private")
    await eventually(lambda: _active_after(repo, channel_id, ticket.last_message_at))
    assert await repo.archived(ticket) == []
    await settings.update_guild(category.guild_id, archive=True)
    await world.actor(discord, world.member).send_message(channel_id, "kept now")
    archived = await eventually(lambda: repo.archived(ticket))
    assert [stack.backends.cipher.decrypt(m.content) for m in archived] == ["kept now"]


async def _edits(archive, message_id, count):
    stored = await archive.get(str(message_id))
    return stored if stored and len(stored.edits) == count else None


async def _deleted(archive, message_id):
    stored = await archive.get(str(message_id))
    return stored if stored and stored.deleted else None


async def _closed(repo, channel_id):
    ticket = await repo.by_channel(str(channel_id))
    return ticket if ticket and ticket.state == "closed" else None


async def _active(repo, channel_id):
    ticket = await repo.by_channel(str(channel_id))
    return ticket if ticket.last_message_at else None


async def _active_after(repo, channel_id, since):
    ticket = await repo.by_channel(str(channel_id))
    return ticket if ticket.last_message_at and ticket.last_message_at > since else None


async def test_author_names_are_encrypted_at_rest_and_shown_in_transcripts(discord, stack):
    world = make_world(discord, "names")
    await stack.add(world)
    await stack.start()
    repo = TicketRepository(stack.backends.db, world.tenant)
    channel_id = await open_ticket(discord, world, await post_panel(discord, world), "Names")
    sent = await world.actor(discord, world.member).send_message(channel_id, "hello there")
    ticket = await repo.by_channel(str(channel_id))
    archived = await eventually(
        lambda: ArchiveRepository(stack.backends.db, world.tenant).get(str(sent.id))
    )
    name = world.member.username
    assert name not in archived.author_name  # v4 encrypts archived names too
    assert stack.backends.cipher.decrypt(archived.author_name) == name
    rows = await stack.backends.db.one("SELECT * FROM archived_message;")
    assert rows and not any(name in str(row) for row in rows)
    # A row an older version archived with the name in plain text still renders.
    legacy = ticket.created_at.replace(microsecond=0)
    await repo.archive_message(
        ticket,
        message_id="1",
        author_id="77",
        author_name="Legacy Lee",
        author_bot=False,
        content=stack.backends.cipher.encrypt("from before the upgrade"),
        created_at=legacy,
    )

    await close_with_approval(discord, world, channel_id, world.staff, world.member)
    ticket = await eventually(lambda: _closed(repo, channel_id))
    store = ScopedStore(stack.backends.store, world.tenant)
    html = (await store.get(ticket.transcript_key)).decode()
    text = (await store.get(keys.transcript_text(ticket.guild_id, ticket.number))).decode()
    for rendered in (html, text):
        assert name in rendered and "Legacy Lee" in rendered
        assert "gAAAAA" not in rendered
