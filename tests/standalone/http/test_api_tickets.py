"""Tickets and transcripts: members see their own, staff their categories', admins all."""

from __future__ import annotations

from standalone.db.settings import SettingsRepository

from .conftest import TRANSCRIPT, Portal, Seeded, seed_ticket


async def test_a_member_sees_only_their_own_tickets(portal: Portal, seeded: Seeded):
    base = f"/t/{{t}}/api/guilds/{seeded.guild}/tickets"
    status, listed = await seeded.member.call("GET", base)
    assert status == 200
    assert [(t["number"], t["topic"]) for t in listed] == [(seeded.ticket, "my printer is on fire")]
    assert (await seeded.member.call("GET", f"{base}/@me"))[1] == listed
    status, transcript = await seeded.member.call("GET", f"{base}/{seeded.ticket}/transcript")
    assert status == 200 and transcript == TRANSCRIPT
    # Olga's ticket does not exist as far as alex can tell.
    status, _ = await seeded.member.call("GET", f"{base}/{seeded.other_ticket}")
    assert status == 404
    status, _ = await seeded.member.call("GET", f"{base}/{seeded.other_ticket}/transcript")
    assert status == 404


async def test_admins_see_everything_and_search(portal: Portal, seeded: Seeded):
    base = f"/t/{{t}}/api/guilds/{seeded.guild}/tickets"
    status, listed = await seeded.admin.call("GET", base)
    assert [t["number"] for t in listed] == [seeded.other_ticket, seeded.ticket]  # newest first
    for query, expected in [
        ("?q=PRINTER", [seeded.ticket]),
        (f"?q=%23{seeded.other_ticket}", [seeded.other_ticket]),
        (f"?q={portal.worlds['red'].other.id}", [seeded.other_ticket]),
        ("?state=closed", [seeded.ticket]),
        ("?state=open", [seeded.other_ticket]),
        ("?q=nothing+like+it", []),
        ("?category=nope", []),
    ]:
        status, found = await seeded.admin.call("GET", base + query)
        assert status == 200, found
        assert [t["number"] for t in found] == expected, query
    status, error = await seeded.admin.call("GET", base + "?state=lost")
    assert status == 422 and error["error"]["field"] == "state"
    status, detail = await seeded.admin.call("GET", f"{base}/{seeded.other_ticket}")
    assert status == 200 and detail["ticket"]["topic"] == "olga's secret"
    status, _ = await seeded.admin.call("GET", f"{base}/{seeded.other_ticket}/transcript")
    assert status == 404  # still open: no transcript yet
    admin = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/tickets"
    status, everything = await seeded.admin.call("GET", admin)
    assert len(everything) == 2
    status, none = await seeded.admin.call("GET", admin + "?since=2999-01-01")
    assert status == 200 and none == []
    status, error = await seeded.admin.call("GET", admin + "?since=yesterday")
    assert status == 422 and error["error"]["field"] == "since"


async def test_staff_see_their_categories_tickets_only(portal: Portal, seeded: Seeded):
    world = portal.worlds["red"]
    helpers = portal.discord.add_role(world.guild.id, "Helpers")
    helper = portal.discord.add_member(world.guild.id, "hana", roles=[helpers.id])
    settings = SettingsRepository(portal.backends.db, "red")
    billing = await settings.create_category(seeded.guild, "Billing", staff_roles=[str(helpers.id)])
    billed = await seed_ticket(
        portal, "red", seeded.guild, billing.key, world.member.id, "invoice wrong"
    )
    browser = await portal.login("red", helper)
    base = f"/t/{{t}}/api/guilds/{seeded.guild}/tickets"
    status, listed = await browser.call("GET", base)
    assert [t["number"] for t in listed] == [billed]
    status, transcript = await browser.call("GET", f"{base}/{billed}/transcript")
    assert status == 200 and transcript == TRANSCRIPT
    status, _ = await browser.call("GET", f"{base}/{seeded.ticket}/transcript")
    assert status == 404  # Support's, not Billing's
    status, _ = await browser.call("GET", f"/t/{{t}}/api/admin/guilds/{seeded.guild}/tickets")
    assert status == 403


async def test_transcripts_are_served_sandboxed(portal: Portal, seeded: Seeded):
    async with seeded.member.session.get(
        seeded.member.url(f"/t/{{t}}/api/guilds/{seeded.guild}/tickets/{seeded.ticket}/transcript")
    ) as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        assert resp.headers["Content-Security-Policy"].startswith("sandbox")
