"""Export a server to a ZIP through the API and import it into another, with progress."""

from __future__ import annotations

import io
import json
import zipfile

from .conftest import Portal, Seeded

MANAGE_GUILD = 1 << 5


async def test_export_then_import_into_another_server(portal: Portal, seeded: Seeded):
    world = portal.worlds["red"]
    status, archive = await seeded.admin.call(
        "GET", f"/t/{{t}}/api/admin/guilds/{seeded.guild}/export"
    )
    assert status == 200 and isinstance(archive, bytes)
    assert zipfile.ZipFile(io.BytesIO(archive)).testzip() is None
    status, progress = await seeded.admin.call(
        "GET", f"/t/{{t}}/api/admin/guilds/{seeded.guild}/transfer"
    )
    assert progress["kind"] == "export" and progress["finished"] is True
    assert progress["done"] == progress["total"] > 0

    # A new server, where the same admin manages and red's bot is installed.
    fresh = portal.discord.add_guild("Fresh")
    managers = portal.discord.add_role(fresh.id, "Managers", permissions=MANAGE_GUILD)
    portal.discord.add_member(fresh.id, user_id=world.staff.id, roles=[managers.id])
    portal.discord.install(world.app.id, fresh.id)
    target = f"/t/{{t}}/api/admin/guilds/{fresh.id}"
    status, body = await seeded.admin.call(
        "POST", f"{target}/import", raw=archive, headers={"Content-Type": "application/zip"}
    )
    assert status == 200, body
    lines = [json.loads(line) for line in body.decode().splitlines()]
    steps = [line for line in lines if "done" in line]
    assert steps and steps[-1]["done"] == steps[-1]["total"]
    assert [s["done"] for s in steps] == sorted(s["done"] for s in steps)
    assert lines[-1]["result"]["source"]["guild_id"] == seeded.guild
    status, categories = await seeded.admin.call("GET", f"{target}/categories")
    assert [c["name"] for c in categories] == ["Support"]
    status, tags = await seeded.admin.call("GET", f"{target}/tags")
    assert [t["name"] for t in tags] == ["hello"]
    status, tickets = await seeded.admin.call("GET", f"/t/{{t}}/api/guilds/{fresh.id}/tickets")
    assert sorted(t["topic"] for t in tickets) == ["my printer is on fire", "olga's secret"]

    # The server is no longer empty: a second import is refused and changes nothing.
    status, body = await seeded.admin.call(
        "POST", f"{target}/import", raw=archive, headers={"Content-Type": "application/zip"}
    )
    # It is refused after the archive was checked, so the answer is already streaming.
    assert status == 200
    last = json.loads(body.decode().splitlines()[-1])
    assert "already has category" in last["error"]
    status, progress = await seeded.admin.call("GET", f"{target}/transfer")
    assert progress["kind"] == "import" and progress["error"] == last["error"]
    status, again = await seeded.admin.call("GET", f"{target}/categories")
    assert again == categories


async def test_import_refuses_what_is_not_an_export(portal: Portal, seeded: Seeded):
    path = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/import"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not an export")
    for raw, content_type, expected in [
        (buffer.getvalue(), "application/zip", 422),
        (b"", "application/zip", 400),
        (b"{}", "application/json", 415),
    ]:
        status, error = await seeded.admin.call(
            "POST", path, raw=raw, headers={"Content-Type": content_type}
        )
        assert status == expected, error
    status, categories = await seeded.admin.call(
        "GET", f"/t/{{t}}/api/admin/guilds/{seeded.guild}/categories"
    )
    assert [c["name"] for c in categories] == ["Support"]
