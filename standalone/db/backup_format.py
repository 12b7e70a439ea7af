"""The backup object's format: gzip'd frames, written and read a frame at a time.

A frame is a 4-byte length, then a msgpack ``Frame``: one header, batches of
rows, one end. Rows inside a batch are encoded with the SurrealDB SDK's own
CBOR, which keeps every SurrealDB type (record ids, datetimes, durations,
decimals) as it was. Neither side ever holds more than one batch, so a backup
of any size streams through bounded memory.

Format 1 (the first release) counted each table's records in the header,
which meant reading everything before writing anything; format 2 counts them
in the end frame, after the last batch.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable
from datetime import datetime
from typing import Any

import msgspec
from surrealdb.data import cbor

from storage.ports import ObjectStore, StorageError

FORMAT = 2
READABLE_FORMATS = frozenset({1, 2})
CONTENT_TYPE = "application/vnd.tickets.backup+gzip"
# A batch whose rows encode larger than this is split (down to one record),
# so a frame only outgrows it for a single huge record.
BATCH_BYTES = 16 * 1024 * 1024
# A reader buffers a whole frame before decoding it, so this bounds the memory
# a small hostile object (gigabytes of zeros gzip to kilobytes) can take.
MAX_FRAME = 64 * 1024 * 1024
_FRAME_OVERHEAD = 1024  # the Batch struct and the table name around the rows
# Bytes inflated per step, so a small chunk of a damaged (or hostile) object
# cannot expand into gigabytes at once.
_INFLATE_STEP = 1024 * 1024
_GZIP = 31  # zlib's wbits for the gzip container
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")

Progress = Callable[[int, int], None]
"""Called with (records done, records in all) as a backup or restore moves on."""


class BackupError(Exception):
    """A backup cannot be made or restored; the message says why."""


class TableInfo(msgspec.Struct, frozen=True):
    # Format 1: the exact count. Format 2: the count when the backup started,
    # for the progress bar; the end frame has the exact one.
    records: int
    relation: bool = False


class Header(msgspec.Struct, frozen=True, tag="header"):
    format: int
    schema_version: int
    created_at: datetime
    tables: dict[str, TableInfo]
    # "point-in-time" or "per-record"; what standalone.db.backup promises for each.
    consistency: str = "point-in-time"

    @property
    def records(self) -> int:
        return sum(table.records for table in self.tables.values())


class Batch(msgspec.Struct, frozen=True, tag="batch"):
    table: str
    rows: bytes  # SurrealDB CBOR of a list of records


class End(msgspec.Struct, frozen=True, tag="end"):
    records: int
    # Records per table that has any (format 2; None in format 1).
    tables: dict[str, int] | None = None


Frame = Header | Batch | End
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Frame)


def check_table(name: str) -> str:
    # Table names are put into statements (INSERT cannot take a parameter there).
    if not _TABLE.fullmatch(name):
        raise BackupError(f"table name {name!r} is not a plain identifier; cannot back it up")
    return name


def batch(table: str, rows: list[dict[str, Any]]) -> Batch:
    return Batch(table, cbor.encode(rows))


def batches(table: str, rows: list[dict[str, Any]]) -> list[Batch]:
    """``rows`` as one batch, or split into halves until each is under BATCH_BYTES."""
    whole = batch(table, rows)
    if len(whole.rows) <= BATCH_BYTES:
        return [whole]
    if len(rows) == 1:
        if len(whole.rows) + _FRAME_OVERHEAD > MAX_FRAME:
            raise BackupError(
                f"a record of {table!r} ({rows[0].get('id')}) is {len(whole.rows)} bytes, "
                f"more than a backup frame holds ({MAX_FRAME})"
            )
        return [whole]
    middle = len(rows) // 2
    return batches(table, rows[:middle]) + batches(table, rows[middle:])


def rows_of(frame: Batch, key: str) -> list[dict[str, Any]]:
    try:
        rows = cbor.decode(frame.rows)
    except Exception as exc:
        raise BackupError(f"{key!r} is damaged: rows of {frame.table!r}: {exc}") from None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise BackupError(f"{key!r} is damaged: rows of {frame.table!r} are not records")
    return rows


async def compress(frames: AsyncIterable[Frame]) -> AsyncIterator[bytes]:
    """The object's bytes, a frame at a time."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, _GZIP)
    async for frame in frames:
        body = _encoder.encode(frame)
        if out := compressor.compress(len(body).to_bytes(4, "big") + body):
            yield out
    yield compressor.flush()


async def _inflated(store: ObjectStore, key: str) -> AsyncIterator[bytes]:
    decompressor = zlib.decompressobj(_GZIP)
    async for chunk in store.stream(key):
        data = chunk
        while data:
            yield decompressor.decompress(data, _INFLATE_STEP)
            data = decompressor.unconsumed_tail
        if decompressor.eof and decompressor.unused_data:
            raise BackupError(f"{key!r} is damaged: data after its end")
    if not decompressor.eof:
        raise BackupError(f"{key!r} is cut short: it ends in the middle of the backup")


async def read_frames(store: ObjectStore, key: str) -> AsyncIterator[Frame]:
    """The frames of the object, decoded one at a time as its bytes arrive."""
    buffer = bytearray()
    try:
        async for piece in _inflated(store, key):
            buffer += piece
            while len(buffer) >= 4:
                size = int.from_bytes(buffer[:4], "big")
                if size > MAX_FRAME:
                    raise BackupError(f"{key!r} is damaged (a frame claims {size} bytes)")
                if len(buffer) < 4 + size:
                    break
                # Decoded in place: a copy would double what a frame costs.
                with memoryview(buffer) as view, view[4 : 4 + size] as body:
                    frame = _decoder.decode(body)
                del buffer[: 4 + size]
                yield frame
    except zlib.error as exc:
        raise BackupError(f"{key!r} is not a backup or is damaged: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BackupError(f"{key!r} is damaged: {exc}") from None
    except StorageError as exc:
        raise BackupError(f"could not read the backup {key!r}: {exc}") from exc
    if buffer:
        raise BackupError(f"{key!r} is cut short: it ends in the middle of the backup")


def _check_header(frame: Frame, key: str) -> Header:
    if not isinstance(frame, Header):
        raise BackupError(f"{key!r} does not start with a backup header")
    if frame.format not in READABLE_FORMATS:
        raise BackupError(
            f"{key!r} is backup format {frame.format}; this release reads "
            + ", ".join(str(f) for f in sorted(READABLE_FORMATS))
        )
    # Every name goes into statements, the clean-up after a failure included.
    for name in frame.tables:
        check_table(name)
    return frame


def _check_end(header: Header, end: End, seen: dict[str, int], key: str) -> None:
    if end.tables is None:
        expected = {name: t.records for name, t in header.tables.items() if t.records}
    else:
        expected = {name: n for name, n in end.tables.items() if n}
    if seen != expected or end.records != sum(seen.values()):
        raise BackupError(f"{key!r} is damaged: its record counts do not add up")


async def checked_frames(store: ObjectStore, key: str) -> AsyncIterator[Frame]:
    """The backup's frames, each checked against the header before it is yielded.

    The last check (the record counts) comes after the last batch, so a reader
    that acts on batches must undo them when this raises.
    """
    header: Header | None = None
    seen: dict[str, int] = {}
    ended = False
    async for frame in read_frames(store, key):
        if header is None:
            header = _check_header(frame, key)
        elif ended or isinstance(frame, Header):
            raise BackupError(f"{key!r} is damaged: data after its end")
        elif isinstance(frame, Batch):
            if frame.table not in header.tables:
                raise BackupError(f"{key!r} is damaged: rows of an unlisted table")
            seen[frame.table] = seen.get(frame.table, 0) + len(rows_of(frame, key))
        else:
            _check_end(header, frame, seen, key)
            ended = True
        yield frame
    if header is None or not ended:
        raise BackupError(f"{key!r} is cut short: it ends in the middle of the backup")


async def verify(store: ObjectStore, key: str) -> Header:
    """Read the whole backup and check it is complete.

    Returns its header with each table's exact record count.
    """
    header: Header | None = None
    async for frame in checked_frames(store, key):
        if isinstance(frame, Header):
            header = frame
        elif isinstance(frame, End) and header is not None and frame.tables is not None:
            counts = frame.tables
            header = msgspec.structs.replace(
                header,
                tables={
                    name: TableInfo(counts.get(name, 0), info.relation)
                    for name, info in header.tables.items()
                },
            )
    assert header is not None  # checked_frames raises for a backup without one
    return header
