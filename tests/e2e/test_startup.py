"""Start-up faults of one tenant, and a redelivered /panel."""

from __future__ import annotations

import asyncio

import pytest

from standalone.db.tenants import TenantRepository
from standalone.i18n import Text
from standalone.services.errors import StartupError
from standalone.tickets import entries as service_module
from tests.e2e.conftest import TIMEOUT, make_world
from tests.e2e.flow import bot_messages, open_ticket, post_panel


async def test_a_tenant_with_a_revoked_token_does_not_stop_the_others(discord, stack):
    good = make_world(discord, "good")
    await stack.add(good)
    tenants = TenantRepository(stack.backends.db, stack.backends.cipher)
    await tenants.add("revoked", "MTIzNA.revoked.token", "1234")
    runner = await stack.start()
    assert runner.failures == ["tenant revoked: Discord rejected the bot token"]
    panel = await post_panel(discord, good)
    await open_ticket(discord, good, panel, "still served")


async def test_when_no_tenant_can_start_start_up_fails_clearly(discord, stack):
    tenants = TenantRepository(stack.backends.db, stack.backends.cipher)
    await tenants.add("revoked", "MTIzNA.revoked.token", "1234")
    with pytest.raises(StartupError, match="no tenant could start: tenant revoked"):
        await stack.start()


async def test_a_redelivered_panel_command_posts_one_panel(discord, stack, monkeypatch):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    original = service_module.reply
    failed = asyncio.Event()

    async def fail_once(inter, text):
        # Answers are catalogue texts now, rendered as the stand-in's members read them.
        shown = text.render("en-US") if isinstance(text, Text) else text
        if "Panel posted" in shown and not failed.is_set():
            failed.set()
            raise ConnectionError("worker lost its connection after posting")
        await original(inter, text)

    monkeypatch.setattr(service_module, "reply", fail_once)
    inter = await world.actor(discord, world.staff).slash(
        "panel", {"staff_role": str(world.staff_role.id)}, channel_id=world.support.id
    )
    answers = await inter.followups(count=1, timeout=TIMEOUT)
    assert failed.is_set() and "Panel posted" in answers[-1]["content"]
    assert len(bot_messages(discord, world, world.support.id)) == 1
    categories = [c for c in discord.channels(world.guild.id) if c.type == 4]
    assert len(categories) == 1


async def test_a_missing_bot_permission_is_explained_not_retried(discord, stack):
    world = make_world(discord, "alpha")
    weak = discord.add_application(name="Weak bot")
    # Can see and talk, but not manage channels.
    discord.install(weak.id, world.guild.id, permissions=(1 << 10) | (1 << 11) | (1 << 14))
    world.app = weak
    world.tenant = "weak"
    await stack.add(world)
    await stack.start()
    inter = await world.actor(discord, world.staff).slash(
        "panel", {"staff_role": str(world.staff_role.id)}, channel_id=world.support.id
    )
    answer = await inter.followups(count=1, timeout=TIMEOUT)
    assert "missing a Discord permission" in answer[-1]["content"]
    assert [c for c in discord.channels(world.guild.id) if c.type == 4] == []
