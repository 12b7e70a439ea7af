"""An object store on the local filesystem, one file per object."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import os
import secrets
import stat
import time
from bisect import bisect_right
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiofiles
import aiofiles.os
import msgspec

from storage.keys import META_SUFFIX, TEMP_PREFIX, validate_key, validate_listing
from storage.ports import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    ByteRange,
    Data,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    StorageError,
)
from storage.requests import (
    check_chunk_size,
    check_expiry,
    check_range,
    chunks,
    resolve_range,
    validate_content_type,
    validate_metadata,
)

# A concurrent delete may prune a folder between our mkdir and our first write.
# Each lost race means another writer or deleter made progress, so retrying is
# safe; three was too few when several deletes prune the same folders at once.
_PUT_ATTEMPTS = 64
_HASH_BLOCK = 1024 * 1024
# A writer touches its temp file with every chunk and renames it within moments
# of the last, so one untouched this long was left by a crash (or by a writer
# stalled on its source for an hour, whose put then fails rather than lingers).
TEMP_MAX_AGE_S = 3600.0


class _Meta(msgspec.Struct, kw_only=True):
    """The sidecar: what a file cannot say about itself, and which file it describes."""

    content_type: str = DEFAULT_CONTENT_TYPE
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    checksum: str = ""
    # The data file this sidecar was written for; the two are renamed one after
    # the other, so a reader between the renames must be able to tell.
    size: int = -1
    inode: int = -1
    mtime_ns: int = -1

    def describes(self, st: os.stat_result) -> bool:
        return (self.size, self.inode, self.mtime_ns) == (st.st_size, st.st_ino, st.st_mtime_ns)


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + META_SUFFIX)


def _temp_path(path: Path) -> Path:
    return path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}")


def _fsync_dir(directory: Path) -> None:
    # Without this a crash can lose the rename even though the data was synced.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(directory: Path) -> None:
    missing: builtins.list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir()
        _fsync_dir(folder.parent)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _walk_error(exc: OSError) -> None:
    # A folder gone meanwhile (pruned by a delete, or a root not made yet) or a
    # file where the prefix names a folder holds no keys; any other fault would
    # silently hide objects from the listing, so it is raised.
    if not isinstance(exc, FileNotFoundError | NotADirectoryError):
        raise exc


def _take(path: Path) -> os.stat_result | None:
    """Remove the object file at ``path``; what it was, or None if there was none.

    It is renamed aside first, so the file removed is known exactly even when
    a put renames a new version into place at the same moment.
    """
    try:
        st = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    aside = _temp_path(path)
    try:
        os.rename(path, aside)
    except (FileNotFoundError, NotADirectoryError):
        return None  # removed by another delete meanwhile
    taken = aside.lstat()
    if not stat.S_ISREG(taken.st_mode):
        # A folder made where the file was, since the lstat: not ours to remove.
        os.rename(aside, path)
        return None
    aside.unlink()
    return taken


def _describes_a_live_file(path: Path, meta: _Meta) -> bool:
    """True when ``meta`` is the sidecar of the object now at ``path`` or of a put
    still writing it (whose temp file is in the same folder)."""
    temps = [p for p in path.parent.iterdir() if p.name.startswith(TEMP_PREFIX)]
    for candidate in (path, *temps):
        with contextlib.suppress(FileNotFoundError):
            if meta.describes(candidate.lstat()):
                return True
    return False


def _drop_sidecar(path: Path, removed: os.stat_result) -> None:
    # A put renames its sidecar in before its file. Between the two, the
    # sidecar belongs to the coming version, not to the file just removed, and
    # removing it would leave that version without its content type and
    # metadata. So the sidecar is taken aside, read, and put back if so.
    meta_path = _meta_path(path)
    aside = _temp_path(path)
    try:
        os.rename(meta_path, aside)
    except FileNotFoundError:
        return
    try:
        meta: _Meta | None = msgspec.json.decode(aside.read_bytes(), type=_Meta)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        meta = None
    try:
        if meta is not None and not meta.describes(removed) and _describes_a_live_file(path, meta):
            # A sidecar put there meanwhile is newer still and stays.
            with contextlib.suppress(FileExistsError):
                os.link(aside, meta_path)
    finally:
        aside.unlink()


async def _write_chunk(handle: Any, chunk: bytes) -> None:
    # One seam for every byte written, so tests can make the disk fill up.
    await handle.write(chunk)


class FileStore:
    """Objects as files under ``root``; content type, metadata and checksum in a sidecar.

    Data goes to a temp file that is synced and renamed into place, so a reader
    sees the old bytes or the new ones, never a part, and a failed write
    (a full disk) leaves the old object as it was. The sidecar is renamed just
    before the data and names the file it describes; ``head`` between the two
    renames, or after a crash between them, notices and reports the defaults
    with a checksum computed from the bytes themselves.
    """

    def __init__(self, root: str | Path) -> None:
        self._root = Path(root).resolve()

    @property
    def root(self) -> Path:
        return self._root

    def _path(self, key: str) -> Path:
        validate_key(key)
        # resolve() follows symlinks already inside the root; checking the result
        # is what stops a planted link from pointing writes elsewhere.
        try:
            path = (self._root / key).resolve()
        except (RuntimeError, OSError) as exc:
            # A symlink loop: RuntimeError up to Python 3.12, OSError (ELOOP) after.
            raise InvalidKey(f"object key {key!r} cannot be resolved: {exc}") from None
        if not path.is_relative_to(self._root) or path == self._root:
            raise InvalidKey(f"object key {key!r} resolves outside the store root {self._root}")
        return path

    @contextlib.contextmanager
    def _faults(self, action: str, key: str) -> Iterator[None]:
        """The disk's own errors (EACCES, EIO, ...) as StorageError, with what was being done."""
        try:
            yield
        except OSError as exc:
            raise StorageError(f"could not {action} {key!r} in {self._root}: {exc}") from exc

    async def _open_temp(self, path: Path) -> tuple[Path, Any]:
        for attempt in builtins.range(_PUT_ATTEMPTS):
            temp = _temp_path(path)
            try:
                # A delete may prune a folder while it is being made, too.
                await asyncio.to_thread(_make_dirs, path.parent)
                # The temp file keeps its folder non-empty, so no delete can prune it now.
                return temp, await aiofiles.open(temp, "xb")
            except FileNotFoundError:
                if attempt == _PUT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _write_temp(self, path: Path, data: Data) -> tuple[Path, _Meta]:
        temp, handle = await self._open_temp(path)
        try:
            digest = hashlib.sha256()
            try:
                async for chunk in chunks(data):
                    await _write_chunk(handle, chunk)
                    digest.update(chunk)
                await handle.flush()
                await asyncio.to_thread(os.fsync, handle.fileno())
                st = await asyncio.to_thread(os.fstat, handle.fileno())
            finally:
                await handle.close()
        except BaseException:
            await asyncio.to_thread(_remove, temp)
            raise
        meta = _Meta(
            checksum=digest.hexdigest(), size=st.st_size, inode=st.st_ino, mtime_ns=st.st_mtime_ns
        )
        return temp, meta

    async def _publish(self, path: Path, temp: Path, meta: _Meta) -> None:
        meta_temp = _temp_path(path)
        meta_path = _meta_path(path)
        try:
            async with aiofiles.open(meta_temp, "xb") as handle:
                await _write_chunk(handle, msgspec.json.encode(meta))
                await handle.flush()
                await asyncio.to_thread(os.fsync, handle.fileno())
            await asyncio.to_thread(os.replace, meta_temp, meta_path)
            try:
                await asyncio.to_thread(os.replace, temp, path)
            except BaseException:
                # The new sidecar names the new file, so it cannot pass for the old one's.
                await asyncio.to_thread(_remove, meta_path)
                raise
            # Gone means a delete of this key removed the new file and pruned the
            # folder since the rename (it syncs what it prunes): the put happened.
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(_fsync_dir, path.parent)
        finally:
            await asyncio.to_thread(_remove, meta_temp)
            await asyncio.to_thread(_remove, temp)

    async def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        path = self._path(key)
        checked = validate_metadata(metadata)
        validate_content_type(content_type)
        try:
            if await aiofiles.os.path.isdir(path):
                raise IsADirectoryError(str(path))
            try:
                temp, meta = await self._write_temp(path, data)
                meta.content_type = content_type
                meta.metadata = checked
                await self._publish(path, temp, meta)
            except BaseException:
                # Folders made for an object that never came would block a later
                # object of their name; only empty ones go, so others' stay.
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(self._prune, path.parent)
                raise
        except (NotADirectoryError, IsADirectoryError, FileExistsError) as exc:
            raise InvalidKey(
                f"object key {key!r} clashes with an existing object or folder at {path}"
            ) from exc
        except OSError as exc:
            raise StorageError(f"could not store {key!r} at {path}: {exc}") from exc

    async def _open(self, key: str) -> tuple[Any, os.stat_result]:
        path = self._path(key)
        try:
            handle = await aiofiles.open(path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        st = await asyncio.to_thread(os.fstat, handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            await handle.close()
            raise ObjectNotFound(key)
        return handle, st

    async def get(self, key: str, *, range: ByteRange | None = None) -> bytes:
        check_range(range)
        with self._faults("read", key):
            handle, st = await self._open(key)
            try:
                start, end = resolve_range(range, st.st_size)
                await handle.seek(start)
                data: bytes = await handle.read(end - start)
                return data
            finally:
                await handle.close()

    async def stream(
        self,
        key: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        range: ByteRange | None = None,
    ) -> AsyncIterator[bytes]:
        check_chunk_size(chunk_size)
        check_range(range)
        # The open file stays the version that was current at the start, even
        # if a put renames a new one into place meanwhile.
        with self._faults("read", key):
            handle, st = await self._open(key)
            try:
                start, end = resolve_range(range, st.st_size)
                await handle.seek(start)
                remaining = end - start
                while remaining > 0:
                    chunk: bytes = await handle.read(min(chunk_size, remaining))
                    if not chunk:
                        return
                    remaining -= len(chunk)
                    yield chunk
            finally:
                await handle.close()

    async def _read_meta(self, path: Path) -> _Meta | None:
        # A missing or damaged sidecar only costs the metadata, not the object.
        with contextlib.suppress(OSError, msgspec.DecodeError, msgspec.ValidationError):
            async with aiofiles.open(_meta_path(path), "rb") as handle:
                return msgspec.json.decode(await handle.read(), type=_Meta)
        return None

    async def head(self, key: str) -> ObjectInfo:
        path = self._path(key)
        with self._faults("look up", key):
            return await self._head(key, path)

    async def _head(self, key: str, path: Path) -> ObjectInfo:
        for attempt in builtins.range(3):
            try:
                st = await aiofiles.os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                raise ObjectNotFound(key) from None
            if not stat.S_ISREG(st.st_mode):
                raise ObjectNotFound(key)
            meta = await self._read_meta(path)
            if meta is not None and meta.describes(st):
                break
            # Possibly a put between its two renames; it is done in a moment.
            await asyncio.sleep(0.001 * attempt)
        else:
            checksum = await asyncio.to_thread(_sha256_of, path)
            meta = _Meta(checksum=checksum)
        return ObjectInfo(
            key=key,
            size=st.st_size,
            content_type=meta.content_type,
            modified=datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC),
            checksum=meta.checksum,
            metadata=meta.metadata,
        )

    async def exists(self, key: str) -> bool:
        return await aiofiles.os.path.isfile(self._path(key))

    async def delete(self, key: str) -> bool:
        path = self._path(key)
        with self._faults("delete", key):
            removed = await asyncio.to_thread(_take, path)
            if removed is None:
                return False
            await asyncio.to_thread(_drop_sidecar, path, removed)
            await asyncio.to_thread(self._prune, path.parent)
        return True

    async def sweep(self, older_than_s: float = TEMP_MAX_AGE_S) -> int:
        """Remove temp files a crashed writer left, if untouched for ``older_than_s``.

        Call it at start-up; fresh temp files may belong to a live writer (in
        this process or another on the same folder) and are left alone.
        Returns how many were removed.
        """
        try:
            return await asyncio.to_thread(self._sweep, time.time() - older_than_s)
        except OSError as exc:
            raise StorageError(f"could not sweep temp files under {self._root}: {exc}") from exc

    def _sweep(self, cutoff: float) -> int:
        removed = 0
        for dirpath, _dirnames, filenames in os.walk(self._root, onerror=_walk_error):
            for name in filenames:
                if not name.startswith(TEMP_PREFIX):
                    continue
                temp = Path(dirpath) / name
                try:
                    st = temp.lstat()
                except FileNotFoundError:
                    continue  # renamed into place or removed by its writer just now
                if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                    _remove(temp)
                    removed += 1
                    # A folder made only for the lost object would block a later
                    # object of its name; a put racing this retries its mkdir.
                    self._prune(temp.parent)
        return removed

    def _prune(self, directory: Path) -> None:
        # Empty folders left behind would block a later object of the same name.
        # A folder gone already was pruned by a concurrent delete, which goes on
        # upwards itself.
        with contextlib.suppress(FileNotFoundError):
            _fsync_dir(directory)
        while directory != self._root and directory.is_relative_to(self._root):
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent
            with contextlib.suppress(FileNotFoundError):
                _fsync_dir(directory)

    async def list(
        self, prefix: str = "", *, start_after: str | None = None, limit: int | None = None
    ) -> builtins.list[str]:
        validate_listing(prefix, start_after)
        with self._faults("list", prefix):
            keys = await asyncio.to_thread(self._list, prefix)
        if start_after is not None:
            keys = keys[bisect_right(keys, start_after) :]
        return keys if limit is None else keys[: max(limit, 0)]

    def _list(self, prefix: str) -> builtins.list[str]:
        # Only walk the folder the prefix names; its complete parts must form a
        # valid key themselves, or no valid key can start with the prefix.
        folder, _, _ = prefix.rpartition("/")
        start = self._root
        if folder:
            try:
                start = self._path(folder)
            except InvalidKey:
                return []
        keys: builtins.list[str] = []
        for dirpath, _dirnames, filenames in os.walk(start, onerror=_walk_error):
            base = Path(dirpath).relative_to(self._root).as_posix()
            for name in filenames:
                if name.startswith(TEMP_PREFIX) or name.endswith(META_SUFFIX):
                    continue
                key = name if base == "." else f"{base}/{name}"
                if not key.startswith(prefix):
                    continue
                try:
                    validate_key(key)
                except InvalidKey:
                    continue
                keys.append(key)
        keys.sort()
        return keys

    async def presign(self, key: str, expires_s: int = 300) -> str | None:
        self._path(key)
        check_expiry(expires_s)
        return None

    def locate(self, key: str) -> str:
        return str(self._path(key))

    async def close(self) -> None:
        return None
