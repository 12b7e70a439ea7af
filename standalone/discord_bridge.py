"""The one place that touches disnake's private connection state.

Workers own no gateway socket: gateway events reach disnake's command framework
from the stream, through here. An upgrade of disnake should only touch this module.
"""

from __future__ import annotations

from typing import Any

import disnake
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction
from disnake.interactions.base import Interaction
from disnake.interactions.message import MessageInteraction
from disnake.interactions.modal import ModalInteraction


class MalformedEvent(ValueError):
    """A gateway payload that disnake cannot turn into an object."""


class StreamBot(commands.InteractionBot):
    """An InteractionBot fed from the event stream instead of its own websocket."""

    def _schedule_app_command_preparation(self) -> None:
        # disnake would wait for a gateway READY that never comes here; commands are
        # synced explicitly by ``sync_commands`` instead.
        return


def point_at(api_base: str) -> None:
    """Send every REST call (bot, interaction callbacks, webhooks) to ``api_base``.

    disnake keeps the base on a class attribute, so it is one value per process:
    all tenants of a deployment talk to the same Discord.
    """
    disnake.http.Route.BASE = api_base.rstrip("/")


def make_bot(application_id: int) -> StreamBot:
    """A bot that handles interactions and REST for one tenant."""
    return StreamBot(
        application_id=application_id,
        owner_id=0,
        # No socket of its own; guilds keeps disnake's state from warning.
        intents=disnake.Intents(guilds=True),
        command_sync_flags=commands.CommandSyncFlags.none(),
    )


async def sync_commands(bot: StreamBot) -> None:
    """Register the bot's application commands globally (one bulk overwrite)."""
    bodies = [command.body for command in bot.application_commands]
    await bot.bulk_overwrite_global_commands(bodies)
    # disnake checks incoming guild-command ids against its cache; global ones are
    # looked up by name, so nothing more is needed.


def to_interaction(bot: StreamBot, payload: dict[str, Any]) -> Interaction[Any]:
    """Build disnake's interaction object; raises MalformedEvent on a bad payload."""
    state = bot._connection
    kind = payload.get("type") if isinstance(payload, dict) else None
    classes: dict[int, type[Interaction[Any]]] = {
        2: ApplicationCommandInteraction,
        3: MessageInteraction,
        4: ApplicationCommandInteraction,
        5: ModalInteraction,
    }
    cls = classes.get(kind) if isinstance(kind, int) else None
    if cls is None:
        raise MalformedEvent(f"unsupported interaction type {kind!r}")
    try:
        return cls(data=payload, state=state)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedEvent(f"malformed interaction payload: {exc!r}") from None


def member_role_ids(member: disnake.Member | disnake.User) -> set[int]:
    """Role ids of an interaction's member, without needing its guild cached."""
    if isinstance(member, disnake.Member):
        return set(member._roles)
    return set()
