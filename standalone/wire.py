"""Payloads that cross a process boundary."""

from __future__ import annotations

import msgspec


class Envelope(msgspec.Struct, frozen=True, kw_only=True, tag="event", tag_field="kind"):
    """One gateway event as the gateway hands it to workers.

    ``data`` is the raw dispatch payload, kept as JSON bytes so workers hand it
    to disnake untouched.
    """

    tenant: str
    shard: int
    seq: int
    type: str
    data: bytes
    trace: dict[str, str] = msgspec.field(default_factory=dict)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Envelope)


def encode_envelope(envelope: Envelope) -> bytes:
    """Serialise for a stream entry."""
    return _encoder.encode(envelope)


def decode_envelope(data: bytes) -> Envelope:
    """Parse a stream entry; raises msgspec.DecodeError on garbage."""
    return _decoder.decode(data)
