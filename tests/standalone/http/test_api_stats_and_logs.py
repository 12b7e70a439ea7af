"""The dashboard's statistics, and its changes reaching the log channel."""

from __future__ import annotations

from .conftest import Portal, Seeded


def log_entries(portal: Portal, channel_id: int) -> list[dict]:
    world = portal.worlds["red"]
    return [
        m.embeds[0]
        for m in portal.discord.messages(channel_id)
        if m.author_id == world.app.bot_user.id and m.embeds
    ]


async def test_stats_count_the_servers_tickets(portal: Portal, seeded: Seeded):
    path = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/stats"
    status, figures = await seeded.admin.call("GET", path)
    assert status == 200, figures
    # The seed: one ticket closed, one open, neither answered nor rated.
    assert (figures["opened"], figures["closed"], figures["responded"]) == (2, 1, 0)
    assert figures["response_s"] is None and figures["rating"] is None
    status, scoped = await seeded.admin.call(
        "GET", f"{path}?category={seeded.category}&member={portal.worlds['red'].staff.id}&days=7"
    )
    assert status == 200 and scoped["opened"] == 0, scoped
    for query, field in [
        ("days=0", "days"),
        ("days=366", "days"),
        ("days=soon", "days"),
        ("category=nope", "category"),
        ("member=alex", "member"),
    ]:
        status, error = await seeded.admin.call("GET", f"{path}?{query}")
        assert status == 422 and error["error"]["field"] == field, (query, error)
    status, _ = await seeded.member.call("GET", path)
    assert status == 403


async def test_settings_and_category_changes_are_logged(portal: Portal, seeded: Seeded):
    world = portal.worlds["red"]
    log = portal.discord.add_channel(world.guild.id, "ticket-log")
    guild = f"/t/{{t}}/api/admin/guilds/{seeded.guild}"
    status, _ = await seeded.admin.call(
        "PATCH", f"{guild}/settings", {"log_channel": str(log.id), "auto_close_ms": None}
    )
    assert status == 200
    (first,) = log_entries(portal, log.id)
    assert first["title"] == "Server settings changed"
    shown = {f["name"]: f["value"] for f in first["fields"]}
    assert shown["By"] == f"<@{world.staff.id}>"
    assert shown["Log channel"] == f"none → <#{log.id}>"
    assert shown["Auto-close"] == "12 hours → off"
    status, _ = await seeded.admin.call(
        "PATCH", f"{guild}/categories/{seeded.category}", {"name": "Help desk"}
    )
    assert status == 200
    status, _ = await seeded.admin.call("DELETE", f"{guild}/categories/{seeded.category}")
    assert status == 204
    titles = [e["title"] for e in log_entries(portal, log.id)]
    assert titles == [
        "Server settings changed",
        "Category Help desk changed",
        "Category Help desk deleted",
    ]
    # A change that changes nothing logs nothing.
    status, _ = await seeded.admin.call("PATCH", f"{guild}/settings", {"archive": True})
    assert status == 200 and len(log_entries(portal, log.id)) == 3
