"""Claim and release through the stand-in: who may, and what each does to permissions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import disnake
import pytest

from emulation.discord.models import Overwrite
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from tests.e2e.conftest import TIMEOUT, World, make_world
from tests.e2e.flow import bot_messages, button, components, open_ticket

VIEW = disnake.Permissions(view_channel=True).value
ADMINISTRATOR = 1 << 3
MEMBER_ALLOW = disnake.Permissions(
    view_channel=True,
    send_messages=True,
    read_message_history=True,
    attach_files=True,
    embed_links=True,
).value


@dataclass
class Cast:
    """Everyone who may try to claim: two helpers of the ticket's category and the rest."""

    world: World
    helpers: Any  # the category's staff role (no server permissions)
    helper: Any
    helper2: Any
    outsider: Any  # staff of another category
    admin: Any
    added: Any  # a member added to the ticket
    channel_id: int
    opening: Any
    repo: TicketRepository
    settings: SettingsRepository


async def answer(inter) -> str:
    """The bot's ephemeral answer: a refusal comes as the response, a success as a followup."""
    response = await inter.response(timeout=TIMEOUT)
    if response["type"] == 4:
        assert response["data"]["flags"] & 64
        return str(response["data"]["content"])
    followups = await inter.followups(count=1, timeout=TIMEOUT)
    return str(followups[-1]["content"])


@pytest.fixture
async def cast(discord, stack) -> Cast:
    world = make_world(discord, "claim")
    guild = world.guild.id
    helpers = discord.add_role(guild, name="Helpers")
    sellers = discord.add_role(guild, name="Sellers")
    admins = discord.add_role(guild, name="Admins", permissions=ADMINISTRATOR)
    helper = discord.add_member(guild, username="hana", roles=[helpers.id])
    helper2 = discord.add_member(guild, username="hugo", roles=[helpers.id])
    outsider = discord.add_member(guild, username="sven", roles=[sellers.id])
    admin = discord.add_member(guild, username="ada", roles=[admins.id])
    added = discord.add_member(guild, username="abby")
    await stack.add(world)
    await stack.start()
    inter = await world.actor(discord, world.staff).slash(
        "panel", {"staff_role": str(helpers.id)}, channel_id=world.support.id
    )
    await inter.followups(count=1, timeout=TIMEOUT)
    panel = bot_messages(discord, world, world.support.id)[-1]
    settings = SettingsRepository(stack.backends.db, world.tenant)
    assert len(await settings.categories(str(guild))) == 1
    await settings.create_category(str(guild), "Sales", staff_roles=[str(sellers.id)])
    channel_id = await open_ticket(discord, world, panel, "My order never arrived")
    repo = TicketRepository(stack.backends.db, world.tenant)
    ticket = await repo.by_channel(str(channel_id))
    # An added member: on the ticket's record and with their own overwrite.
    await stack.backends.db.run(
        "UPDATE type::thing('ticket', [$t, $g, 1]) SET added_members = [$m];",
        {"t": world.tenant, "g": ticket.guild_id, "m": str(added.id)},
    )
    discord.world.set_overwrite(
        discord.channel(channel_id), Overwrite(id=added.id, type=1, allow=MEMBER_ALLOW)
    )
    opening = bot_messages(discord, world, channel_id)[0]
    return Cast(
        world, helpers, helper, helper2, outsider, admin, added, channel_id, opening, repo, settings
    )


def sees(discord, cast: Cast, user) -> bool:
    perms = discord.member_permissions(cast.world.guild.id, user.id, cast.channel_id)
    return bool(perms & VIEW)


def overwrite(discord, cast: Cast, target_id: int) -> Overwrite | None:
    channel = discord.channel(cast.channel_id)
    return next((o for o in channel.permission_overwrites if o.id == target_id), None)


def current_opening(discord, cast: Cast):
    return next(m for m in discord.messages(cast.channel_id) if m.id == cast.opening.id)


async def claimed_by(cast: Cast) -> str | None:
    return (await cast.repo.by_channel(str(cast.channel_id))).claimed_by


async def slash(discord, cast: Cast, user, name: str) -> str:
    actor = cast.world.actor(discord, user)
    return await answer(await actor.slash(name, channel_id=cast.channel_id))


async def test_who_may_claim_and_what_a_claim_changes(discord, cast: Cast):
    w = cast.world
    for user in (w.member, cast.added, w.other, cast.outsider):
        refusal = await slash(discord, cast, user, "claim")
        assert "Only staff of Support tickets can claim" in refusal, refusal
    assert await claimed_by(cast) is None
    assert overwrite(discord, cast, cast.helpers.id).allow & VIEW

    # Staff of this category may (the opening code adds the Claim button; /claim works too).
    assert "You claimed ticket #1" in await slash(discord, cast, cast.helper, "claim")
    assert await claimed_by(cast) == str(cast.helper.id)
    assert sees(discord, cast, cast.helper) and sees(discord, cast, cast.admin)
    assert sees(discord, cast, w.member) and sees(discord, cast, cast.added)
    assert not sees(discord, cast, cast.helper2)
    assert overwrite(discord, cast, cast.helpers.id).deny & VIEW
    assert overwrite(discord, cast, cast.helper.id).allow == MEMBER_ALLOW
    labels = [c.get("label") for c in components(current_opening(discord, cast))]
    assert "Release" in labels and "Claim" not in labels and "Close" in labels
    notices = [m.content for m in bot_messages(discord, w, cast.channel_id)]
    assert notices.count(f"<@{cast.helper.id}> claimed this ticket.") == 1

    # Claiming again (as a retried claim does) repeats nothing visible.
    assert "You claimed" in await slash(discord, cast, cast.helper, "claim")
    notices = [m.content for m in bot_messages(discord, w, cast.channel_id)]
    assert notices.count(f"<@{cast.helper.id}> claimed this ticket.") == 1
    labels = [c.get("label") for c in components(current_opening(discord, cast))]
    assert labels.count("Release") == 1

    # A second claim is refused and names the claimer, even for an admin.
    for user in (cast.helper2, cast.admin):
        refusal = await slash(discord, cast, user, "claim")
        assert f"already claimed by <@{cast.helper.id}>" in refusal


async def test_who_may_release_and_what_a_release_restores(discord, cast: Cast):
    w = cast.world
    assert "You claimed" in await slash(discord, cast, cast.helper, "claim")
    for user in (w.member, cast.added, w.other, cast.outsider):
        refusal = await slash(discord, cast, user, "release")
        assert "Only the staff member who claimed this ticket" in refusal, refusal
    assert await claimed_by(cast) == str(cast.helper.id)

    # The claimer releases with the button that replaced Claim.
    inter = await w.actor(discord, cast.helper).click(
        cast.opening.id, button(current_opening(discord, cast), "release:")
    )
    assert "no longer claimed" in await answer(inter)
    assert await claimed_by(cast) is None
    assert sees(discord, cast, cast.helper2) and sees(discord, cast, cast.helper)
    assert overwrite(discord, cast, cast.helpers.id).allow == MEMBER_ALLOW
    assert overwrite(discord, cast, cast.helpers.id).deny == 0
    assert overwrite(discord, cast, cast.helper.id) is None
    assert overwrite(discord, cast, cast.added.id) is not None
    labels = [c.get("label") for c in components(current_opening(discord, cast))]
    assert "Claim" in labels and "Release" not in labels
    assert "not claimed" in await slash(discord, cast, cast.helper, "release")
    inter = await w.actor(discord, cast.helper2).click(
        cast.opening.id, button(current_opening(discord, cast), "claim:")
    )
    assert "You claimed" in await answer(inter)
    assert "no longer claimed" in await slash(discord, cast, cast.helper2, "release")

    # Other staff of the category may release someone else's claim, and so may an admin.
    for releaser in (cast.helper2, cast.admin):
        assert "You claimed" in await slash(discord, cast, cast.helper, "claim")
        assert "no longer claimed" in await slash(discord, cast, releaser, "release")
        assert await claimed_by(cast) is None and sees(discord, cast, cast.helper2)

    # An admin may claim too; their own overwrite goes again on release.
    assert "You claimed" in await slash(discord, cast, cast.admin, "claim")
    assert not sees(discord, cast, cast.helper)
    assert "no longer claimed" in await slash(discord, cast, cast.admin, "release")
    assert overwrite(discord, cast, cast.admin.id) is None
    texts = [m.content for m in bot_messages(discord, w, cast.channel_id)]
    assert texts.count(f"<@{cast.helper.id}> claimed this ticket.") == 3
    assert texts.count(f"<@{cast.helper2.id}> claimed this ticket.") == 1
    assert f"<@{cast.helper2.id}> released this ticket." in texts


async def test_an_added_member_who_claims_keeps_their_access(discord, cast: Cast):
    # Staff added to a ticket keep their own overwrite after they release it.
    discord.world.member(cast.world.guild.id, cast.added.id).roles.append(cast.helpers.id)
    assert "You claimed" in await slash(discord, cast, cast.added, "claim")
    assert "no longer claimed" in await slash(discord, cast, cast.added, "release")
    assert overwrite(discord, cast, cast.added.id).allow == MEMBER_ALLOW


async def test_claiming_turned_off_for_the_category_refuses(discord, cast: Cast):
    ticket = await cast.repo.by_channel(str(cast.channel_id))
    await cast.settings.update_category(ticket.guild_id, ticket.category, claiming=False)
    refusal = await slash(discord, cast, cast.helper, "claim")
    assert "Claiming is turned off for Support tickets" in refusal
    assert await claimed_by(cast) is None
    assert sees(discord, cast, cast.helper2)


async def test_claim_outside_a_ticket_is_refused(discord, cast: Cast):
    actor = cast.world.actor(discord, cast.helper)
    inter = await actor.slash("claim", channel_id=cast.world.support.id)
    assert "not a ticket" in await answer(inter)


async def test_a_claim_recorded_before_a_crash_is_finished_by_the_retry(discord, stack, cast: Cast):
    # The first try wrote the claim and died before touching Discord.
    ticket = await cast.repo.by_channel(str(cast.channel_id))
    await stack.backends.db.run(
        "UPDATE type::thing('ticket', [$t, $g, 1]) SET claimed_by = $u;",
        {"t": cast.world.tenant, "g": ticket.guild_id, "u": str(cast.helper.id)},
    )
    assert sees(discord, cast, cast.helper2)
    assert "already claimed" in await slash(discord, cast, cast.helper2, "claim")
    assert "You claimed" in await slash(discord, cast, cast.helper, "claim")
    assert not sees(discord, cast, cast.helper2) and sees(discord, cast, cast.helper)


async def test_claiming_a_thread_ticket_adds_the_claimer_to_the_thread(discord, stack, cast: Cast):
    w = cast.world
    thread = await w.actor(discord, w.member).create_thread(w.support.id, "ticket-2", private=True)
    discord.add_thread_member(thread.id, w.app.bot_user.id)
    ticket = await cast.repo.by_channel(str(cast.channel_id))
    created = await cast.repo.create(
        ticket.guild_id, ticket.category, str(w.member.id), "thread-interaction", None
    )
    await cast.repo.mark_open(ticket.guild_id, created.number, str(thread.id), None)
    await stack.backends.db.run(
        "UPDATE type::thing('ticket', [$t, $g, $n]) SET thread = true;",
        {"t": w.tenant, "g": ticket.guild_id, "n": created.number},
    )
    assert cast.helper.id not in discord.thread_members(thread.id)
    actor = w.actor(discord, cast.helper)
    assert "You claimed" in await answer(await actor.slash("claim", channel_id=thread.id))
    assert cast.helper.id in discord.thread_members(thread.id)
    assert (await cast.repo.get(ticket.guild_id, created.number)).claimed_by == str(cast.helper.id)
    texts = [m.content for m in bot_messages(discord, w, thread.id)]
    assert texts == [f"<@{cast.helper.id}> claimed this ticket."]
    # Threads have no per-role overwrites: the parent channel's are untouched.
    assert discord.channel(w.support.id).permission_overwrites == []
    assert "no longer claimed" in await answer(await actor.slash("release", channel_id=thread.id))
    assert (await cast.repo.get(ticket.guild_id, created.number)).claimed_by is None
