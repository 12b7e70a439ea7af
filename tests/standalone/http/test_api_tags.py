"""Tags through the API: unique names per server, safe patterns."""

from __future__ import annotations

from .conftest import Portal, Seeded


async def test_tags_create_edit_delete(portal: Portal, seeded: Seeded):
    path = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/tags"
    status, made = await seeded.admin.call(
        "POST", path, {"name": "refund", "content": "See the refund policy.", "regex": "refund"}
    )
    assert status == 201 and made["regex"] == "refund"
    status, error = await seeded.admin.call("POST", path, {"name": "Refund", "content": "again"})
    assert status == 409 and error["error"]["field"] == "name"
    status, error = await seeded.admin.call("PATCH", f"{path}/{made['key']}", {"name": "hello"})
    assert status == 409  # hello is the seeded tag
    status, changed = await seeded.admin.call(
        "PATCH", f"{path}/{made['key']}", {"regex": None, "content": "Policy: ..."}
    )
    assert status == 200 and changed["regex"] is None and changed["content"] == "Policy: ..."
    status, listed = await seeded.admin.call("GET", path)
    assert [t["name"] for t in listed] == ["hello", "refund"]
    assert (await seeded.admin.call("DELETE", f"{path}/{made['key']}"))[0] == 204
    assert (await seeded.admin.call("GET", f"{path}/{made['key']}"))[0] == 404


async def test_patterns_are_checked(portal: Portal, seeded: Seeded):
    path = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/tags"
    for body, field in [
        ({"name": "a", "content": "b", "regex": "(unclosed"}, "regex"),
        ({"name": "a", "content": "b", "regex": "x" * 201}, "regex"),
        ({"name": "", "content": "b"}, "name"),
        ({"name": "a", "content": ""}, "content"),
        ({"name": "a" * 33, "content": "b"}, "name"),
    ]:
        status, error = await seeded.admin.call("POST", path, body)
        assert status == 422, (body, error)
        assert error["error"]["field"] == field, error
    status, listed = await seeded.admin.call("GET", path)
    assert [t["name"] for t in listed] == ["hello"]


async def test_tags_are_per_server(portal: Portal, seeded: Seeded):
    blue = portal.worlds["blue"]
    blue_admin = await portal.login("blue", blue.staff)
    status, _ = await blue_admin.call(
        "POST", f"/t/{{t}}/api/admin/guilds/{blue.guild.id}/tags", {"name": "hello", "content": "b"}
    )
    assert status == 201  # the same name in another server is fine
    status, theirs = await blue_admin.call("GET", f"/t/{{t}}/api/admin/guilds/{blue.guild.id}/tags")
    assert [t["content"] for t in theirs] == ["b"]
    status, _ = await seeded.admin.call(
        "GET", f"/t/{{t}}/api/admin/guilds/{seeded.guild}/tags/{theirs[0]['key']}"
    )
    assert status == 404
