"""The bot's rotating activity ("Watching 3 open tickets"), set by each shard's owner.

Every ``interval_s`` the next configured activity is filled with the tenant's live
figures and sent as a presence update (gateway op 3) on every shard this instance
holds; a shard taken over later sends it with its IDENTIFY. Figures come from the
database through the coordination cache (a few minutes old at most), and the
guild count from what each shard's owner saw (READY, GUILD_CREATE, GUILD_DELETE).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import msgspec

from emulation.ports import Cache
from standalone import keys
from standalone.db.tickets import CategoryStats, TicketRepository
from standalone.presence_config import ACTIVITY_TYPES, Activity, PresenceConfig
from standalone.tickets import figures

log = logging.getLogger(__name__)

FIGURES_TTL_MS = 5 * 60 * 1000  # within v4's hour, fresher for a status line
RECENT_CLOSED = 500  # averages over the latest closed tickets, like a category's


class TenantFigures(msgspec.Struct, frozen=True, kw_only=True):
    """What the activity placeholders show."""

    total: int = 0
    open: int = 0
    stats: CategoryStats = CategoryStats()


class _Unavailable(msgspec.Struct):
    id: str
    unavailable: bool = False


class _Ready(msgspec.Struct):
    guilds: list[_Unavailable] = []


class GuildCounter:
    """The guilds each shard held here is in; the count per shard goes to the cache."""

    def __init__(self, cache: Cache, tenant: str) -> None:
        self.cache = cache
        self.tenant = tenant
        self._guilds: dict[int, set[str]] = {}

    async def observe(self, shard: int, event: str, data: bytes) -> None:
        """Count READY's guilds, then joins and removals (not outages)."""
        guilds = self._guilds.setdefault(shard, set())
        try:
            if event == "READY":
                guilds.clear()
                guilds.update(g.id for g in msgspec.json.decode(data, type=_Ready).guilds)
            elif event == "GUILD_CREATE":
                guilds.add(msgspec.json.decode(data, type=_Unavailable).id)
            elif event == "GUILD_DELETE":
                gone = msgspec.json.decode(data, type=_Unavailable)
                if gone.unavailable:
                    return  # an outage: still a member
                guilds.discard(gone.id)
            else:
                return
        except msgspec.DecodeError:
            return
        await self.cache.set(keys.shard_guilds(self.tenant, shard), str(len(guilds)).encode())


async def guild_total(cache: Cache, tenant: str, shard_count: int) -> int:
    """The guilds of every shard, as their owners last counted them."""
    counts = await cache.get_many([keys.shard_guilds(tenant, s) for s in range(shard_count)])
    return sum(int(c) for c in counts if c is not None and c.isdigit())


async def tenant_figures(cache: Cache, tickets: TicketRepository) -> TenantFigures:
    """Ticket counts and averages of the whole tenant, cached for a few minutes."""
    key = keys.bot_figures(tickets.tenant)
    stored = await cache.get(key)
    if stored is not None:
        try:
            return msgspec.msgpack.decode(stored, type=TenantFigures)
        except msgspec.DecodeError:
            pass
    result = await tickets.database.run(
        "RETURN count((SELECT VALUE id FROM ticket WHERE tenant = $tenant AND state != 'opening'));"
        "RETURN count((SELECT VALUE id FROM ticket WHERE tenant = $tenant "
        "AND state IN ['open', 'closing']));"
        "SELECT created_at, first_response_at, closed_at FROM ticket "
        "WHERE tenant = $tenant AND state = 'closed' ORDER BY closed_at DESC LIMIT $limit;"
        "RETURN math::mean((SELECT VALUE rating FROM feedback WHERE tenant = $tenant));",
        {"tenant": tickets.tenant, "limit": RECENT_CLOSED},
    )
    rows: list[dict[str, Any]] = result[2] or []
    responses = [
        (r["first_response_at"] - r["created_at"]).total_seconds()
        for r in rows
        if r.get("first_response_at")
    ]
    resolutions = [
        (r["closed_at"] - r["created_at"]).total_seconds() for r in rows if r.get("closed_at")
    ]
    rating = result[3]
    found = TenantFigures(
        total=int(result[0] or 0),
        open=int(result[1] or 0),
        stats=CategoryStats(
            response_s=sum(responses) / len(responses) if responses else None,
            resolution_s=sum(resolutions) / len(resolutions) if resolutions else None,
            # The mean of no ratings is NaN, which is not equal to itself.
            rating=float(rating) if isinstance(rating, int | float) and rating == rating else None,
        ),
    )
    await cache.set(key, msgspec.msgpack.encode(found), ttl_ms=FIGURES_TTL_MS)
    return found


def fill(template: str, found: TenantFigures, guilds: int, locale: str) -> str:
    """v4's presence placeholders; anything else in braces stays as typed."""
    values = {
        "{totalTickets}": str(found.total),
        "{openTickets}": str(found.open),
        "{guilds}": str(guilds),
        **figures.stat_values(found.stats, locale),
    }
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template


def presence_payload(activity: Activity, text: str, status: str) -> dict[str, Any]:
    """Gateway op 3 data for one activity."""
    kind = ACTIVITY_TYPES[activity.type]
    shown: dict[str, Any] = {"name": text[:128], "type": kind}
    if activity.type == "custom":
        # A custom status shows ``state``; Discord wants this fixed name beside it.
        shown = {"name": "Custom Status", "type": kind, "state": text[:128]}
    return {"since": None, "activities": [shown], "status": status, "afk": False}


class BotPresence:
    """Rotates one tenant's activity on the shards a gateway service holds."""

    def __init__(
        self,
        *,
        tenant: str,
        settings: PresenceConfig,
        cache: Cache,
        tickets: TicketRepository,
        shards: Any,
    ) -> None:
        # ``shards``: the GatewayService (its held shard connections and shard count).
        self.tenant = tenant
        self.settings = settings.for_tenant(tenant)
        self.cache = cache
        self.tickets = tickets
        self.shards = shards
        self.sent = 0

    async def run(self, stopping: asyncio.Event) -> None:
        """Rotate until ``stopping`` is set; a failed round is logged and retried."""
        settings = self.settings
        if not settings.enabled or not settings.activities:
            return
        turn = 0
        while not stopping.is_set():
            try:
                await self.show(settings.activities[turn % len(settings.activities)])
                turn += 1
            except Exception:
                # A status line must never take the gateway (its task group) down.
                log.exception("tenant %s: presence not updated", self.tenant)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), settings.interval_s)

    async def show(self, activity: Activity) -> None:
        """Fill ``activity`` and send it on every shard held here."""
        held = list(self.shards.shards)
        if not held:
            return
        found = await tenant_figures(self.cache, self.tickets)
        guilds = await guild_total(self.cache, self.tenant, self.shards.shard_count)
        text = fill(activity.name, found, guilds, self.settings.locale)
        payload = presence_payload(activity, text, self.settings.status)
        for shard in held:
            await shard.send_presence(payload)
        self.sent += 1
