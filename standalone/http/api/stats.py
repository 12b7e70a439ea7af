"""``GET /admin/guilds/{guild}/stats``: the figures of ``/stats`` for the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from standalone.db.settings import SettingsRepository
from standalone.db.stats import MAX_DAYS, Stats, StatsRepository
from standalone.http.access import require_admin
from standalone.http.api.base import API, ApiRoute, guild_param, json
from standalone.http.deps import deps_of
from standalone.http.errors import invalid
from standalone.tickets.stats import DEFAULT_DAYS, cached_figures


def _days(raw: str | None) -> int:
    if not raw:
        return DEFAULT_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise invalid("days", f"a whole number of days from 1 to {MAX_DAYS}")
    return int(raw)


async def stats_handler(request: web.Request) -> web.Response:
    access = await require_admin(request, guild_param(request))
    deps = deps_of(request)
    days = _days(request.query.get("days"))
    category = request.query.get("category") or None
    if category is not None:
        found = await SettingsRepository(deps.db, access.tenant).category(access.guild_id, category)
        if found is None:
            raise invalid("category", "no category of this server has that key")
    member = request.query.get("member") or None
    if member is not None and not (member.isdigit() and len(member) <= 20):
        raise invalid("member", "a Discord user id")
    figures = await cached_figures(
        deps.coordination.cache,
        StatsRepository(deps.db, access.tenant),
        access.guild_id,
        datetime.now(UTC),
        days,
        category=category,
        member=member,
    )
    return json(figures)


ROUTES = [
    ApiRoute(
        method="GET",
        path=f"{API}/admin/guilds/{{guild}}/stats",
        handler=stats_handler,
        summary="Ticket statistics: counts, average first response, resolution and rating",
        response=Stats,
        tag="stats",
        query=(
            (
                "days",
                f"The window, in days up to now (1 to {MAX_DAYS}, {DEFAULT_DAYS} if left out)",
            ),
            ("category", "Only this category (its key)"),
            (
                "member",
                "Only this staff member's tickets: claimed, or unclaimed and answered first",
            ),
        ),
    ),
]
