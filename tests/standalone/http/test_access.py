"""Who may do what: members, staff, admins and owners, per guild and per tenant."""

from __future__ import annotations

from standalone.db.settings import SettingsRepository

from .conftest import Portal


async def test_a_member_sees_the_server_but_not_its_admin_side(portal: Portal):
    world = portal.worlds["red"]
    browser = await portal.login("red", world.member)
    status, guilds = await browser.call("GET", "/t/{t}/api/guilds")
    assert status == 200
    assert [(g["id"], g["level"], g["bot_added"]) for g in guilds] == [
        (str(world.guild.id), 0, True)
    ]
    status, detail = await browser.call("GET", f"/t/{{t}}/api/guilds/{world.guild.id}")
    assert status == 200 and detail["level"] == 0 and detail["staff_categories"] == []
    status, body = await browser.call("GET", f"/t/{{t}}/api/admin/guilds/{world.guild.id}")
    assert status == 403
    assert "Manage Server" in body["error"]["message"]
    status, managed = await browser.call("GET", "/t/{t}/api/admin/guilds")
    assert status == 200 and managed == []


async def test_manage_server_and_owner_are_admins(portal: Portal):
    world = portal.worlds["red"]
    for user, level in [(world.staff, 2), (portal.discord.guild_owner(world.guild.id), 3)]:
        browser = await portal.login("red", user)
        status, overview = await browser.call("GET", f"/t/{{t}}/api/admin/guilds/{world.guild.id}")
        assert status == 200, overview
        assert overview["name"] == world.guild.name and overview["tickets"] == 0
        status, detail = await browser.call("GET", f"/t/{{t}}/api/guilds/{world.guild.id}")
        assert detail["level"] == level
        status, managed = await browser.call("GET", "/t/{t}/api/admin/guilds")
        assert [g["id"] for g in managed] == [str(world.guild.id)]


async def test_losing_the_role_counts_at_once(portal: Portal):
    world = portal.worlds["red"]
    browser = await portal.login("red", world.staff)
    path = f"/t/{{t}}/api/admin/guilds/{world.guild.id}"
    assert (await browser.call("GET", path))[0] == 200
    portal.discord.set_member_roles(world.guild.id, world.staff.id, [])
    status, _ = await browser.call("GET", path)
    assert status == 403


async def test_staff_of_a_category_are_staff_there(portal: Portal):
    world = portal.worlds["red"]
    helpers = portal.discord.add_role(world.guild.id, "Helpers")
    portal.discord.set_member_roles(world.guild.id, world.other.id, [helpers.id])
    settings = SettingsRepository(portal.backends.db, "red")
    billing = await settings.create_category(
        str(world.guild.id), "Billing", staff_roles=[str(helpers.id)]
    )
    await settings.create_category(str(world.guild.id), "Other")
    browser = await portal.login("red", world.other)
    status, detail = await browser.call("GET", f"/t/{{t}}/api/guilds/{world.guild.id}")
    assert status == 200
    assert detail["level"] == 1 and detail["staff_categories"] == [billing.key]
    status, _ = await browser.call("GET", f"/t/{{t}}/api/admin/guilds/{world.guild.id}")
    assert status == 403


async def test_a_guild_without_the_bot_or_without_the_user(portal: Portal):
    red, blue = portal.worlds["red"], portal.worlds["blue"]
    browser = await portal.login("red", red.staff)
    # Blue's server has blue's bot only: red's bot cannot see it.
    status, _ = await browser.call("GET", f"/t/{{t}}/api/guilds/{blue.guild.id}")
    assert status == 404
    status, _ = await browser.call("GET", f"/t/{{t}}/api/admin/guilds/{blue.guild.id}")
    assert status == 404
    # A server red's bot is in but the user is not.
    elsewhere = portal.discord.add_guild("Elsewhere")
    portal.discord.install(red.app.id, elsewhere.id)
    status, body = await browser.call("GET", f"/t/{{t}}/api/guilds/{elsewhere.id}")
    assert status == 403 and "not a member" in body["error"]["message"]
    for bad in ("abc", "1" * 30):
        status, _ = await browser.call("GET", f"/t/{{t}}/api/guilds/{bad}")
        assert status == 404


async def test_the_same_person_logs_in_to_each_tenant_separately(portal: Portal):
    red, blue = portal.worlds["red"], portal.worlds["blue"]
    # The blue owner joins red's server as a plain member.
    blue_owner = portal.discord.guild_owner(blue.guild.id)
    portal.discord.add_member(red.guild.id, user_id=blue_owner.id)
    browser = await portal.login("red", blue_owner)
    status, _ = await browser.call("GET", f"/t/{{t}}/api/admin/guilds/{blue.guild.id}")
    assert status == 404  # red's bot is not in blue's server
    status, guilds = await browser.call("GET", "/t/{t}/api/guilds")
    assert [g["id"] for g in guilds] == [str(red.guild.id)]
    status, managed = await browser.call("GET", "/t/{t}/api/admin/guilds")
    assert [(g["id"], g["bot_added"]) for g in managed] == [(str(blue.guild.id), False)]


async def test_admins_get_the_servers_channels_and_roles(portal: Portal):
    world = portal.worlds["red"]
    browser = await portal.login("red", world.staff)
    status, view = await browser.call("GET", f"/t/{{t}}/api/admin/guilds/{world.guild.id}/discord")
    assert status == 200
    assert {"id": str(world.support.id), "name": "support", "type": 0, "parent_id": None} in view[
        "channels"
    ]
    names = [r["name"] for r in view["roles"]]
    assert "Staff" in names and "@everyone" not in names
