"""GET /guilds/{id}/members: pages by user id, checked against the spec, behind the intent."""

from __future__ import annotations

from emulation.discord import FakeDiscord

from .conftest import Api, Setup
from .test_openapi import CheckedApi

MEMBERS = "/guilds/{guild_id}/members"


async def test_members_are_listed_a_page_at_a_time(fd: FakeDiscord, setup: Setup, api: Api):
    for n in range(3):
        fd.add_member(setup.guild.id, f"member-{n}")
    everyone = sorted(fd.world.guild(setup.guild.id).members)
    checked = CheckedApi(api)
    first = await checked("GET", MEMBERS, guild_id=setup.guild.id, query="?limit=2")
    assert [int(m["user"]["id"]) for m in first] == everyone[:2]
    rest = await checked(
        "GET", MEMBERS, guild_id=setup.guild.id, query=f"?limit=1000&after={everyone[1]}"
    )
    assert [int(m["user"]["id"]) for m in rest] == everyone[2:]
    assert checked.problems == []
    await checked("GET", MEMBERS, guild_id=setup.guild.id, query="?limit=1001", expect=400)


async def test_without_the_members_intent_the_list_is_refused(
    fd: FakeDiscord, setup: Setup, api: Api
):
    setup.app.allowed_intents &= ~(1 << 1)
    status, body, _ = await api.call("GET", f"/guilds/{setup.guild.id}/members?limit=5")
    assert (status, body["code"]) == (403, 50001)
