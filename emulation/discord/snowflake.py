"""Discord snowflakes: time-based, strictly increasing ids.

disnake derives creation times from ids (an interaction expires 15 minutes after
``snowflake_time(id)``), so ids must carry the real clock, not a counter.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1_420_070_400_000
_INCREMENT_BITS = 12
_MAX_INCREMENT = (1 << _INCREMENT_BITS) - 1


class SnowflakeFactory:
    """Hands out ids that never repeat and never go backwards, even within a millisecond."""

    def __init__(self, worker_id: int = 1, process_id: int = 0) -> None:
        self._node = ((worker_id & 0x1F) << 17) | ((process_id & 0x1F) << 12)
        self._last_ms = 0
        self._increment = 0

    def next(self) -> int:
        now_ms = int(time.time() * 1000)
        if now_ms > self._last_ms:
            self._last_ms = now_ms
            self._increment = 0
        else:
            # Same millisecond or a clock step back: keep counting so ids stay monotonic.
            self._increment += 1
            if self._increment > _MAX_INCREMENT:
                self._last_ms += 1
                self._increment = 0
        return ((self._last_ms - DISCORD_EPOCH_MS) << 22) | self._node | self._increment


def snowflake_ms(snowflake: int) -> int:
    """Unix time in milliseconds at which ``snowflake`` was made."""
    return (snowflake >> 22) + DISCORD_EPOCH_MS


def iso_time(unix_ms: int) -> str:
    """An ISO 8601 timestamp in the form Discord sends (microseconds, explicit UTC offset)."""
    return datetime.fromtimestamp(unix_ms / 1000, tz=UTC).isoformat(timespec="microseconds")


def snowflake_iso(snowflake: int) -> str:
    return iso_time(snowflake_ms(snowflake))


def now_iso() -> str:
    return iso_time(int(time.time() * 1000))
