"""The wire protocol between ``tickets emulation serve`` and its clients.

A frame is a 4-byte big-endian length and a msgpack payload. A request is an
array ``[op, id, *args]``; the server answers ``[id, status, value]`` in any
order, so many requests can be in flight on one connection. ``status`` is
``OK``, ``ERROR`` (value ``[kind, message]``) or ``PUSH`` (a pub/sub message
for the subscription whose id is ``id``). Id 0 is the connection itself: errors
about frames whose request id could not be read are answered with it.
"""

from __future__ import annotations

import struct

import msgspec

from emulation.ports import PersistenceError

MAX_FRAME = 16 << 20
HEADER = struct.Struct(">I")

OK = 0
ERROR = 1
PUSH = 2
CONNECTION_ID = 0


class ProtocolError(Exception):
    """The server could not read a request (a bad frame, op or argument)."""


class RemoteError(Exception):
    """The server failed on a request for a reason without a local exception type."""


# Exceptions the server may answer with, re-raised by that type in the client.
ERROR_KINDS: dict[str, type[Exception]] = {
    "LookupError": LookupError,
    "ValueError": ValueError,
    "TypeError": TypeError,
    "ProtocolError": ProtocolError,
    "PersistenceError": PersistenceError,
}


class _Op(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    id: int


# --- cache ---


class Get(_Op, tag="get"):
    key: str


class GetMany(_Op, tag="mget"):
    keys: list[str]


class Set(_Op, tag="set"):
    key: str
    value: bytes
    ttl_ms: int | None = None


class SetIfAbsent(_Op, tag="setnx"):
    key: str
    value: bytes
    ttl_ms: int | None = None


class Delete(_Op, tag="del"):
    key: str


# --- streams ---


class Append(_Op, tag="xadd"):
    stream: str
    data: bytes
    maxlen: int | None = None


class CreateGroup(_Op, tag="xgroup"):
    stream: str
    group: str
    start: str = "0"


class ReadGroup(_Op, tag="xread"):
    stream: str
    group: str
    consumer: str
    count: int = 10
    block_ms: int | None = None


class Ack(_Op, tag="xack"):
    stream: str
    group: str
    ids: list[str]


class Pending(_Op, tag="xpending"):
    stream: str
    group: str
    count: int = 100


class ClaimIdle(_Op, tag="xclaim"):
    stream: str
    group: str
    consumer: str
    min_idle_ms: int
    count: int = 10


class Touch(_Op, tag="xtouch"):
    stream: str
    group: str
    consumer: str
    ids: list[str]


class Length(_Op, tag="xlen"):
    stream: str


class DeadLetter(_Op, tag="xdead"):
    stream: str
    group: str
    entry_id: str
    dead_stream: str
    maxlen: int | None = None


# --- leases ---


class Acquire(_Op, tag="acquire"):
    name: str
    owner: str
    ttl_ms: int


class Renew(_Op, tag="renew"):
    name: str
    owner: str
    ttl_ms: int


class Release(_Op, tag="release"):
    name: str
    owner: str


class Holder(_Op, tag="holder"):
    name: str


# --- pub/sub ---


class Publish(_Op, tag="publish"):
    channel: str
    data: bytes


class Subscribe(_Op, tag="subscribe"):
    sub_id: int
    channels: list[str]
    patterns: list[str]


class Unsubscribe(_Op, tag="unsubscribe"):
    sub_id: int


# --- counters ---


class Incr(_Op, tag="incr"):
    key: str
    by: int = 1
    ttl_ms: int | None = None


class Allow(_Op, tag="allow"):
    key: str
    limit: int
    window_ms: int


class Ping(_Op, tag="ping"):
    pass


class Cancel(_Op, tag="cancel"):
    """Drop a waiting request (a blocking group read) whose caller gave up.

    Answered with whether it was still waiting; its own answer never comes.
    """

    request: int


Request = (
    Get
    | GetMany
    | Set
    | SetIfAbsent
    | Delete
    | Append
    | CreateGroup
    | ReadGroup
    | Ack
    | Pending
    | ClaimIdle
    | Touch
    | Length
    | DeadLetter
    | Acquire
    | Renew
    | Release
    | Holder
    | Publish
    | Subscribe
    | Unsubscribe
    | Incr
    | Allow
    | Ping
    | Cancel
)
OPS = frozenset(cls.__struct_config__.tag for cls in Request.__args__)


def frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload
