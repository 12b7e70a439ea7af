"""An append-only file for streams and leases, after Valkey's AOF.

Each record is framed as length (4 bytes), CRC-32 (4 bytes), msgpack payload, so
a record torn by a crash is recognised and cut off at replay. ``fsync`` is
``always`` (before a change is acknowledged), ``everysec`` (a background thread)
or ``no`` (the kernel decides). The file is compacted in the background once it
has doubled: a snapshot of the state goes to a new file in a worker thread,
records logged meanwhile are appended to it, and it replaces the old one with an
atomic rename.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal, get_args

import msgspec

from emulation.memory.records import Record

log = logging.getLogger(__name__)

FsyncPolicy = Literal["always", "everysec", "no"]
FSYNC_POLICIES: tuple[str, ...] = get_args(FsyncPolicy)
_HEADER = struct.Struct(">II")
# Below this size compaction is not worth a rewrite.
DEFAULT_REWRITE_MIN_BYTES = 4 << 20

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Record)


def frame(record: Record) -> bytes:
    payload = _encoder.encode(record)
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _open_append(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AppendOnlyFile:
    """One file of records; ``log`` them, ``replay`` them at start."""

    def __init__(
        self,
        path: str | Path,
        fsync: FsyncPolicy = "everysec",
        *,
        rewrite_min_bytes: int = DEFAULT_REWRITE_MIN_BYTES,
    ) -> None:
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(FSYNC_POLICIES)}, got {fsync!r}")
        self.path = Path(path)
        self.fsync = fsync
        self.rewrite_min_bytes = rewrite_min_bytes
        # Set by the owner: every record needed to rebuild the state as it is now.
        self.snapshot: Callable[[], list[Record]] | None = None
        self._buffer: list[bytes] = []
        self._depth = 0
        self._fd = -1
        self._size = 0
        self._rewrite_base = 0
        # Counters for tests and the curious: compactions done, bytes ever logged.
        self.rewrites = 0
        self.bytes_logged = 0
        self._rewriting: list[bytes] | None = None
        self._rewrite_task: asyncio.Future[tuple[int, Path]] | None = None
        self._lock = threading.Lock()
        self._dirty = False
        self._closed = threading.Event()
        self._syncer: threading.Thread | None = None

    # --- start ---------------------------------------------------------------

    def replay(self) -> Iterator[Record]:
        """Yield every intact record, then open the file for appending.

        A torn or corrupt tail (a crash mid-write) is cut off, as Valkey does
        with ``aof-load-truncated``.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = self.path.read_bytes() if self.path.exists() else b""
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, crc = _HEADER.unpack_from(data, offset)
            start, end = offset + _HEADER.size, offset + _HEADER.size + length
            payload = data[start:end]
            if end > len(data) or zlib.crc32(payload) != crc:
                break
            try:
                record = _decoder.decode(payload)
            except (msgspec.DecodeError, msgspec.ValidationError):
                break
            yield record
            offset = end
        if offset < len(data):
            log.warning(
                "%s: cut off %d bytes of a torn or corrupt tail", self.path, len(data) - offset
            )
            with open(self.path, "r+b") as file:
                file.truncate(offset)
                file.flush()
                os.fsync(file.fileno())
        self._fd = _open_append(self.path)
        self._size = self._rewrite_base = offset
        if self.fsync == "everysec":
            self._syncer = threading.Thread(target=self._sync_every_second, daemon=True)
            self._syncer.start()

    # --- logging -------------------------------------------------------------

    def log(self, record: Record) -> None:
        """Add a record; it is written now, or when the enclosing ``batch`` ends."""
        self._buffer.append(frame(record))
        if self._depth == 0:
            self.flush()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Write the records logged inside in one go (one fsync under ``always``)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        if self._fd < 0:
            raise RuntimeError("the append-only file is not open: call replay() first")
        data = b"".join(self._buffer)
        self._buffer.clear()
        with self._lock:
            _write_all(self._fd, data)
            if self.fsync == "always":
                os.fsync(self._fd)
            else:
                self._dirty = True
        self._size += len(data)
        self.bytes_logged += len(data)
        if self._rewriting is not None:
            self._rewriting.append(data)
        elif self._size >= max(self.rewrite_min_bytes, 2 * self._rewrite_base):
            self._start_rewrite()

    def _sync_every_second(self) -> None:
        while not self._closed.wait(1.0):
            with self._lock:
                if self._dirty and self._fd >= 0:
                    os.fsync(self._fd)
                    self._dirty = False

    # --- compaction ----------------------------------------------------------

    def _start_rewrite(self) -> None:
        if self.snapshot is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.rewrite()
            return
        records = self.snapshot()
        self._rewriting = []
        self._rewrite_task = loop.run_in_executor(None, self._write_snapshot, records)
        self._rewrite_task.add_done_callback(self._finish_rewrite)

    def _write_snapshot(self, records: list[Record]) -> tuple[int, Path]:
        temp = self.path.with_name(self.path.name + ".rewrite")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            _write_all(fd, b"".join(frame(record) for record in records))
        except BaseException:
            os.close(fd)
            raise
        return fd, temp

    def _finish_rewrite(self, done: asyncio.Future[tuple[int, Path]]) -> None:
        tail, self._rewriting, self._rewrite_task = self._rewriting or [], None, None
        if done.cancelled() or done.exception() is not None:
            log.error("%s: compaction failed: %r", self.path, done.exception())
            return
        fd, temp = done.result()
        self._switch_to(fd, temp, tail)

    def _switch_to(self, fd: int, temp: Path, tail: list[bytes]) -> None:
        data = b"".join(tail)
        _write_all(fd, data)
        os.fsync(fd)
        os.close(fd)
        with self._lock:
            if self._closed.is_set():
                temp.unlink(missing_ok=True)
                return
            os.replace(temp, self.path)
            _fsync_dir(self.path)
            os.close(self._fd)
            self._fd = _open_append(self.path)
            self._size = self._rewrite_base = self.path.stat().st_size
            self._dirty = False
            self.rewrites += 1

    def rewrite(self) -> None:
        """Compact now, in this thread (tests and shutdown use it)."""
        if self.snapshot is None:
            raise RuntimeError("no snapshot source to compact from")
        self.flush()
        fd, temp = self._write_snapshot(self.snapshot())
        self._switch_to(fd, temp, [])

    async def wait_rewrite(self) -> None:
        """Wait for a background compaction, if one runs."""
        if self._rewrite_task is not None:
            await asyncio.wait([self._rewrite_task])

    @property
    def size(self) -> int:
        return self._size

    def close(self) -> None:
        """Write what is buffered, sync it and close the file."""
        if self._fd < 0:
            return
        self.flush()
        self._closed.set()
        if self._syncer is not None:
            self._syncer.join()
        with self._lock:
            if self.fsync != "no" or self._dirty:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
