"""Panel → open → messages → close, against the stand-in over real sockets."""

from __future__ import annotations

import asyncio

import disnake

from standalone.db.tickets import TicketRepository
from storage.scoped import ScopedStore
from tests.e2e.conftest import TIMEOUT, Stack, World, eventually, make_world
from tests.e2e.flow import (
    bot_messages,
    button,
    open_ticket,
    post_panel,
    request_form,
    submit_topic,
)

VIEW = disnake.Permissions(view_channel=True).value


async def play_full_ticket(discord, stack: Stack, world: World) -> None:
    repo = TicketRepository(stack.backends.db, world.tenant)
    panel = await post_panel(discord, world)
    before = len(discord.requests)
    channel_id = await open_ticket(discord, world, panel, f"Printer on fire ({world.tenant})")
    # The click's room check reads the gateway's channel map, and nothing is looked
    # for in a channel just made: each would spend the bot's global REST budget.
    reads = [
        path
        for method, path in discord.requests[before:]
        if method == "GET"
        and path in {f"/guilds/{world.guild.id}/channels", f"/channels/{channel_id}/messages"}
    ]
    assert reads == []

    channel = discord.channel(channel_id)
    assert channel is not None and channel.name == "ticket-1"
    category = discord.channel(channel.parent_id)
    assert category is not None and category.type == 4
    can_view = lambda user: discord.member_permissions(world.guild.id, user.id, channel_id) & VIEW  # noqa: E731
    assert can_view(world.member) and can_view(world.staff)
    assert not can_view(world.other)

    ticket = await repo.by_channel(str(channel_id))
    assert ticket is not None and ticket.state == "open" and ticket.number == 1
    assert ticket.creator_id == str(world.member.id)
    assert ticket.topic and "Printer" not in ticket.topic  # encrypted at rest
    opening = bot_messages(discord, world, channel_id)
    assert len(opening) == 1 and opening[0].embeds

    await world.actor(discord, world.member).send_message(channel_id, f"hello from {world.tenant}")
    await world.actor(discord, world.staff).send_message(channel_id, "staff here <b>bold</b>")
    await eventually(lambda: _archived(repo, ticket, 3))

    # Staff asks to close; the member who opened it accepts.
    close = await world.actor(discord, world.staff).click(
        opening[0].id, button(opening[0], "close:")
    )
    answer = await close.followups(count=1, timeout=TIMEOUT)
    assert "close request was sent" in answer[-1]["content"]
    await eventually(lambda: _archived(repo, ticket, 4))  # the request is archived too
    request = bot_messages(discord, world, channel_id)[-1]
    accept = await world.actor(discord, world.member).click(
        request.id, button(request, "closeyes:")
    )
    answer = await accept.followups(count=1, timeout=TIMEOUT)
    assert "Closing ticket #1" in answer[-1]["content"]
    closed = await eventually(lambda: _closed(repo, ticket))
    assert discord.channel(channel_id) is None
    assert closed.closed_by == str(world.staff.id) and closed.message_count == 4
    html = (
        await ScopedStore(stack.backends.store, world.tenant).get(closed.transcript_key)
    ).decode()
    assert f"hello from {world.tenant}" in html
    assert "staff here &lt;b&gt;bold&lt;/b&gt;" in html
    assert f"Printer on fire ({world.tenant})" in html
    assert "Thanks for opening a ticket" in html  # the opening embed is archived too


async def _archived(repo, ticket, count):
    return len(await repo.archived(ticket)) == count


async def _closed(repo, ticket):
    current = await repo.get(ticket.guild_id, ticket.number)
    return current if current and current.state == "closed" else None


async def test_full_flow(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    await play_full_ticket(discord, stack, world)


async def test_two_tenants_at_once_share_nothing(discord, stack):
    worlds = [make_world(discord, "alpha"), make_world(discord, "beta")]
    for world in worlds:
        await stack.add(world)
    await stack.start()
    await asyncio.gather(*(play_full_ticket(discord, stack, w) for w in worlds))

    for world, other in (worlds, worlds[::-1]):
        repo = TicketRepository(stack.backends.db, world.tenant)
        tickets = await repo.tickets()
        assert [(t.guild_id, t.number) for t in tickets] == [(str(world.guild.id), 1)]
        assert await repo.tickets(str(other.guild.id)) == []
        keys = await ScopedStore(stack.backends.store, world.tenant).list()
        assert keys == [
            f"transcripts/{world.guild.id}/1.html",
            f"transcripts/{world.guild.id}/1.txt",
        ]
        html = (await ScopedStore(stack.backends.store, world.tenant).get(keys[0])).decode()
        assert f"hello from {other.tenant}" not in html


async def test_only_creator_or_staff_may_close(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    panel = await post_panel(discord, world)
    channel_id = await open_ticket(discord, world, panel, "Need a refund")
    opening = bot_messages(discord, world, channel_id)[0]
    attempt = await world.actor(discord, world.other).click(opening.id, button(opening, "close:"))
    refusal = await attempt.response(timeout=TIMEOUT)
    assert "Only the member who opened this ticket or staff" in refusal["data"]["content"]
    assert refusal["data"]["flags"] & 64
    repo = TicketRepository(stack.backends.db, world.tenant)
    ticket = await repo.by_channel(str(channel_id))
    assert ticket.state == "open"
    assert discord.channel(channel_id) is not None

    # The creator can ask, with /close and a reason; staff accepts.
    close = await world.actor(discord, world.member).slash(
        "close", {"reason": "solved"}, channel_id=channel_id
    )
    await close.followups(count=1, timeout=TIMEOUT)
    request = bot_messages(discord, world, channel_id)[-1]
    accept = await world.actor(discord, world.staff).click(request.id, button(request, "closeyes:"))
    await accept.followups(count=1, timeout=TIMEOUT)
    closed = await eventually(lambda: _closed(repo, ticket))
    assert closed.closed_by == str(world.member.id)
    assert closed.close_reason and "solved" not in closed.close_reason  # encrypted
    assert discord.channel(channel_id) is None


async def test_member_limit_and_non_staff_panel_are_refused(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    denied = await world.actor(discord, world.member).slash(
        "panel", {"staff_role": str(world.staff_role.id)}, channel_id=world.support.id
    )
    answer = await denied.response(timeout=TIMEOUT)
    assert "Manage Server" in answer["data"]["content"]
    panel = await post_panel(discord, world)
    await open_ticket(discord, world, panel, "first ticket")
    again = await world.actor(discord, world.member).click(panel.id, button(panel, "open:"))
    answer = await again.response(timeout=TIMEOUT)
    assert answer["type"] == 4 and "already have 1 open ticket" in answer["data"]["content"]
    assert len(await TicketRepository(stack.backends.db, world.tenant).tickets()) == 1


async def test_two_bots_sharing_one_server_and_category_keep_their_tickets_apart(discord, stack):
    first = make_world(discord, "alpha")
    # A second bot in the same server, with the same staff, members and category.
    app = discord.add_application(name="Tickets beta")
    discord.install(app.id, first.guild.id)
    second = World(
        "beta",
        app,
        first.guild,
        first.staff_role,
        first.staff,
        first.member,
        first.other,
        first.support,
    )
    for world in (first, second):
        await stack.add(world)
    await stack.start()
    category = discord.add_channel(first.guild.id, name="Tickets", type=4)
    channels = []
    for world in (first, second):
        panel = await post_panel(discord, world, category.id)
        channels.append(await open_ticket(discord, world, panel, f"about {world.tenant}"))
    assert channels[0] != channels[1]  # both are ticket #1, each in its own channel
    for world, channel_id in zip((first, second), channels, strict=True):
        ticket = await TicketRepository(stack.backends.db, world.tenant).by_channel(str(channel_id))
        assert ticket is not None and ticket.number == 1
        assert len(bot_messages(discord, world, channel_id)) == 1
    close = await second.actor(discord, second.member).slash("close", {}, channel_id=channels[1])
    await close.followups(count=1, timeout=TIMEOUT)
    request = bot_messages(discord, second, channels[1])[-1]
    accept = await second.actor(discord, second.staff).click(
        request.id, button(request, "closeyes:")
    )
    await accept.followups(count=1, timeout=TIMEOUT)
    await eventually(lambda: _gone(discord, channels[1]))
    assert discord.channel(channels[0]) is not None
    alpha = await TicketRepository(stack.backends.db, "alpha").by_channel(str(channels[0]))
    assert alpha.state == "open"


async def _gone(discord, channel_id):
    return discord.channel(channel_id) is None


async def test_deleting_a_ticket_channel_closes_the_ticket(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    panel = await post_panel(discord, world)
    channel_id = await open_ticket(discord, world, panel, "will vanish")
    repo = TicketRepository(stack.backends.db, world.tenant)
    ticket = await repo.by_channel(str(channel_id))
    await world.actor(discord, world.member).send_message(channel_id, "last words")
    await eventually(lambda: _archived(repo, ticket, 2))
    discord.delete_channel(channel_id)  # as an admin would, in Discord itself
    closed = await eventually(lambda: _closed(repo, ticket))
    assert closed.closed_by == "discord" and closed.transcript_key
    # The member is not locked out by a ticket whose channel is gone.
    await open_ticket(discord, world, panel, "second try")


async def test_a_full_category_is_explained_and_locks_nobody_out(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    category = discord.add_channel(world.guild.id, name="Tickets", type=4)
    fillers = [
        discord.add_channel(world.guild.id, name=f"old-{n}", parent_id=category.id)
        for n in range(50)
    ]
    panel = await post_panel(discord, world, category.id)
    # Checked at the click, before the member types anything.
    click = await world.actor(discord, world.member).click(panel.id, button(panel, "open:"))
    refusal = await click.response(timeout=TIMEOUT)
    assert refusal["type"] == 4 and "category is full" in refusal["data"]["content"]
    repo = TicketRepository(stack.backends.db, world.tenant)
    assert await repo.tickets() == []
    # Room at the click, full again by the time the form comes back: checked again.
    discord.delete_channel(fillers[0].id)
    form = await request_form(discord, world, panel, world.member)
    discord.add_channel(world.guild.id, name="late", parent_id=category.id)
    submit = await submit_topic(discord, world, form, world.member, "no room")
    answer = await submit.followups(count=1, timeout=TIMEOUT)
    assert "category is full" in answer[-1]["content"]
    assert await repo.tickets() == []
    # Room again: the same member can open one at once.
    discord.delete_channel(fillers[1].id)
    await open_ticket(discord, world, panel, "room now")
