"""SurrealDB answers decoded by cbor2's C extension instead of the SDK's pure-Python copy.

The SDK (surrealdb 2.0) ships a pure-Python copy of cbor2 and decodes every answer
with it; for a list of 25 categories that took about 1 ms of the worker's single
event loop, seven times what the C extension takes for the same bytes (measured
with ``bench/cbor_decode.py``). The SDK's own tag decoder still turns SurrealDB's
tags into its types (record ids, NONE, durations…), so what callers get is the
same. Requests are still encoded by the SDK: its encoder writes ``None`` as
SurrealDB's NONE, which cbor2's would write as NULL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2

# First: it registers the SDK's package without the __init__ that loads every client.
from standalone.db.sdk import RecordID  # isort: skip

from surrealdb.connections import async_embedded, async_ws
from surrealdb.data.cbor import tag_decoder
from surrealdb.data.types import constants

_PATCHED = (async_embedded, async_ws)


def _thawed(value: Any) -> Any:
    # cbor2 decodes a tag's content as immutable (tuples, frozen dicts), the SDK's
    # copy as lists and dicts: RecordID("t", ["a", 1]) must equal what we build.
    if isinstance(value, tuple | list):
        return [_thawed(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _thawed(item) for key, item in value.items()}
    return value


def _tag_hook(first: Any, second: Any = None) -> Any:
    # cbor2 5 calls hook(decoder, tag); cbor2 6 calls hook(tag, immutable).
    tag = first if isinstance(first, cbor2.CBORTag) else second
    number, value = tag.tag, tag.value
    # The tags of nearly every row first, as the SDK decodes them; the rest by the SDK.
    if number == constants.TAG_NONE:
        return None
    if number == constants.TAG_RECORD_ID:
        return RecordID(value[0], _thawed(value[1]))
    if number == constants.TAG_DATETIME_COMPACT:
        seconds, nanoseconds = value
        return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanoseconds // 1000)
    thawed = cbor2.CBORTag(number, _thawed(value))
    return tag_decoder(None, thawed)  # type: ignore[arg-type]  # the SDK's hook ignores it


def decode(data: bytes) -> Any:
    """One SurrealDB CBOR answer, as the SDK's ``decode`` returns it."""
    return cbor2.loads(data, tag_hook=_tag_hook)


def install() -> None:
    """Make the SDK's embedded and ws:// connections decode with ``decode``."""
    for module in _PATCHED:
        module.decode = decode  # type: ignore[attr-defined]
