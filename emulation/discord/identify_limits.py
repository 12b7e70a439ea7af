"""Discord's limits on starting gateway sessions: the daily budget and concurrency buckets.

Each IDENTIFY spends one session start of the application; the budget refills
``reset_after`` ms after the first start of the period. Shards whose ids agree modulo
``max_concurrency`` share a bucket, and a bucket takes one IDENTIFY per window (5 s).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from .models import JSON, App

IDENTIFY_WINDOW_S = 5.0


class Verdict(enum.Enum):
    ADMITTED = "admitted"
    # Another IDENTIFY of the same bucket within the window: Discord answers op 9.
    TOO_FAST = "too_fast"
    # No session starts left: Discord ends every session and resets the token.
    EXHAUSTED = "exhausted"


class IdentifyLimits:
    """Per-application accounting of session starts; ``window`` is shortened by tests."""

    def __init__(
        self, window: float = IDENTIFY_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        # 0 turns the concurrency check off; the session start budget still applies.
        self.window = window
        self._clock = clock
        self._last: dict[tuple[int, int], float] = {}
        self._period_ends: dict[int, float] = {}

    def describe(self, app: App) -> JSON:
        """The ``session_start_limit`` object of GET /gateway/bot."""
        self._refill(app)
        ends = self._period_ends.get(app.id)
        reset_after = app.session_start_reset_ms
        if ends is not None:
            reset_after = max(0, round((ends - self._clock()) * 1000))
        return {
            "total": app.session_start_total,
            "remaining": app.session_starts_remaining,
            "reset_after": reset_after,
            "max_concurrency": app.max_concurrency,
        }

    def admit(self, app: App, shard_id: int) -> Verdict:
        """Decide one IDENTIFY; an admitted one spends a session start."""
        self._refill(app)
        now = self._clock()
        bucket = (app.id, shard_id % max(1, app.max_concurrency))
        last = self._last.get(bucket)
        if last is not None and now - last < self.window:
            return Verdict.TOO_FAST
        if app.session_starts_remaining <= 0:
            return Verdict.EXHAUSTED
        self._last[bucket] = now
        self._period_ends.setdefault(app.id, now + app.session_start_reset_ms / 1000)
        app.session_starts_remaining -= 1
        return Verdict.ADMITTED

    def reset(self, app: App) -> None:
        """Forget the app's buckets and period (after its settings were changed)."""
        self._period_ends.pop(app.id, None)
        for key in [k for k in self._last if k[0] == app.id]:
            del self._last[key]

    def _refill(self, app: App) -> None:
        ends = self._period_ends.get(app.id)
        if ends is not None and self._clock() >= ends:
            del self._period_ends[app.id]
            app.session_starts_remaining = app.session_start_total
