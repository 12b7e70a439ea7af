"""Panels posted through the API, by the code /panel uses; members open tickets from them."""

from __future__ import annotations

from pathlib import Path

from emulation.discord import FakeDiscord
from standalone.db.tenants import TenantRepository
from standalone.services.aio import AioRunner, open_backends
from tests.e2e.conftest import TIMEOUT, make_world, stack_config
from tests.e2e.flow import bot_messages, button, components

from .conftest import Portal, Seeded

CATEGORY_CHANNEL = 4


async def test_a_panel_has_a_button_per_category_or_a_menu(portal: Portal, seeded: Seeded):
    world = portal.worlds["red"]
    path = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/panels"
    status, posted = await seeded.admin.call(
        "POST", path, {"channel_id": str(world.support.id), "title": "Need help?"}
    )
    assert status == 201, posted
    assert posted == {"channel_id": str(world.support.id), "categories": [seeded.category]}
    panel = bot_messages(portal.discord, world, world.support.id)[-1]
    assert panel.embeds[0]["title"] == "Need help?"
    assert button(panel, f"open:{seeded.category}")
    status, _ = await seeded.admin.call(
        "POST", f"/t/{{t}}/api/admin/guilds/{seeded.guild}/categories", {"name": "Billing"}
    )
    assert status == 201
    status, _ = await seeded.admin.call(
        "POST", path, {"channel_id": str(world.support.id), "style": "menu"}
    )
    assert status == 201
    menu = bot_messages(portal.discord, world, world.support.id)[-1]
    (select,) = components(menu)
    assert select["type"] == 3
    assert [o["label"] for o in select["options"]] == ["Support", "Billing"]


async def test_panel_requests_are_checked(portal: Portal, seeded: Seeded):
    world, blue = portal.worlds["red"], portal.worlds["blue"]
    path = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/panels"
    holder = portal.discord.add_channel(world.guild.id, "Tickets", type=CATEGORY_CHANNEL)
    for body, field in [
        ({"channel_id": str(blue.support.id)}, "channel_id"),
        ({"channel_id": str(holder.id)}, "channel_id"),
        ({"channel_id": str(world.support.id), "categories": ["nope"]}, "categories.0"),
        ({"channel_id": str(world.support.id), "style": "carousel"}, "style"),
    ]:
        status, error = await seeded.admin.call("POST", path, body)
        assert status == 422, (body, error)
        assert error["error"]["field"] == field
    assert bot_messages(portal.discord, world, world.support.id) == []


async def test_a_member_opens_a_ticket_from_an_api_panel(tmp_path: Path, discord: FakeDiscord):
    """The whole stack with the http service: configure by API, open through Discord."""
    world = make_world(discord, "alpha")
    config = stack_config(tmp_path, discord)
    config.http.enabled = True
    config.http.listen = "127.0.0.1:0"
    backends = await open_backends(config)
    tenants = TenantRepository(backends.db, backends.cipher)
    await tenants.add(world.tenant, world.app.token, str(world.app.id))
    await tenants.set_oauth_secret(world.tenant, discord.oauth.client_secret(world.app.id))
    runner = AioRunner(config, backends, instance="test")
    try:
        await runner.start()
        assert runner.http is not None
        site = Portal(discord, backends, runner.http, {"alpha": world})
        admin = await site.login("alpha", world.staff)
        guild = f"/t/{{t}}/api/admin/guilds/{world.guild.id}"
        status, category = await admin.call(
            "POST", f"{guild}/categories", {"name": "Printers", "require_topic": False}
        )
        assert status == 201, category
        status, question = await admin.call(
            "POST",
            f"{guild}/categories/{category['key']}/questions",
            {"label": "Which printer?", "use_as_topic": True},
        )
        assert status == 201, question
        status, _ = await admin.call(
            "POST", f"{guild}/panels", {"channel_id": str(world.support.id)}
        )
        assert status == 201
        panel = bot_messages(discord, world, world.support.id)[-1]
        member = world.actor(discord, world.member)
        form = await (await member.click(panel.id, button(panel, "open:"))).response(
            timeout=TIMEOUT
        )
        assert form["type"] == 9, form
        field = form["data"]["components"][0]["component"]["custom_id"]
        submit = await member.submit_modal(
            form["data"]["custom_id"], {field: "The laser one"}, channel_id=world.support.id
        )
        answer = await submit.followups(count=1, timeout=TIMEOUT)
        assert answer[-1]["content"].startswith("Your ticket is open"), answer
        channel = discord.channel(int(answer[-1]["content"].split("<#")[1].rstrip(">")))
        assert channel is not None and channel.parent_id == int(category["discord_category"])

        # The member sees it in the API, with the topic and answer decrypted.
        mine = await site.login("alpha", world.member)
        status, tickets = await mine.call("GET", f"/t/{{t}}/api/guilds/{world.guild.id}/tickets")
        assert status == 200 and [t["topic"] for t in tickets] == ["The laser one"]
        status, detail = await mine.call(
            "GET", f"/t/{{t}}/api/guilds/{world.guild.id}/tickets/{tickets[0]['number']}"
        )
        assert [a["value"] for a in detail["answers"]] == ["The laser one"]
        for browser in site.browsers:
            await browser.close()
    finally:
        await runner.stop()
        await backends.close()
    assert discord.server_errors == []
