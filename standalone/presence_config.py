"""The ``[presence]`` section: the bot's rotating activity, for every tenant or one.

```toml
[presence]
activities = [
  { name = "/new to open a ticket" },
  { name = "{openTickets} open tickets", type = "watching" },
]
interval_s = 60
status = "online"

[presence.tenants.sales-bot]      # only this tenant
activities = [{ name = "{avgResolutionTime} to solve", type = "custom" }]
status = "idle"
```
"""

from __future__ import annotations

from typing import Literal

import msgspec

ActivityType = Literal["playing", "listening", "watching", "competing", "custom"]
Status = Literal["online", "idle", "dnd", "invisible"]
# Discord's activity type numbers (1, streaming, needs a Twitch or YouTube URL: left out).
ACTIVITY_TYPES: dict[str, int] = {
    "playing": 0,
    "listening": 2,
    "watching": 3,
    "custom": 4,
    "competing": 5,
}
# Discord allows 5 presence updates a minute per shard, and the gateway's 120 sends a
# minute are shared with heartbeats: a shorter rotation only gets the shard limited.
MIN_INTERVAL_S = 15.0


class Activity(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One activity: text with placeholders, and how Discord labels it."""

    name: str
    type: ActivityType = "playing"

    def __post_init__(self) -> None:
        if not 1 <= len(self.name) <= 128:
            raise ValueError("presence: an activity name must be 1 to 128 characters long")


def _default_activities() -> list[Activity]:
    return [
        Activity(name="/new", type="listening"),
        Activity(name="{openTickets} open tickets", type="watching"),
        Activity(name="{avgResolutionTime} average resolution", type="custom"),
    ]


class TenantPresence(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One tenant's changes to the ``[presence]`` defaults (unset: the default's)."""

    enabled: bool | None = None
    activities: list[Activity] | None = None
    interval_s: float | None = None
    status: Status | None = None
    locale: str | None = None


class PresenceConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Placeholders: {totalTickets} {openTickets} {avgResponseTime} {avgResolutionTime}
    {avgRating} {guilds}; ``locale`` formats durations and numbers."""

    enabled: bool = True
    activities: list[Activity] = msgspec.field(default_factory=_default_activities)
    interval_s: float = 60.0
    status: Status = "online"
    locale: str = "en-GB"
    tenants: dict[str, TenantPresence] = {}
    # For tests only: rotations faster than Discord allows.
    unchecked_interval: bool = False

    def __post_init__(self) -> None:
        intervals: list[tuple[str, float | None]] = [("", self.interval_s)]
        intervals += [(name, own.interval_s) for name, own in self.tenants.items()]
        for name, interval in intervals:
            if interval is not None and interval < MIN_INTERVAL_S and not self.unchecked_interval:
                where = f"presence.tenants.{name}" if name else "presence"
                raise ValueError(f"{where}.interval_s must be at least {MIN_INTERVAL_S:g}")

    def for_tenant(self, tenant: str) -> PresenceConfig:
        """The settings one tenant runs with: its own where given, else the defaults."""
        own = self.tenants.get(tenant)
        if own is None:
            return self
        return msgspec.structs.replace(
            self,
            enabled=self.enabled if own.enabled is None else own.enabled,
            activities=self.activities if own.activities is None else own.activities,
            interval_s=self.interval_s if own.interval_s is None else own.interval_s,
            status=own.status or self.status,
            locale=own.locale or self.locale,
            tenants={},
        )
