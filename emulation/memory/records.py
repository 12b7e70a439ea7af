"""What the append-only file holds: one record per change to streams or leases.

Times that must survive a restart are wall-clock milliseconds; the monotonic
clock the adapter runs on starts again from an arbitrary point in a new process.
"""

from __future__ import annotations

import msgspec

# A stream id as (milliseconds, sequence).
RawId = tuple[int, int]


class Appended(msgspec.Struct, array_like=True, tag="a"):
    stream: str
    id: RawId
    data: bytes
    maxlen: int | None


class GroupCreated(msgspec.Struct, array_like=True, tag="g"):
    stream: str
    group: str
    last_delivered: RawId


class Delivered(msgspec.Struct, array_like=True, tag="d"):
    """Fresh entries handed to a consumer by a group read."""

    stream: str
    group: str
    consumer: str
    ids: list[RawId]
    wall_ms: int


class Claimed(msgspec.Struct, array_like=True, tag="c"):
    """Idle entries moved to a consumer; ``dropped`` were trimmed and left the PEL."""

    stream: str
    group: str
    consumer: str
    ids: list[RawId]
    dropped: list[RawId]
    wall_ms: int


class Touched(msgspec.Struct, array_like=True, tag="h"):
    """Entries still held by ``consumer``: idle from ``wall_ms`` again; ``dropped`` were
    trimmed and left the PEL."""

    stream: str
    group: str
    consumer: str
    ids: list[RawId]
    dropped: list[RawId]
    wall_ms: int


class Acked(msgspec.Struct, array_like=True, tag="k"):
    stream: str
    group: str
    ids: list[RawId]


class StreamTip(msgspec.Struct, array_like=True, tag="t"):
    """Snapshot only: a stream exists and its last id (kept after trims)."""

    stream: str
    last_id: RawId


class PendingState(msgspec.Struct, array_like=True, tag="p"):
    """Snapshot only: one pending entry as it stands."""

    stream: str
    group: str
    id: RawId
    consumer: str
    deliveries: int
    wall_ms: int


class LeaseTaken(msgspec.Struct, array_like=True, tag="L"):
    name: str
    owner: str
    token: int
    expires_wall_ms: int


class LeaseRenewed(msgspec.Struct, array_like=True, tag="R"):
    name: str
    expires_wall_ms: int


class LeaseReleased(msgspec.Struct, array_like=True, tag="X"):
    name: str


class Fence(msgspec.Struct, array_like=True, tag="F"):
    """Snapshot only: the last fencing token handed out for a name."""

    name: str
    token: int


StreamRecord = (
    Appended | GroupCreated | Delivered | Claimed | Touched | Acked | StreamTip | PendingState
)
LeaseRecord = LeaseTaken | LeaseRenewed | LeaseReleased | Fence
Record = StreamRecord | LeaseRecord
