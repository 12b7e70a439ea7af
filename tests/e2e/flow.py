"""Steps of the ticket flow as members and staff play them through the stand-in."""

from __future__ import annotations

import asyncio
from typing import Any

from emulation.discord import FakeDiscord
from tests.e2e.conftest import TIMEOUT, World


def components(message: Any) -> list[dict[str, Any]]:
    return [c for row in message.components for c in row.get("components", [])]


def button(message: Any, prefix: str) -> str:
    for component in components(message):
        if component.get("custom_id", "").startswith(prefix):
            return str(component["custom_id"])
    raise AssertionError(f"no {prefix} button on message {message.id}")


PIN_NOTICE = 6  # Discord's "pinned a message"; the bot deletes its own when it arrives


def bot_messages(discord: FakeDiscord, world: World, channel_id: int) -> list[Any]:
    """What the bot wrote in a channel; its pin notices (deleted soon after) left out."""
    return [
        m
        for m in discord.messages(channel_id)
        if m.author_id == world.app.bot_user.id and m.type != PIN_NOTICE
    ]


async def post_panel(discord: FakeDiscord, world: World, category_id: int | None = None) -> Any:
    """Staff posts a panel (in an existing channel category if given); returns it."""
    options = {"staff_role": str(world.staff_role.id)}
    if category_id is not None:
        options["category"] = str(category_id)
    inter = await world.actor(discord, world.staff).slash(
        "panel", options, channel_id=world.support.id
    )
    answer = await inter.followups(count=1, timeout=TIMEOUT)
    assert "Panel posted" in answer[-1]["content"]
    return bot_messages(discord, world, world.support.id)[-1]


async def request_form(discord: FakeDiscord, world: World, panel: Any, user: Any) -> dict[str, Any]:
    click = await world.actor(discord, user).click(panel.id, button(panel, "open:"))
    response = await click.response(timeout=TIMEOUT)
    assert response["type"] == 9, response
    return response


async def submit_topic(
    discord: FakeDiscord, world: World, form: dict[str, Any], user: Any, topic: str
) -> Any:
    return await world.actor(discord, user).submit_modal(
        form["data"]["custom_id"], {"topic": topic}, channel_id=world.support.id
    )


async def try_open(discord: FakeDiscord, world: World, panel: Any, topic: str) -> str:
    """Member clicks the panel and submits the form; returns the bot's answer."""
    form = await request_form(discord, world, panel, world.member)
    submit = await submit_topic(discord, world, form, world.member, topic)
    answer = await submit.followups(count=1, timeout=TIMEOUT)
    return str(answer[-1]["content"])


async def open_ticket(discord: FakeDiscord, world: World, panel: Any, topic: str) -> int:
    """Member opens a ticket; returns the new channel's id."""
    content = await try_open(discord, world, panel, topic)
    assert content.startswith("Your ticket is open: <#"), content
    return int(content.split("<#")[1].rstrip(">"))


async def close_with_approval(
    discord: FakeDiscord, world: World, channel_id: int, requester: Any, approver: Any
) -> None:
    """One side presses Close on the opening message, the other accepts the request."""
    opening = bot_messages(discord, world, channel_id)[0]
    ask = await world.actor(discord, requester).click(opening.id, button(opening, "close:"))
    await ask.followups(count=1, timeout=TIMEOUT)

    def request() -> Any:
        for message in reversed(bot_messages(discord, world, channel_id)):
            if any(c.get("custom_id", "").startswith("closeyes:") for c in components(message)):
                return message
        return None

    async with asyncio.timeout(TIMEOUT):
        while (found := request()) is None:
            await asyncio.sleep(0.02)
    accept = await world.actor(discord, approver).click(found.id, button(found, "closeyes:"))
    await accept.followups(count=1, timeout=TIMEOUT)
