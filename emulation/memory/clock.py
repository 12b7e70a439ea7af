"""Time in whole milliseconds, as Valkey keeps it.

Like Valkey's ``keyIsExpired`` (``now > when``), something with expiry ``when``
is still live at ``when`` itself and gone from ``when + 1`` on; every expiry
check of this adapter compares ``now > expires``.
"""

from __future__ import annotations

from collections.abc import Callable

from emulation import arguments
from emulation.arguments import MAX_INT_ARG

# Seconds, monotonic; injectable so tests can step over TTL boundaries.
Clock = Callable[[], float]


def now_ms(clock: Clock) -> int:
    # Whole milliseconds keep TTL comparisons exact; float seconds built up by
    # repeated additions would put 999 ms + 1 ms on either side of a boundary.
    return round(clock() * 1000)


def expiry_ms(clock: Clock, ttl_ms: int | None) -> int | None:
    """Absolute expiry in clock milliseconds for a TTL (None: never)."""
    if ttl_ms is None:
        return None
    if not 0 < ttl_ms <= MAX_INT_ARG:  # the call only on failure: a hot path
        arguments.positive("ttl_ms", ttl_ms)
    return now_ms(clock) + ttl_ms
