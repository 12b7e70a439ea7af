"""v4's live figures (average response, resolution, rating), localised and cached.

Opening messages show a category's figures; the bot's rotating activity shows the
tenant's. Both are computed over closed tickets and kept in the coordination
cache for at most an hour (v4 cached them an hour too), so opening a ticket
never waits for the averages of thousands of tickets.
"""

from __future__ import annotations

from datetime import timedelta

import msgspec
from babel.dates import format_timedelta
from babel.numbers import format_decimal

from emulation.ports import Cache
from standalone import keys
from standalone.db.tickets import CategoryStats, TicketRepository
from standalone.i18n import normalise, t

FIGURES_TTL_MS = 3600 * 1000


def _babel(locale: str | None) -> str:
    return normalise(locale).replace("-", "_")


def duration(seconds: float | None, locale: str | None) -> str:
    """``20 minutes``, ``3 Stunden``: one rounded unit in the reader's language."""
    if seconds is None:
        return t(locale, "presence.figure_unknown")
    return str(format_timedelta(timedelta(seconds=seconds), locale=_babel(locale)))


def rating(value: float | None, locale: str | None) -> str:
    """``3.5`` or ``3,5`` out of 5."""
    if value is None:
        return t(locale, "presence.figure_unknown")
    return str(format_decimal(value, format="0.0", locale=_babel(locale)))


def stat_values(stats: CategoryStats, locale: str | None) -> dict[str, str]:
    """The placeholders the figures fill, by their v4 names."""
    return {
        "{avgResponseTime}": duration(stats.response_s, locale),
        "{avgResolutionTime}": duration(stats.resolution_s, locale),
        "{avgRating}": rating(stats.rating, locale),
    }


async def category_figures(
    cache: Cache, tickets: TicketRepository, guild_id: str, category_key: str
) -> CategoryStats:
    """A category's figures, from the cache when computed within the hour."""
    key = keys.category_figures(tickets.tenant, guild_id, category_key)
    stored = await cache.get(key)
    if stored is not None:
        try:
            return msgspec.msgpack.decode(stored, type=CategoryStats)
        except msgspec.DecodeError:
            pass  # written by another release: computed afresh
    stats = await tickets.category_stats(guild_id, category_key)
    await cache.set(key, msgspec.msgpack.encode(stats), ttl_ms=FIGURES_TTL_MS)
    return stats
