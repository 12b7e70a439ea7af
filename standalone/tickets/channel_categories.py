"""The Discord channel category a ticket category's channels go under, made once."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal, cast

import disnake

from standalone import keys
from standalone.db.records import Category
from standalone.i18n import Text
from standalone.tickets import locks
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError

CATEGORY_CHANNEL: Literal[4] = 4  # disnake.ChannelType.category
# The mark of a category this bot made: its own member overwrite, exactly this one
# (view only, nothing denied), so it is found again after a crash. An admin who lets
# the bot into a category of theirs grants it more (manage channels, send, ...).
MARK = disnake.Permissions(view_channel=True).value
CATEGORY_LOCK_MS = 10_000


@contextlib.asynccontextmanager
async def guild_categories_locked(
    ctx: TicketContext, guild_id: str, interaction_id: int
) -> AsyncIterator[None]:
    """One new category at a time per server, so two at once cannot pass the count.

    The database lets two transactions both count 24 categories and both add one;
    a 26th category would be missing from every menu (Discord lists 25 options).
    """
    key = keys.category_lock(ctx.tenant, guild_id)
    try:
        async with locks.held(
            ctx.cache, key, str(interaction_id), ttl_ms=CATEGORY_LOCK_MS, wait_s=5.0
        ):
            yield
    except locks.Busy:
        raise TicketError(Text("channel_categories.busy")) from None


async def made_category(
    ctx: TicketContext, guild_id: int, category: Category, interaction_id: int
) -> str:
    """The id of the Discord category made for ``category`` by this interaction.

    The category row (with the interaction id) is saved before Discord is asked, so
    a delivery that died after Discord made the channel but before the row noted it
    is retried with the row in hand: the retry looks for the channel first and adopts
    it instead of leaving it behind as an orphan next to a second one.
    """
    found = await _find(ctx, guild_id, category, interaction_id)
    if found is not None:
        return found
    created = await ctx.bot.http.create_channel(
        guild_id,
        CATEGORY_CHANNEL,
        name=category.name[:100],
        permission_overwrites=[{"id": str(ctx.bot_id), "type": 1, "allow": str(MARK), "deny": "0"}],
        reason="Ticket category",
    )
    return str(created["id"])


async def _find(
    ctx: TicketContext, guild_id: int, category: Category, interaction_id: int
) -> str | None:
    me = str(ctx.bot_id)
    taken = {c.discord_category for c in await ctx.settings.categories(str(guild_id))}
    channels = cast(list[dict[str, Any]], await ctx.bot.http.get_all_guild_channels(guild_id))
    for channel in channels:
        # Snowflakes grow with time: a channel older than the interaction was not
        # made for it, whatever its name.
        if (
            int(channel.get("type", -1)) != CATEGORY_CHANNEL
            or int(channel["id"]) <= interaction_id
            or channel.get("name") != category.name[:100]
            or str(channel["id"]) in taken
        ):
            continue
        overwrites = cast(list[dict[str, Any]], channel.get("permission_overwrites") or [])
        if any(_is_mark(o, me) for o in overwrites):
            return str(channel["id"])
    return None


def _is_mark(overwrite: dict[str, Any], me: str) -> bool:
    return (
        str(overwrite.get("id")) == me
        and int(overwrite.get("type", 0)) == 1
        and int(overwrite.get("allow", 0)) == MARK
        and int(overwrite.get("deny", 0)) == 0
    )
