"""Interactions the stand-in's actors cannot make: bad modal answers, clicks in DMs."""

from __future__ import annotations

import copy
from typing import Any

from emulation.discord import FakeDiscord, payloads
from tests.e2e.conftest import World

MODAL_SUBMIT = 5
COMPONENT = 3


async def forge(
    discord: FakeDiscord, world: World, template: dict[str, Any], data: dict[str, Any], kind: int
) -> Any:
    """A new interaction like ``template`` (an earlier one of the same person and place)."""
    payload = copy.deepcopy(template)
    new_id = discord.world.ids.next()
    payload.update(
        id=str(new_id),
        token=discord.world.new_interaction_token(new_id),
        type=kind,
        data=data,
    )
    payload.pop("message", None)
    await discord.dispatch(world.app.id, "INTERACTION_CREATE", payload)
    found = discord.interaction(new_id)
    assert found is not None
    return found


async def submit_raw(
    discord: FakeDiscord,
    world: World,
    template: dict[str, Any],
    custom_id: str,
    fields: dict[str, Any],
) -> Any:
    """A modal submit with any values at all, as a modified client could send."""
    rows = []
    for key, value in fields.items():
        if isinstance(value, list):
            rows.append({"type": 18, "component": {"type": 3, "custom_id": key, "values": value}})
        else:
            rows.append({"type": 18, "component": {"type": 4, "custom_id": key, "value": value}})
    return await forge(
        discord, world, template, {"custom_id": custom_id, "components": rows}, MODAL_SUBMIT
    )


async def click_in_dm(
    discord: FakeDiscord, world: World, user: Any, message: Any, custom_id: str
) -> Any:
    """A user clicks a button on a message the bot sent them by DM."""
    new_id = discord.world.ids.next()
    rendered = payloads.message(discord.world, message)
    payload = {
        "id": str(new_id),
        "application_id": str(world.app.id),
        "type": COMPONENT,
        "token": discord.world.new_interaction_token(new_id),
        "version": 1,
        "channel_id": str(message.channel_id),
        "channel": {"id": str(message.channel_id), "type": 1},
        "user": payloads.user(discord.world, user.id),
        "data": {"custom_id": custom_id, "component_type": 2},
        "message": rendered,
        "app_permissions": "0",
        "attachment_size_limit": payloads.ATTACHMENT_SIZE_LIMIT,
        "locale": "en-GB",
        "entitlements": [],
        "authorizing_integration_owners": {"1": str(user.id)},
        "context": 1,
    }
    await discord.dispatch(world.app.id, "INTERACTION_CREATE", payload)
    found = discord.interaction(new_id)
    assert found is not None
    return found
