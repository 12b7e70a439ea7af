"""Limits and checks on what callers pass besides the key, and data as chunks."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping

from storage.ports import ByteRange, Data, InvalidRange, InvalidRequest

# S3 keeps user metadata as HTTP headers: names are lowercased and values must
# be ASCII, and all of it must fit in 2 KiB. The same rules everywhere keep
# every adapter's behaviour equal.
_META_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_META_VALUE = re.compile(r"[\x20-\x7e]*")
MAX_METADATA_BYTES = 2048
MAX_CONTENT_TYPE = 255
MAX_PRESIGN_S = 7 * 24 * 3600
MiB = 1024 * 1024
# S3 refuses parts under 5 MiB (except the last); 8 MiB is what the AWS CLI uses.
MIN_PART_SIZE = 5 * MiB
DEFAULT_PART_SIZE = 8 * MiB


def validate_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """A copy of ``metadata`` when every name and value is storable; InvalidRequest otherwise."""
    checked: dict[str, str] = {}
    total = 0
    for name, value in (metadata or {}).items():
        if not isinstance(name, str) or not _META_NAME.fullmatch(name):
            raise InvalidRequest(
                f"metadata name {name!r} must be 1-64 characters of lowercase a-z, 0-9 and '-'"
            )
        if not isinstance(value, str) or not _META_VALUE.fullmatch(value):
            raise InvalidRequest(f"metadata {name!r} must be printable ASCII text, got {value!r}")
        total += len(name) + len(value)
        checked[name] = value
    if total > MAX_METADATA_BYTES:
        raise InvalidRequest(f"metadata is {total} bytes long (at most {MAX_METADATA_BYTES})")
    return checked


def validate_content_type(content_type: str) -> str:
    """``content_type`` when it can travel as an HTTP header; InvalidRequest otherwise."""
    # S3 refuses control characters in headers and stores "" as its own default,
    # and a file store would hand either to a browser later: refused on every store.
    if (
        not isinstance(content_type, str)
        or not 0 < len(content_type) <= MAX_CONTENT_TYPE
        or not _META_VALUE.fullmatch(content_type)
    ):
        raise InvalidRequest(
            f"content type {content_type!r} must be 1-{MAX_CONTENT_TYPE} characters "
            "of printable ASCII"
        )
    return content_type


def check_range(byte_range: ByteRange | None) -> None:
    """Refuse ranges that no object could satisfy (negative, or ending before they start)."""
    if byte_range is None:
        return
    start, end = byte_range
    if start < 0 or (end is not None and end < start):
        raise InvalidRequest(
            f"byte range {byte_range!r} must have 0 <= start <= end (end is exclusive)"
        )


def resolve_range(byte_range: ByteRange | None, size: int) -> tuple[int, int]:
    """The concrete ``[start, end)`` of ``byte_range`` in an object of ``size`` bytes."""
    check_range(byte_range)
    if byte_range is None:
        return 0, size
    start, end = byte_range
    if start > size:
        raise InvalidRange(f"byte range starts at {start}, after the object's end ({size} bytes)")
    return start, size if end is None else min(end, size)


def check_chunk_size(chunk_size: int) -> None:
    if chunk_size <= 0:
        raise InvalidRequest(f"chunk_size must be greater than 0, got {chunk_size}")


def check_expiry(expires_s: int) -> None:
    if not 1 <= expires_s <= MAX_PRESIGN_S:
        raise InvalidRequest(f"expires_s must be 1..{MAX_PRESIGN_S} seconds, got {expires_s}")


async def chunks(data: Data) -> AsyncIterator[bytes]:
    """``data`` as a sequence of non-empty byte strings."""
    if isinstance(data, bytes | bytearray | memoryview):
        if data:
            yield bytes(data)
        return
    async for chunk in data:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise InvalidRequest(f"data chunks must be bytes, got {type(chunk).__name__}")
        if chunk:
            yield bytes(chunk)
