"""Guild settings through the API: the same rules as /settings, all or nothing."""

from __future__ import annotations

from typing import get_args

from standalone.http.api.settings import Locale
from standalone.i18n import SUPPORTED

from .conftest import Portal, Seeded


async def test_settings_change_and_stay_changed(portal: Portal, seeded: Seeded):
    world = portal.worlds["red"]
    path = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/settings"
    status, before = await seeded.admin.call("GET", path)
    assert status == 200 and before["archive"] is True and before["footer"] is None
    change = {
        "archive": False,
        "colour": 0x112233,
        "footer": "  Thanks for waiting  ",
        "log_channel": str(world.support.id),
        "blocked_roles": [str(world.staff_role.id)],
        "stale_after_ms": 3_600_000,
        "auto_tag_tickets": False,
        "auto_tag_channels": [str(world.support.id), str(world.support.id)],
    }
    status, after = await seeded.admin.call("PATCH", path, change)
    assert status == 200, after
    assert after["footer"] == "Thanks for waiting"  # trimmed
    assert after["auto_tag_tickets"] is False
    assert after["auto_tag_channels"] == [str(world.support.id)]  # once
    status, again = await seeded.admin.call("GET", path)
    assert again == after
    assert (again["archive"], again["colour"], again["log_channel"]) == (
        False,
        0x112233,
        str(world.support.id),
    )
    status, cleared = await seeded.admin.call("PATCH", path, {"log_channel": None, "footer": ""})
    assert status == 200 and cleared["log_channel"] is None and cleared["footer"] is None


async def test_ids_must_be_of_this_server_and_nothing_is_half_saved(portal: Portal, seeded: Seeded):
    world, blue = portal.worlds["red"], portal.worlds["blue"]
    path = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/settings"
    status, before = await seeded.admin.call("GET", path)
    category = portal.discord.add_channel(world.guild.id, "Tickets", type=4)
    for body, field in [
        ({"footer": "new", "log_channel": str(blue.support.id)}, "log_channel"),
        ({"footer": "new", "log_channel": str(category.id)}, "log_channel"),
        ({"footer": "new", "blocked_roles": [str(world.staff_role.id), "123"]}, "blocked_roles.1"),
        ({"footer": "new", "colour": 0x1000000}, "colour"),
        ({"footer": "new", "auto_close_ms": -1}, "auto_close_ms"),
        ({"footer": "new", "locale": "klingon"}, "locale"),
        ({"footer": "new", "nonsense": True}, "nonsense"),
        ({"footer": "x" * 201}, "footer"),
        ({"footer": "new", "auto_tag_channels": [str(blue.support.id)]}, "auto_tag_channels.0"),
    ]:
        status, error = await seeded.admin.call("PATCH", path, body)
        assert status == 422, (body, error)
        assert error["error"]["field"] == field, error
    status, after = await seeded.admin.call("GET", path)
    assert after == before


async def test_settings_of_one_tenant_do_not_reach_another(portal: Portal, seeded: Seeded):
    blue = portal.worlds["blue"]
    blue_admin = await portal.login("blue", blue.staff)
    await seeded.admin.call(
        "PATCH", f"/t/{{t}}/api/admin/guilds/{seeded.guild}/settings", {"footer": "red only"}
    )
    status, theirs = await blue_admin.call(
        "GET", f"/t/{{t}}/api/admin/guilds/{blue.guild.id}/settings"
    )
    assert status == 200 and theirs["footer"] is None


async def test_the_locale_is_one_the_bot_speaks(portal: Portal, seeded: Seeded):
    path = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/settings"
    status, error = await seeded.admin.call("PATCH", path, {"locale": "ja"})
    assert status == 422 and error["error"]["field"] == "locale", error
    status, after = await seeded.admin.call("PATCH", path, {"locale": "de"})
    assert status == 200 and after["locale"] == "de", after
    status, again = await seeded.admin.call("GET", path)
    assert again["locale"] == "de"


def test_the_api_offers_exactly_the_supported_locales():
    assert get_args(Locale) == SUPPORTED
