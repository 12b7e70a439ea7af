"""Discord's own limit on renaming a channel: two name (or topic) changes per ten minutes.

Discord documents it nowhere and reports it only when it bites: the third change
within the window is answered 429 with a ``retry_after`` of minutes, while the
route's bucket headers still show requests remaining (issue discord-api-docs#1900).
Tests may swap the clock to let the window pass without waiting for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
from aiohttp import web

from .ratelimits import Ratelimited

RENAMES_PER_WINDOW = 2
WINDOW_S = 600.0


class RenameLimit:
    """Counts each channel's name and topic changes and refuses the ones over the limit."""

    def __init__(
        self,
        limit: int = RENAMES_PER_WINDOW,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = True
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._changes: dict[int, list[float]] = {}
        self.refused = 0

    def admit(self, channel_id: int) -> float | None:
        """Count one change of ``channel_id``; the seconds to wait instead when over."""
        if not self.enabled:
            return None
        now = self.clock()
        recent = [at for at in self._changes.get(channel_id, []) if at > now - self.window_s]
        if len(recent) >= self.limit:
            self._changes[channel_id] = recent
            self.refused += 1
            return recent[0] + self.window_s - now
        recent.append(now)
        self._changes[channel_id] = recent
        return None

    def count(self, channel_id: int) -> int:
        """Changes of ``channel_id`` within the current window."""
        now = self.clock()
        return sum(1 for at in self._changes.get(channel_id, []) if at > now - self.window_s)


def too_many(retry_after: float) -> web.Response:
    """Discord's answer to a rename over the limit (the bucket headers are added later)."""
    body = Ratelimited(
        message="You are being rate limited.", retry_after=round(retry_after, 3), is_global=False
    )
    return web.Response(
        body=msgspec.json.encode(body),
        status=429,
        content_type="application/json",
        headers={"Retry-After": str(max(1, round(retry_after))), "X-RateLimit-Scope": "user"},
    )
