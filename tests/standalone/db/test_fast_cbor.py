"""cbor2's C decoder gives what the SDK's own decoder gives, for every SurrealDB tag."""

from __future__ import annotations

import decimal
import uuid
from datetime import UTC, datetime

import cbor2
import pytest
from surrealdb import RecordID
from surrealdb.connections import async_embedded, async_ws
from surrealdb.data.cbor import decode as sdk_decode
from surrealdb.data.cbor import encode as sdk_encode
from surrealdb.data.types import constants
from surrealdb.data.types.duration import Duration
from surrealdb.data.types.geometry import GeometryPoint
from surrealdb.data.types.range import BoundExcluded, BoundIncluded, Range
from surrealdb.data.types.table import Table

from standalone.db import fast_cbor
from standalone.db.connection import open_database
from standalone.db.settings import SettingsRepository

WHEN = datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=UTC)

VALUES = [
    {"id": RecordID("ticket", ["alpha", "123", 7]), "n": None, "ok": True},
    RecordID("category", "abc123"),
    RecordID("x", {"tenant": "alpha", "keys": [1, 2]}),
    [None, 1, "two", 3.5, b"\x00\x01", [RecordID("a", ["b", ["c"]])]],
    WHEN,
    Duration.parse("1h30m"),
    decimal.Decimal("12.50"),
    uuid.UUID("0b8e2f66-3f0c-4c3a-9d62-6d0c4a1f2e11"),
    Table("ticket"),
    Range(BoundIncluded(1), BoundExcluded(10)),
    GeometryPoint(1.5, 2.5),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_every_tag_decodes_as_the_sdk_decodes_it(value):
    data = sdk_encode(value)
    assert fast_cbor.decode(data) == sdk_decode(data)


def test_the_compact_forms_the_engine_sends():
    # The engine writes datetimes and durations as [seconds, nanoseconds].
    when = [int(WHEN.timestamp()), 456_789_000]
    for tag, value in (
        (constants.TAG_DATETIME_COMPACT, when),
        (constants.TAG_DURATION_COMPACT, [90, 5]),
        (constants.TAG_NONE, None),
    ):
        data = cbor2.dumps(cbor2.CBORTag(tag, value))
        assert fast_cbor.decode(data) == sdk_decode(data)
    compact = cbor2.dumps(cbor2.CBORTag(constants.TAG_DATETIME_COMPACT, when))
    assert fast_cbor.decode(compact) == WHEN


def test_record_ids_keep_lists_so_they_equal_the_ones_we_build():
    decoded = fast_cbor.decode(sdk_encode(RecordID("ticket", ["alpha", "1", 2])))
    assert decoded == RecordID("ticket", ["alpha", "1", 2])
    assert isinstance(decoded.id, list)


async def test_the_sdk_connections_decode_with_it_and_rows_read_back_whole(tmp_path):
    assert async_embedded.decode is fast_cbor.decode
    assert async_ws.decode is fast_cbor.decode
    db = await open_database(f"surrealkv://{tmp_path}/db")
    try:
        settings = SettingsRepository(db, "alpha")
        made = await settings.create_category("1", "Billing", staff_roles=["5"])
        assert await settings.categories("1") == [made]
        assert await settings.category_by_key(made.key) == made
    finally:
        await db.close()
