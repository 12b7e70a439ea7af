"""Argument checks shared by every coordination adapter.

Valkey refuses some arguments (a non-positive TTL, a negative MAXLEN or BLOCK, a
malformed stream id, an increment past 64 bits) and clamps or misreads others.
The port refuses all of them the same way in every adapter: a ``ValueError``
naming the argument, raised before anything changes. Each adapter calls these
before it touches its state or the network, so no adapter's own error (a
``ResponseError``, an ``OverflowError`` from msgpack) leaks out instead.
"""

from __future__ import annotations

from collections.abc import Iterable

# Above every limit Valkey puts on these arguments (now + PX within 64 bits,
# XAUTOCLAIM's COUNT below LONG_MAX / 10) and exact as a Lua double, so an
# argument the port accepts is one Valkey accepts too.
MAX_INT_ARG = 2**53 - 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Each half of a stream id is an unsigned 64-bit number in Valkey.
_MAX_ID_PART = 2**64 - 1


def _too_large(name: str, value: int) -> ValueError:
    return ValueError(f"{name} is out of range: at most {MAX_INT_ARG}, got {value}")


def positive(name: str, value: int) -> None:
    """Refuse ``value`` unless 0 < value <= MAX_INT_ARG (TTLs, counts, limits, windows)."""
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    if value > MAX_INT_ARG:
        raise _too_large(name, value)


def not_negative(name: str, value: int) -> None:
    """Refuse ``value`` unless 0 <= value <= MAX_INT_ARG (maxlen, min_idle_ms, block_ms)."""
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    if value > MAX_INT_ARG:
        raise _too_large(name, value)


def ttl(value: int | None) -> None:
    """A TTL is None (no expiry) or positive, as Valkey's PX refuses 0 and below."""
    if value is not None:
        positive("ttl_ms", value)


def increment(by: int) -> None:
    """INCRBY takes a signed 64-bit increment."""
    if not INT64_MIN <= by <= INT64_MAX:
        raise ValueError(f"by is out of range for a signed 64-bit counter, got {by}")


def overflow(key: str, by: int) -> ValueError:
    """The error for an increment whose result leaves 64 bits (Valkey refuses it)."""
    return ValueError(f"incrementing {key!r} by {by} would overflow 64 bits")


def parse_stream_id(text: str) -> tuple[int, int]:
    """Parse ``"<ms>-<seq>"`` (or a bare ``"<ms>"``); ValueError when malformed.

    Stricter than Valkey, which also takes ``+5`` or `` 5``: ids are what the
    port hands out, so anything else is a caller's mistake.
    """
    ms, dash, seq = text.partition("-")
    # int() alone would also take "+5", " 5", "1_0" and non-ASCII digits.
    if not (ms.isdigit() and (seq.isdigit() or not dash) and text.isascii()):
        raise ValueError(f"malformed stream id {text!r}")
    parsed = (int(ms), int(seq) if dash else 0)
    if parsed[0] > _MAX_ID_PART or parsed[1] > _MAX_ID_PART:
        raise ValueError(f"malformed stream id {text!r}: out of range")
    return parsed


def stream_ids(ids: Iterable[str]) -> list[tuple[int, int]]:
    """Parse every id first, as XACK does, so one bad id leaves all unacknowledged."""
    return [parse_stream_id(i) for i in ids]


def distinct_stream_ids(ids: Iterable[str]) -> list[tuple[int, int]]:
    """Parse every id first, as ``stream_ids``; each id once, in the order given.

    A bare string is refused: iterated, ``"1-0"`` would read as three ids.
    """
    if isinstance(ids, str):
        raise TypeError("ids is a sequence of stream ids, not a string")
    return list(dict.fromkeys(stream_ids(ids)))


def group_start(start: str) -> None:
    """``create_group`` starts at ``"$"`` or at a stream id."""
    if start != "$":
        parse_stream_id(start)


def subscription(channels: object, patterns: object) -> None:
    """Subscribe to at least one channel or pattern, named in sequences."""
    if isinstance(channels, str) or isinstance(patterns, str):
        raise TypeError("channels and patterns are sequences of names, not a string")
    if not channels and not patterns:
        # Valkey's SUBSCRIBE needs a name; redis-py's reader then fails on its own.
        raise ValueError("subscribe needs at least one channel or pattern")
