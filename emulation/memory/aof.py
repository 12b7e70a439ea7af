"""An append-only file for streams and leases, after Valkey's AOF.

Each record is framed as length (4 bytes), CRC-32 (4 bytes), msgpack payload, so
a record torn by a crash is recognised and cut off at replay. ``fsync`` is
``always`` (before a change is acknowledged), ``everysec`` (a background thread)
or ``no`` (the kernel decides). The file is compacted in the background once it
has doubled: a snapshot of the state goes to a new file in a worker thread,
records logged meanwhile are appended to it, and it replaces the old one with an
atomic rename.

A write that fails (a full disk, EIO), or an fsync under ``always``, fails the
change: the file is cut back to its last complete record, the owner rebuilds
its state from the file (``rollback``) and ``PersistenceError`` is raised, so
the state never runs ahead of the file. While the file cannot be cut back, or
read back to undo the change, or the ``everysec`` fsync fails, every change is
refused the same way, as Valkey refuses writes after an AOF error, until the
retry succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal, get_args

import msgspec

from emulation.memory.records import Record
from emulation.ports import PersistenceError

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


Write = Callable[[int, memoryview], int]


def _write_all(write: Write, fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = write(fd, view)
        view = view[written:]


def _decode(data: bytes) -> tuple[list[Record], int]:
    """The intact records at the start of ``data`` and where they end."""
    records: list[Record] = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        start, end = offset + _HEADER.size, offset + _HEADER.size + length
        payload = data[start:end]
        if end > len(data) or zlib.crc32(payload) != crc:
            break
        try:
            records.append(_decoder.decode(payload))
        except (msgspec.DecodeError, msgspec.ValidationError):
            break
        offset = end
    return records, offset


class CorruptFileError(RuntimeError):
    """The file is damaged before its end, not just torn by a crash: not loaded."""


# Every payload is a msgpack array of 2 to 7 items whose first is a 1-letter tag.
_PAYLOAD_START = range(0x92, 0x98)
_TAG = 0xA1


def _record_at(data: bytes, at: int) -> bool:
    length, crc = _HEADER.unpack_from(data, at)
    end = at + _HEADER.size + length
    if end > len(data):
        return False
    payload = memoryview(data)[at + _HEADER.size : end]
    if zlib.crc32(payload) != crc:
        return False
    try:
        _decoder.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False
    return True


def _record_follows(data: bytes, start: int) -> bool:
    """Whether a whole, valid record begins anywhere from ``start`` on."""
    # Candidates are found by the tag's marker byte, so the scan runs at C speed
    # and only plausible headers are checksummed.
    marker = data.find(_TAG, start + _HEADER.size + 1)
    while marker >= 0:
        at = marker - _HEADER.size - 1
        if data[marker - 1] in _PAYLOAD_START and _record_at(data, at):
            return True
        marker = data.find(_TAG, marker + 1)
    return False


def _torn_tail(data: bytes, offset: int) -> bool:
    """Whether the bad record at ``offset`` is what a crash leaves at the end of the file."""
    if offset + _HEADER.size > len(data):
        return True  # the header itself was cut short
    (length, _) = _HEADER.unpack_from(data, offset)
    if offset + _HEADER.size + length >= len(data):
        # The last record: cut short, or its pages written out of order. Unless
        # its length is what was damaged (one high bit is enough to point past
        # the end): then whole records still follow it.
        return not _record_follows(data, offset + 1)
    # A file whose size grew before its data reached the disk reads as zeros.
    return not data[offset:].strip(b"\0")


def _read_head(path: Path, size: int) -> bytes:
    with open(path, "rb") as file:
        return file.read(size)


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
        # Set by the owner: drop the state and rebuild it from these records,
        # after a failed write left the state ahead of the file.
        self.rollback: Callable[[Iterable[Record]], None] | None = None
        # The system calls that touch the file; tests wrap them to inject faults.
        self.write_fd: Write = os.write
        self.sync_fd: Callable[[int], None] = os.fsync
        self.truncate_fd: Callable[[int, int], None] = os.ftruncate
        self.read_file: Callable[[Path, int], bytes] = _read_head
        # Why changes are refused until a retry succeeds: a tail that could not
        # be cut back, or a failed everysec fsync.
        self._fault: OSError | None = None
        self._torn = False
        # Bumped when a compaction switches files, under _lock: the syncer tells
        # the file it synced from the one in use.
        self._generation = 0
        # The state holds a change the file does not: a failed write whose
        # rollback could not read the file back.
        self._ahead = False
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

        A torn last record (a crash mid-write) is cut off, as Valkey does with
        ``aof-load-truncated``. A bad record with more records after it is not
        a crash but a damaged file: ``CorruptFileError``, and the file is left
        as it is, as Valkey refuses to load it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = self.path.read_bytes() if self.path.exists() else b""
        records, offset = _decode(data)
        if offset < len(data) and not _torn_tail(data, offset):
            raise CorruptFileError(
                f"{self.path}: the record at byte {offset} is damaged and "
                f"{len(data) - offset} bytes follow it; the file was left as it is. "
                f"Restore it, or cut it at byte {offset} to start from the "
                f"{len(records)} records before the damage (losing those after it)"
            )
        yield from records
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

    @property
    def buffered(self) -> int:
        """Records logged and not yet written (inside a ``batch``)."""
        return len(self._buffer)

    def flush(self) -> None:
        """Write what is buffered; on failure roll the owner back and raise ``PersistenceError``."""
        if not self._buffer:
            return
        if self._fd < 0:
            raise RuntimeError("the append-only file is not open: call replay() first")
        data = b"".join(self._buffer)
        self._buffer.clear()
        if self._ahead:
            # Writing now would make the file agree with a change its caller was
            # told had failed (a lease renewed on a token the file never gave).
            failure: OSError | None = OSError(
                "an earlier failed write could not be undone in memory yet"
            )
        else:
            with self._lock:
                failure = self._write(data)
        if failure is not None:
            self._roll_back()
            raise PersistenceError(
                f"the append-only file {self.path} could not be written ({failure}); "
                "the change was not made"
            ) from failure
        self._size += len(data)
        self.bytes_logged += len(data)
        if self._rewriting is not None:
            self._rewriting.append(data)
        elif self._size >= max(self.rewrite_min_bytes, 2 * self._rewrite_base):
            self._start_rewrite()

    def _write(self, data: bytes) -> OSError | None:
        """Append ``data`` whole or not at all; the error when not. Holds ``_lock``."""
        try:
            if self._torn:
                self.truncate_fd(self._fd, self._size)
                self._torn = False
            if self._fault is not None:
                raise OSError(self._fault.errno, f"an earlier fsync failed: {self._fault}")
            _write_all(self.write_fd, self._fd, data)
            if self.fsync == "always":
                self.sync_fd(self._fd)
            else:
                self._dirty = True
        except OSError as exc:
            # Part of it may be in the file: new records after those bytes would
            # be cut off with them at the next replay.
            try:
                self.truncate_fd(self._fd, self._size)
            except OSError:
                self._torn = True
            return exc
        return None

    @property
    def fault(self) -> OSError | None:
        """The failed everysec fsync that makes changes refused, until one succeeds."""
        return self._fault

    def _roll_back(self) -> None:
        if self.rollback is None:
            return
        try:
            records, _ = _decode(self.read_file(self.path, self._size))
        except OSError:
            # Without the file the state cannot be rebuilt: it stays ahead of the
            # file, and every change is refused until a retry of this succeeds.
            log.exception("%s: cannot read the file back to undo a failed write", self.path)
            self._ahead = True
            return
        self._ahead = False
        self.rollback(records)

    def _sync_every_second(self) -> None:
        while not self._closed.wait(1.0):
            with self._lock:
                if not self._dirty or self._fd < 0:
                    continue
                # A copy of the descriptor, synced outside the lock: an fsync can
                # take a long time, and the event loop takes the lock to write.
                try:
                    fd = os.dup(self._fd)
                except OSError:
                    continue  # out of descriptors: try again next second
                self._dirty = False
                generation = self._generation
            try:
                self.sync_fd(fd)
            except OSError as exc:
                with self._lock:
                    # A compaction replaced the file meanwhile with one synced in
                    # full: this one's failure loses nothing and must not refuse
                    # changes to the new one.
                    if self._generation == generation:
                        if self._fault is None:
                            log.error("%s: fsync failed, refusing changes: %s", self.path, exc)
                        self._fault = exc
                        self._dirty = True
            else:
                self._fault = None
            finally:
                os.close(fd)

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
            _write_all(self.write_fd, fd, b"".join(frame(record) for record in records))
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        return fd, temp

    def _finish_rewrite(self, done: asyncio.Future[tuple[int, Path]]) -> None:
        tail, self._rewriting, self._rewrite_task = self._rewriting or [], None, None
        if done.cancelled() or done.exception() is not None:
            self._rewrite_failed(done.exception() or asyncio.CancelledError())
            return
        fd, temp = done.result()
        try:
            self._switch_to(fd, temp, tail)
        except OSError as exc:
            self._rewrite_failed(exc)

    def _rewrite_failed(self, exc: BaseException) -> None:
        log.error("%s: compaction failed, the old file stays: %r", self.path, exc)
        # Try again once the file has doubled once more, not on every write.
        self._rewrite_base = self._size

    def _switch_to(self, fd: int, temp: Path, tail: list[bytes]) -> None:
        """Make the compacted file the one in use; on OSError the old one stays."""
        try:
            _write_all(self.write_fd, fd, b"".join(tail))
            self.sync_fd(fd)
            # Opened before the rename: no moment where the path is the new file
            # and the records still go to the old one.
            appender = _open_append(temp)
        except OSError:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        os.close(fd)
        with self._lock:
            if self._closed.is_set():
                os.close(appender)
                temp.unlink(missing_ok=True)
                return
            try:
                os.replace(temp, self.path)
            except OSError:
                os.close(appender)
                temp.unlink(missing_ok=True)
                raise
            old, self._fd = self._fd, appender
            os.close(old)
            self._size = self._rewrite_base = os.fstat(appender).st_size
            # Everything in the new file was synced above: an fsync that failed
            # on the old one no longer holds changes back (nor would the syncer,
            # with nothing dirty, ever retry it).
            self._dirty = False
            self._torn = False
            self._fault = None
            self._generation += 1
            self.rewrites += 1
        try:
            _fsync_dir(self.path)
        except OSError as exc:
            # The file in use is right; only a machine crash could bring back the old name.
            log.error("%s: cannot sync the folder after compaction: %s", self.path, exc)

    def rewrite(self) -> None:
        """Compact now, in this thread (tests and shutdown use it)."""
        if self.snapshot is None:
            raise RuntimeError("no snapshot source to compact from")
        self.flush()
        if self._ahead:
            self._roll_back()
            if self._ahead:
                # A snapshot now would persist the change that was refused.
                raise PersistenceError(f"{self.path}: the state is ahead of the file")
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
        try:
            self.flush()
        finally:
            self._closed.set()
            if self._syncer is not None:
                self._syncer.join()
            with self._lock:
                try:
                    if self.fsync != "no" or self._dirty:
                        self.sync_fd(self._fd)
                finally:
                    os.close(self._fd)
                    self._fd = -1
