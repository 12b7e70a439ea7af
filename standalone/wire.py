"""Payloads that cross a process boundary."""

from __future__ import annotations

import msgspec


class Envelope(msgspec.Struct, frozen=True, kw_only=True, tag="event", tag_field="kind"):
    """One gateway event as the gateway hands it to workers.

    ``data`` is the raw dispatch payload, kept as JSON bytes so workers hand it
    to disnake untouched. ``trace`` is a W3C ``traceparent`` started at the
    gateway, so a worker's log lines can be tied to the event that caused them.
    """

    tenant: str
    shard: int
    seq: int
    type: str
    data: bytes
    trace: str = ""


class ShardSession(msgspec.Struct, frozen=True, kw_only=True):
    """A shard's gateway session as its owner last saw it, for a takeover to RESUME.

    ``token`` is the fencing token of the lease the writer held: a writer that
    lost its lease finds a larger one stored and stops instead of overwriting.
    """

    token: int
    session_id: str | None = None
    seq: int | None = None
    resume_url: str | None = None


class DrainRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Asks one gateway instance to hand every shard it runs to the others."""

    instance: str


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Envelope)
_session_decoder = msgspec.msgpack.Decoder(ShardSession)
_drain_decoder = msgspec.msgpack.Decoder(DrainRequest)


def encode_envelope(envelope: Envelope) -> bytes:
    """Serialise for a stream entry."""
    return _encoder.encode(envelope)


def decode_envelope(data: bytes) -> Envelope:
    """Parse a stream entry; raises msgspec.DecodeError on garbage."""
    return _decoder.decode(data)


def encode_session(session: ShardSession) -> bytes:
    """Serialise a shard session for the coordination cache."""
    return _encoder.encode(session)


def decode_session(data: bytes) -> ShardSession:
    """Parse a stored shard session; raises msgspec.DecodeError on garbage."""
    return _session_decoder.decode(data)


def encode_drain(request: DrainRequest) -> bytes:
    """Serialise a drain request for pub/sub."""
    return _encoder.encode(request)


def decode_drain(data: bytes) -> DrainRequest:
    """Parse a drain request; raises msgspec.DecodeError on garbage."""
    return _drain_decoder.decode(data)
