"""Hypothesis through the whole stack: forged clicks, menu choices and modal submits.

A modified client can send any custom id and any form fields. Each generated
interaction goes through the stand-in's gateway to the bot, which must answer it
(never a crash that dead-letters it unanswered); a custom id the bot never made is
refused with the database untouched; and after every case no ticket is left half
open and every live ticket has its channel.
"""

from __future__ import annotations

import asyncio
import copy
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from standalone import keys
from standalone.db.tickets import TicketRepository
from standalone.tickets import custom_ids
from tests.e2e.conftest import TIMEOUT, eventually, make_world
from tests.e2e.flow import button, post_panel
from tests.fuzzing import VARIANTS, count, enough, fuzz_settings, snapshot

COMPONENT, MODAL_SUBMIT = 3, 5
TEXT = st.text(max_size=60) | st.text(string.printable, min_size=5, max_size=30)


def custom_id_strategy(category: str) -> st.SearchStrategy[str]:
    argument = st.one_of(
        st.just(category),
        st.integers(0, 12).map(str),
        st.sampled_from(["n", "t1", "m1-2", "d3-4", "stale", "1.2", "x" * 70]),
        st.text(string.ascii_letters + string.digits + "_-.", max_size=20),
    )
    made = st.builds(
        lambda action, parts: f"{action}:{'.'.join(parts)}",
        st.sampled_from(sorted(custom_ids.ACTIONS)),
        st.lists(argument, min_size=1, max_size=3),
    )
    return made | st.text(max_size=110)


def fields_strategy() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(
        st.sampled_from(["topic", "rating", "comment", "q1"]) | st.text(max_size=8),
        TEXT | st.lists(TEXT, max_size=3),
        max_size=3,
    )


def modal_rows(fields: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, value in fields.items():
        if isinstance(value, list):
            rows.append({"type": 18, "component": {"type": 3, "custom_id": key, "values": value}})
        else:
            rows.append({"type": 18, "component": {"type": 4, "custom_id": key, "value": value}})
    return rows


@pytest.mark.parametrize("variant", VARIANTS)
async def test_forged_interactions_are_answered_and_leave_no_half_ticket(
    discord, stack, variant: str
) -> None:
    name = f"interactions [{variant}]"
    world = make_world(discord, "fuzz")
    await stack.add(world)
    await stack.start()
    panel = await post_panel(discord, world)
    category = button(panel, "open:").split(":", 1)[1]
    click = await world.actor(discord, world.member).click(panel.id, button(panel, "open:"))
    await click.response(timeout=TIMEOUT)
    template = copy.deepcopy(click.payload)
    db = stack.backends.db
    tickets = TicketRepository(db, world.tenant)
    dead = keys.dead_letters(world.tenant)
    streams = stack.backends.coordination.streams
    loop = asyncio.get_running_loop()

    async def one(kind: int, custom_id: str, fields: dict[str, Any], values: list[str]) -> None:
        ours = True
        try:
            custom_ids.parse(custom_id)
        except custom_ids.BadCustomId:
            ours = False
        before = await snapshot(db) if not ours else None
        payload = copy.deepcopy(template)
        new_id = discord.world.ids.next()
        payload.update(id=str(new_id), token=discord.world.new_interaction_token(new_id), type=kind)
        if kind == COMPONENT:
            data: dict[str, Any] = {"custom_id": custom_id, "component_type": 2}
            if values:
                data.update(component_type=3, values=values)
        else:
            payload.pop("message", None)
            data = {"custom_id": custom_id, "components": modal_rows(fields)}
        payload["data"] = data
        await discord.dispatch(world.app.id, "INTERACTION_CREATE", payload)
        inter = discord.interaction(new_id)
        assert inter is not None
        answer = await inter.response(timeout=TIMEOUT)
        if answer["type"] == 5:  # deferred: the answer follows
            await inter.followups(count=1, timeout=TIMEOUT)
        else:
            assert answer["type"] == 9 or answer["data"].get("content"), answer
        assert await streams.length(dead) == 0, f"dead-lettered: {payload['data']}"
        if before is not None:
            assert "not from this bot" in str(answer["data"].get("content")), answer
            assert await snapshot(db) == before, f"{custom_id!r} was refused but wrote"
        for ticket in await tickets.tickets():
            assert ticket.state in {"open", "closed"}, ticket
            if ticket.state == "open":
                assert ticket.channel_id and discord.channel(int(ticket.channel_id)), ticket

    @fuzz_settings(variant, 25, 800)
    @given(
        st.sampled_from([COMPONENT, MODAL_SUBMIT]),
        custom_id_strategy(category),
        fields_strategy(),
        st.lists(TEXT, max_size=2),
    )
    def check(kind: int, custom_id: str, fields: dict[str, Any], values: list[str]) -> None:
        count(name)
        asyncio.run_coroutine_threadsafe(one(kind, custom_id, fields, values), loop).result(90)

    await asyncio.to_thread(check)
    enough(name, variant, 25, 800)
    # Still up: a real open works.
    assert await eventually(lambda: _answered(discord, world, panel))


async def _answered(discord, world, panel) -> bool:
    click = await world.actor(discord, world.other).click(panel.id, button(panel, "open:"))
    return (await click.response(timeout=TIMEOUT))["type"] in (4, 9)


async def test_a_menu_choice_that_names_no_category_is_refused(discord, stack) -> None:
    """Found by the fuzzing above: an empty value failed the database query, five times,
    and the interaction went unanswered to the dead letters."""
    world = make_world(discord, "fuzz")
    await stack.add(world)
    await stack.start()
    panel = await post_panel(discord, world)
    click = await world.actor(discord, world.member).click(panel.id, button(panel, "open:"))
    await click.response(timeout=TIMEOUT)
    for value in ("", "../x", "a" * 80):
        payload = copy.deepcopy(click.payload)
        new_id = discord.world.ids.next()
        payload.update(id=str(new_id), token=discord.world.new_interaction_token(new_id))
        payload["data"] = {"custom_id": "pick:p", "component_type": 3, "values": [value]}
        await discord.dispatch(world.app.id, "INTERACTION_CREATE", payload)
        inter = discord.interaction(new_id)
        assert inter is not None
        answer = await inter.response(timeout=TIMEOUT)
        assert "no longer exists" in answer["data"]["content"], answer
    assert await stack.backends.coordination.streams.length(keys.dead_letters(world.tenant)) == 0
