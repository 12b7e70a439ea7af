"""An object store on the local filesystem, one file per object."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import secrets
from pathlib import Path

import aiofiles
import aiofiles.os
import msgspec

from storage.keys import META_SUFFIX, TEMP_PREFIX, validate_key
from storage.ports import InvalidKey, ObjectInfo, ObjectNotFound, StorageError

DEFAULT_CONTENT_TYPE = "application/octet-stream"

# A concurrent delete may prune a folder between our mkdir and our write.
_PUT_ATTEMPTS = 3


class _Meta(msgspec.Struct):
    content_type: str = DEFAULT_CONTENT_TYPE


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + META_SUFFIX)


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


def _remove_temp(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class FileStore:
    """Objects as files under ``root``; the content type sits in a sidecar file.

    Each file is written to a temp file, synced, then renamed into place, so a
    reader sees the old bytes or the new ones. The sidecar is replaced just
    before the data, so for a moment ``head`` may report the new content type
    with the old bytes; it never reports an object whose data is missing.
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
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root) or path == self._root:
            raise InvalidKey(f"object key {key!r} resolves outside the store root {self._root}")
        return path

    async def _write_atomic(self, target: Path, data: bytes) -> None:
        temp = target.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}")
        try:
            async with aiofiles.open(temp, "xb") as handle:
                await handle.write(data)
                await handle.flush()
                await asyncio.to_thread(os.fsync, handle.fileno())
            await asyncio.to_thread(os.replace, temp, target)
        except BaseException:
            await asyncio.to_thread(_remove_temp, temp)
            raise

    async def put(self, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        path = self._path(key)
        meta = msgspec.json.encode(_Meta(content_type=content_type))
        try:
            for attempt in range(_PUT_ATTEMPTS):
                try:
                    await asyncio.to_thread(_make_dirs, path.parent)
                    await self._write_atomic(_meta_path(path), meta)
                    await self._write_atomic(path, bytes(data))
                    break
                except FileNotFoundError:
                    if attempt == _PUT_ATTEMPTS - 1:
                        raise
            await asyncio.to_thread(_fsync_dir, path.parent)
        except (NotADirectoryError, IsADirectoryError, FileExistsError) as exc:
            raise InvalidKey(
                f"object key {key!r} clashes with an existing object or folder at {path}"
            ) from exc
        except OSError as exc:
            raise StorageError(f"could not store {key!r} at {path}: {exc}") from exc

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            async with aiofiles.open(path, "rb") as handle:
                return await handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    async def head(self, key: str) -> ObjectInfo:
        path = self._path(key)
        if not await aiofiles.os.path.isfile(path):
            raise ObjectNotFound(key)
        size = (await aiofiles.os.stat(path)).st_size
        content_type = DEFAULT_CONTENT_TYPE
        # A missing or damaged sidecar only costs the content type, not the object.
        with contextlib.suppress(OSError, msgspec.DecodeError):
            async with aiofiles.open(_meta_path(path), "rb") as handle:
                content_type = msgspec.json.decode(await handle.read(), type=_Meta).content_type
        return ObjectInfo(key=key, size=size, content_type=content_type)

    async def exists(self, key: str) -> bool:
        return await aiofiles.os.path.isfile(self._path(key))

    async def delete(self, key: str) -> bool:
        path = self._path(key)
        try:
            await aiofiles.os.remove(path)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            if await aiofiles.os.path.isfile(path):
                raise
            return False
        with contextlib.suppress(FileNotFoundError):
            await aiofiles.os.remove(_meta_path(path))
        await asyncio.to_thread(self._prune, path.parent)
        return True

    def _prune(self, directory: Path) -> None:
        # Empty folders left behind would block a later object of the same name.
        _fsync_dir(directory)
        while directory != self._root and directory.is_relative_to(self._root):
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent
            _fsync_dir(directory)

    async def list(self, prefix: str = "") -> builtins.list[str]:
        return await asyncio.to_thread(self._list, prefix)

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
        for dirpath, _dirnames, filenames in os.walk(start):
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

    def locate(self, key: str) -> str:
        return str(self._path(key))
