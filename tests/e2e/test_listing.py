"""/tickets and /transcript through the stand-in, for everyone who may or may not use them."""

from __future__ import annotations

from tests.e2e.closing_flow import closed
from tests.e2e.conftest import TIMEOUT, eventually
from tests.e2e.test_closing import start
from tests.e2e.test_force_close import force, open_many


async def closed_and_open(discord, stack):
    """The creator's ticket #1 closed (with a transcript) and #2 open."""
    cast = await start(discord, stack)
    first, second = await open_many(discord, stack, cast, 2)
    _, text = await force(discord, cast, cast.staff, {}, first)
    assert text.startswith("Closing ticket #1"), text
    await eventually(lambda: closed(stack, cast.world, 1))
    return cast, second


async def listing(discord, cast, user, options) -> dict:
    inter = await cast.world.actor(discord, user).slash(
        "tickets", options, channel_id=cast.world.support.id
    )
    response = await inter.response(timeout=TIMEOUT)
    if response["type"] == 4:
        return response["data"]
    (followup,) = await inter.followups(count=1, timeout=TIMEOUT)
    return followup


async def test_tickets_lists_open_and_closed_for_whoever_may_see_them(discord, stack):
    cast, second = await closed_and_open(discord, stack)
    mine = await listing(discord, cast, cast.creator, {})
    assert mine["flags"] & 64  # only the caller sees it
    (embed,) = mine["embeds"]
    opened, done = embed["fields"]
    assert opened["name"] == "Open (1)" and opened["value"] == f"<#{second}> topic number 1"
    assert done["name"] == "Recently closed (1)"
    assert done["value"].startswith("Support #1 <t:") and done["value"].endswith("topic number 0")
    assert embed["footer"]["text"].startswith("/transcript")

    for name in ("added member", "other member"):
        refused = await listing(discord, cast, cast.everyone()[name], {"member": cast.creator.id})
        assert refused["content"] == "Only staff can look at another member's tickets.", name
    for name in ("staff", "admin"):
        theirs = await listing(discord, cast, cast.everyone()[name], {"member": cast.creator.id})
        fields = theirs["embeds"][0]["fields"]
        assert [f["name"] for f in fields] == ["Open (1)", "Recently closed (1)"], name
    # Staff of another category see none of this member's tickets in ours.
    billing = await listing(discord, cast, cast.other_staff, {"member": cast.creator.id})
    assert [f["value"] for f in billing["embeds"][0]["fields"]] == ["None.", "None."]
    # Someone without tickets.
    empty = await listing(discord, cast, cast.other, {})
    assert [f["value"] for f in empty["embeds"][0]["fields"]] == ["None.", "None."]


async def test_tickets_stays_within_discord_limits_with_many_and_odd_topics(discord, stack):
    cast = await start(discord, stack)
    await open_many(discord, stack, cast, 1)
    repo_rows = await stack.backends.db.one(
        "SELECT * FROM ticket WHERE tenant = $t;", {"t": cast.world.tenant}
    )
    assert len(repo_rows) == 1
    # Forty closed tickets with long topics full of markdown: the list stays under 1024 per field.
    topic = stack.backends.cipher.encrypt("**bold** `code` " + "x" * 300)
    for number in range(2, 42):
        await stack.backends.db.run(
            "CREATE type::thing('ticket', [$t, $g, $n]) CONTENT {tenant: $t, guild_id: $g, "
            "number: $n, category: type::thing('category', $c), creator_id: $u, "
            "state: 'closed', interaction_id: $i, "
            "created_at: time::now(), closed_at: time::now(), topic: $topic};",
            {
                "t": cast.world.tenant,
                "g": str(cast.world.guild.id),
                "n": number,
                "c": cast.category_key,
                "u": str(cast.creator.id),
                "i": f"made-{number}",
                "topic": topic,
            },
        )
    mine = await listing(discord, cast, cast.creator, {})
    fields = mine["embeds"][0]["fields"]
    assert fields[1]["name"] == "Recently closed (10)"
    assert all(len(f["value"]) <= 1024 for f in fields)
    assert "**bold**" not in fields[1]["value"]  # escaped, so the list renders as a list


async def transcript(discord, cast, user, number: str) -> tuple[str, list]:
    inter = await cast.world.actor(discord, user).slash(
        "transcript", {"ticket": number}, channel_id=cast.world.support.id
    )
    response = await inter.response(timeout=TIMEOUT)
    if response["type"] == 4:
        return response["data"]["content"], []
    (followup,) = await inter.followups(count=1, timeout=TIMEOUT)
    return followup["content"], [a["filename"] for a in followup.get("attachments", [])]


async def test_transcript_for_the_creator_its_staff_and_admins_only(discord, stack):
    cast, _ = await closed_and_open(discord, stack)
    for name in ("creator", "staff", "admin"):
        text, files = await transcript(discord, cast, cast.everyone()[name], "#1")
        assert text == "Transcript of ticket #1.", name
        assert files[0] == "ticket-1.html", name
    for name in ("added member", "other member", "other staff"):
        text, files = await transcript(discord, cast, cast.everyone()[name], "1")
        assert text == (
            "Only the member who opened ticket #1, its staff or an admin can see its transcript."
        ), name
        assert files == []
    assert await transcript(discord, cast, cast.creator, "2") == (
        "Ticket #2 is still open; its transcript is written when it closes.",
        [],
    )
    assert await transcript(discord, cast, cast.admin, "99") == (
        "There is no ticket #99 in this server.",
        [],
    )
    assert await transcript(discord, cast, cast.creator, "one") == (
        "one is not a ticket number.",
        [],
    )


async def test_transcript_suggestions_are_the_callers_closed_tickets(discord, stack):
    cast, _ = await closed_and_open(discord, stack)

    async def suggested(user, typed: str) -> list:
        inter = await cast.world.actor(discord, user).autocomplete(
            "transcript", {"ticket": typed}, "ticket", channel_id=cast.world.support.id
        )
        return (await inter.response(timeout=TIMEOUT))["data"]["choices"]

    assert await suggested(cast.creator, "") == [
        {"name": "Support #1 - topic number 0", "value": "1"}
    ]
    assert [c["value"] for c in await suggested(cast.creator, "#1")] == ["1"]
    assert [c["value"] for c in await suggested(cast.creator, "NUMBER 0")] == ["1"]
    for hostile in (".*", "(", "%", "'", "🎫", "' OR 1=1 --", "$tenant"):
        assert await suggested(cast.creator, hostile) == [], hostile
    assert await suggested(cast.other, "") == []
    # The open ticket is not suggested: it has no transcript yet.
    assert "2" not in [c["value"] for c in await suggested(cast.creator, "2")]


async def test_the_commands_are_registered_in_every_language(discord, stack):
    cast = await start(discord, stack)
    world = cast.world

    def body(name: str) -> dict:
        command = discord.world.find_command(world.app.id, world.guild.id, name, 1)
        assert command is not None, name
        return command.body

    transcript = body("transcript")
    assert transcript["name_localizations"] == {
        "en-GB": "transcript",
        "en-US": "transcript",
        "de": "protokoll",
        "fr": "transcription",
        "es-ES": "transcripción",
    }
    (option,) = transcript["options"]
    assert option["description_localizations"]["de"] == "Ticketnummer"
    tags = body("tags")
    auto = next(o for o in tags["options"] if o["name"] == "auto-reply")
    assert auto["name_localizations"]["fr"] == "réponse-auto"
    assert body("tag")["name_localizations"]["es-ES"] == "etiqueta"
