"""Categories and questions through the API: the rules of /category and /question."""

from __future__ import annotations

from .conftest import Portal, Seeded

CATEGORY_CHANNEL = 4


async def test_a_new_category_gets_its_discord_category(portal: Portal, seeded: Seeded):
    world = portal.worlds["red"]
    path = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/categories"
    status, made = await seeded.admin.call(
        "POST",
        path,
        {"name": " Billing ", "staff_roles": [str(world.staff_role.id)], "member_limit": 2},
    )
    assert status == 201, made
    assert made["name"] == "Billing" and made["member_limit"] == 2
    channel = portal.discord.channel(int(made["discord_category"]))
    assert channel is not None and channel.type == CATEGORY_CHANNEL and channel.name == "Billing"
    status, listed = await seeded.admin.call("GET", path)
    assert [c["name"] for c in listed] == ["Support", "Billing"]
    # An existing Discord category is used as given.
    mine = portal.discord.add_channel(world.guild.id, "Mine", type=CATEGORY_CHANNEL)
    status, given = await seeded.admin.call(
        "POST", path, {"name": "Given", "discord_category": str(mine.id)}
    )
    assert status == 201 and given["discord_category"] == str(mine.id)


async def test_category_rules(portal: Portal, seeded: Seeded):
    world = portal.worlds["red"]
    path = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/categories"
    status, error = await seeded.admin.call("POST", path, {"name": "support"})
    assert status == 409 and error["error"]["field"] == "name"
    for body, field in [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"name": "T", "mode": "thread"}, "thread_channel"),
        ({"name": "T", "staff_roles": ["999"]}, "staff_roles.0"),
        ({"name": "T", "discord_category": str(world.support.id)}, "discord_category"),
        ({"name": "T", "slowmode_s": 21601}, "slowmode_s"),
        ({"name": "T", "image": "http://insecure"}, "image"),
        ({"staff_roles": []}, "name"),
    ]:
        status, error = await seeded.admin.call("POST", path, body)
        assert status == 422, (body, error)
        assert error["error"]["field"] == field, (body, error)
    status, listed = await seeded.admin.call("GET", path)
    assert [c["name"] for c in listed] == ["Support"]  # none of those was saved


async def test_at_most_25_categories(portal: Portal, seeded: Seeded):
    world = portal.worlds["red"]
    holder = portal.discord.add_channel(world.guild.id, "Holder", type=CATEGORY_CHANNEL)
    path = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/categories"
    for n in range(24):
        status, _ = await seeded.admin.call(
            "POST", path, {"name": f"Kind {n}", "discord_category": str(holder.id)}
        )
        assert status == 201
    status, error = await seeded.admin.call(
        "POST", path, {"name": "One too many", "discord_category": str(holder.id)}
    )
    assert status == 409 and "at most 25" in error["error"]["message"]


async def test_edit_and_delete_a_category(portal: Portal, seeded: Seeded):
    one = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/categories/{seeded.category}"
    status, changed = await seeded.admin.call(
        "PATCH", one, {"name": "Help", "cooldown_ms": 60_000, "archive": None}
    )
    assert status == 200 and changed["name"] == "Help" and changed["cooldown_ms"] == 60_000
    status, error = await seeded.admin.call("PATCH", one, {"name": "Other", "member_limit": 0})
    assert status == 422 and error["error"]["field"] == "member_limit"
    status, detail = await seeded.admin.call("GET", one)
    assert detail["category"]["name"] == "Help"  # the good half was not saved either
    assert [q["label"] for q in detail["questions"]] == ["What happened?"]
    status, error = await seeded.admin.call("PATCH", one, {"custom_topic": "nope"})
    assert status == 422 and error["error"]["field"] == "custom_topic"
    assert (await seeded.admin.call("DELETE", one))[0] == 204
    assert (await seeded.admin.call("GET", one))[0] == 404
    assert (await seeded.admin.call("DELETE", one))[0] == 404


async def test_another_servers_category_key_is_not_found(portal: Portal, seeded: Seeded):
    blue = portal.worlds["blue"]
    blue_admin = await portal.login("blue", blue.staff)
    status, theirs = await blue_admin.call(
        "POST", f"/t/{{t}}/api/admin/guilds/{blue.guild.id}/categories", {"name": "Blue"}
    )
    assert status == 201
    # Red's admin names blue's category under red's server: not found, not changed.
    one = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/categories/{theirs['key']}"
    assert (await seeded.admin.call("GET", one))[0] == 404
    assert (await seeded.admin.call("PATCH", one, {"name": "Mine"}))[0] == 404
    assert (await seeded.admin.call("DELETE", one))[0] == 404
    status, still = await blue_admin.call(
        "GET", f"/t/{{t}}/api/admin/guilds/{blue.guild.id}/categories/{theirs['key']}"
    )
    assert status == 200 and still["category"]["name"] == "Blue"


async def test_questions_add_reorder_delete(portal: Portal, seeded: Seeded):
    base = f"/t/{{t}}/api/admin/guilds/{seeded.guild}/categories/{seeded.category}"
    keys = [seeded.question]
    for label in ("Order number?", "Which product?", "Since when?", "Anything else?"):
        body = {"label": label}
        if label == "Which product?":
            body |= {"kind": "select", "options": ["Printer", "Scanner"]}
        status, made = await seeded.admin.call("POST", f"{base}/questions", body)
        assert status == 201, made
        keys.append(made["key"])
    status, error = await seeded.admin.call("POST", f"{base}/questions", {"label": "Sixth?"})
    assert status == 409 and "at most 5" in error["error"]["message"]
    status, error = await seeded.admin.call(
        "PATCH", f"{base}/questions/{keys[1]}", {"kind": "select"}
    )
    assert status == 422 and error["error"]["field"] == "options"
    status, error = await seeded.admin.call(
        "PATCH", f"{base}/questions/{keys[1]}", {"min_length": 50, "max_length": 10}
    )
    assert status == 422 and error["error"]["field"] == "min_length"
    status, ordered = await seeded.admin.call(
        "PUT", f"{base}/question-order", {"keys": list(reversed(keys))}
    )
    assert status == 200 and [q["key"] for q in ordered] == list(reversed(keys))
    status, error = await seeded.admin.call("PUT", f"{base}/question-order", {"keys": keys[:2]})
    assert status == 422 and error["error"]["field"] == "keys"
    status, _ = await seeded.admin.call(
        "PATCH", f"{base}/questions/{keys[2]}", {"use_as_topic": True, "label": "Product"}
    )
    status, detail = await seeded.admin.call("GET", base)
    assert detail["category"]["custom_topic"] == keys[2]
    assert [q["label"] for q in detail["questions"]][2] == "Product"
    assert (await seeded.admin.call("DELETE", f"{base}/questions/{keys[2]}"))[0] == 204
    status, detail = await seeded.admin.call("GET", base)
    assert detail["category"]["custom_topic"] is None  # the topic question is gone
    assert len(detail["questions"]) == 4
    assert (await seeded.admin.call("DELETE", f"{base}/questions/{keys[2]}"))[0] == 404
