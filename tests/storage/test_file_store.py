"""What only the filesystem store can get wrong: symlinks, crashes, file layout."""

# Inspecting the disk directly is the point of these checks; a blocked loop is harmless here.
# ruff: noqa: ASYNC240

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import subprocess
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import storage.file
from storage import FileStore, InvalidKey, ObjectNotFound, StorageError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


def _visible_and_temp(root: Path) -> tuple[list[str], list[str]]:
    names = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    temps = [n for n in names if Path(n).name.startswith(".tmp-")]
    return names, temps


async def test_symlinked_folder_cannot_lead_outside_the_root(root: Path, outside: Path) -> None:
    store = FileStore(root)
    await store.put("inside", b"ok")
    (root / "link").symlink_to(outside, target_is_directory=True)
    (outside / "secret").write_bytes(b"host file")

    with pytest.raises(InvalidKey, match="outside"):
        await store.put("link/planted", b"evil")
    with pytest.raises(InvalidKey):
        await store.get("link/secret")
    with pytest.raises(InvalidKey):
        await store.delete("link/secret")
    with pytest.raises(InvalidKey):
        store.locate("link/secret")
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_bytes() == b"host file"
    # list walks without following links, so the outside file is not offered either.
    assert await store.list() == ["inside"]


async def test_symlinked_file_cannot_point_outside_the_root(root: Path, outside: Path) -> None:
    store = FileStore(root)
    await store.put("real", b"r")
    (outside / "passwd").write_bytes(b"root:x:0:0")
    (root / "alias").symlink_to(outside / "passwd")
    with pytest.raises(InvalidKey):
        await store.get("alias")
    with pytest.raises(InvalidKey):
        await store.put("alias", b"overwrite")
    assert (outside / "passwd").read_bytes() == b"root:x:0:0"


def _fail_replace_on_call(monkeypatch: pytest.MonkeyPatch, failing_call: int) -> list[int]:
    real_replace = os.replace
    calls: list[int] = []

    def flaky_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(1)
        if len(calls) == failing_call:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    return calls


@pytest.mark.parametrize("failing_call", [1, 2], ids=["sidecar", "data"])
async def test_failed_put_leaves_no_object_and_no_temp_file(
    root: Path, monkeypatch: pytest.MonkeyPatch, failing_call: int
) -> None:
    store = FileStore(root)
    calls = _fail_replace_on_call(monkeypatch, failing_call)
    with pytest.raises(StorageError, match=r"could not store 'logs/1\.txt'.*No space left"):
        await store.put("logs/1.txt", b"payload", content_type="text/plain")
    assert len(calls) == failing_call
    _, temps = _visible_and_temp(root)
    assert temps == []
    assert await store.exists("logs/1.txt") is False
    assert await store.list() == []
    with pytest.raises(ObjectNotFound):
        await store.get("logs/1.txt")

    # The fault was transient: the same put now goes through.
    await store.put("logs/1.txt", b"payload", content_type="text/plain")
    info = await store.head("logs/1.txt")
    assert (info.key, info.size, info.content_type) == ("logs/1.txt", 7, "text/plain")


async def test_failed_overwrite_keeps_the_old_bytes(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(root)
    await store.put("doc", b"old bytes")
    _fail_replace_on_call(monkeypatch, 2)
    with pytest.raises(StorageError):
        await store.put("doc", b"new bytes, never seen")
    assert await store.get("doc") == b"old bytes"
    assert _visible_and_temp(root)[1] == []


async def test_layout_on_disk_is_plain_files_with_hidden_sidecars(root: Path) -> None:
    store = FileStore(root)
    await store.put("t/42/transcript.html", b"<html/>", content_type="text/html")
    path = root / "t" / "42" / "transcript.html"
    assert path.read_bytes() == b"<html/>"
    assert store.locate("t/42/transcript.html") == str(path.resolve())
    names, temps = _visible_and_temp(root)
    assert sorted(names) == ["t/42/transcript.html", "t/42/transcript.html.meta.json"]
    assert temps == []
    assert await store.list() == ["t/42/transcript.html"]


async def test_list_skips_stray_temp_and_sidecar_files(root: Path) -> None:
    store = FileStore(root)
    await store.put("a", b"1")
    # What a crash between write and rename leaves behind.
    (root / ".tmp-deadbeef").write_bytes(b"half")
    (root / "gone.meta.json").write_bytes(b'{"content_type":"text/plain"}')
    assert await store.list() == ["a"]
    assert await store.exists("gone") is False


async def test_missing_or_broken_sidecar_falls_back_to_default_type(root: Path) -> None:
    store = FileStore(root)
    await store.put("a", b"abc", content_type="text/plain")
    (root / "a.meta.json").write_bytes(b"not json")
    info = await store.head("a")
    assert (info.size, info.content_type) == (3, "application/octet-stream")
    # The checksum does not depend on the sidecar: it is computed from the bytes.
    assert info.checksum == hashlib.sha256(b"abc").hexdigest()
    (root / "a.meta.json").unlink()
    assert (await store.head("a")).content_type == "application/octet-stream"


async def test_a_sidecar_of_another_version_is_not_believed(root: Path) -> None:
    # What a crash between renaming the sidecar and renaming the data leaves.
    store = FileStore(root)
    await store.put("a", b"old", content_type="text/plain", metadata={"v": "1"})
    old_sidecar = (root / "a.meta.json").read_bytes()
    await store.put("a", b"new!", content_type="text/html", metadata={"v": "2"})
    (root / "a.meta.json").write_bytes(old_sidecar)
    info = await store.head("a")
    assert (info.size, info.content_type, info.metadata) == (4, "application/octet-stream", {})
    assert info.checksum == hashlib.sha256(b"new!").hexdigest()


async def test_object_and_folder_of_the_same_name_clash(root: Path) -> None:
    store = FileStore(root)
    await store.put("a", b"file")
    with pytest.raises(InvalidKey, match="clashes"):
        await store.put("a/b", b"under a file")
    await store.put("c/d", b"in a folder")
    with pytest.raises(InvalidKey, match="clashes"):
        await store.put("c", b"over a folder")
    assert await store.list() == ["a", "c/d"]
    # Deleting the last object prunes its folder, so the name is free again.
    assert await store.delete("c/d") is True
    assert not (root / "c").exists()
    await store.put("c", b"now a file")
    assert await store.list() == ["a", "c"]
    assert root.is_dir()


async def test_root_is_created_lazily(root: Path) -> None:
    store = FileStore(root)
    assert await store.list() == []
    assert not root.exists()
    await store.put("x", b"1")
    assert root.is_dir()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs, so the kernel itself says ENOSPC (needs root)."""
    mount = tmp_path / f"tmpfs-{uuid.uuid4().hex[:8]}"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        # test_disk_full_mid_stream covers the same path through a write that fails.
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


async def _blocks(count: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield b"z" * size


async def test_full_disk_keeps_the_old_version_and_leaves_no_temp(tiny_disk: Path) -> None:
    store = FileStore(tiny_disk / "objects")
    await store.put("t/doc", b"old version", content_type="text/plain", metadata={"v": "1"})
    before = await store.head("t/doc")
    with pytest.raises(StorageError, match=r"could not store 't/doc'.*No space left on device"):
        await store.put("t/doc", _blocks(40), content_type="text/html")
    with pytest.raises(StorageError, match="No space left"):
        await store.put("t/other", b"y" * (2 << 20))
    assert await store.get("t/doc") == b"old version"
    assert await store.head("t/doc") == before
    assert await store.exists("t/other") is False
    assert await store.list() == ["t/doc"]
    assert _visible_and_temp(tiny_disk / "objects")[1] == []
    # The space came back when the temp file went: a small object fits again.
    await store.put("t/small", b"fits")
    assert await store.get("t/small") == b"fits"


async def test_disk_full_mid_stream(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(root)
    await store.put("doc", b"old version", metadata={"v": "1"})
    before = await store.head("doc")
    real_write = storage.file._write_chunk
    written: list[int] = []

    async def filling_disk(handle: object, chunk: bytes) -> None:
        if sum(written) + len(chunk) > 200_000:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(len(chunk))
        await real_write(handle, chunk)

    monkeypatch.setattr(storage.file, "_write_chunk", filling_disk)
    with pytest.raises(StorageError, match=r"could not store 'doc'.*No space left on device"):
        await store.put("doc", _blocks(10))
    assert sum(written) > 0  # the failure came mid-stream, after some bytes were on disk
    assert await store.get("doc") == b"old version"
    assert await store.head("doc") == before
    assert _visible_and_temp(root)[1] == []


async def test_a_failed_put_leaves_no_folder_that_blocks_a_later_object(root: Path) -> None:
    store = FileStore(root)
    await store.put("keep", b"k")

    async def broken() -> AsyncIterator[bytes]:
        yield b"part"
        raise OSError(errno.EIO, "the source went away")

    with pytest.raises(StorageError):
        await store.put("a/b/c", broken())
    # The folders made for the failed object went with it ...
    assert sorted(p.name for p in root.iterdir()) == ["keep", "keep.meta.json"]
    # ... so "a" is still free to be an object of its own.
    await store.put("a", b"now a file")
    assert await store.list() == ["a", "keep"]


async def test_a_symlink_loop_is_a_bad_key_not_a_crash(root: Path) -> None:
    store = FileStore(root)
    await store.put("real", b"r")
    (root / "loop").symlink_to("loop")
    for call in (store.get, store.head, store.exists, store.delete):
        with pytest.raises(InvalidKey, match="cannot be resolved"):
            await call("loop/x")
    with pytest.raises(InvalidKey, match="cannot be resolved"):
        await store.put("loop/x", b"x")
    assert await store.get("real") == b"r"


async def test_puts_and_deletes_in_one_folder_do_not_trip_over_each_other(root: Path) -> None:
    # Each delete prunes the folder it emptied while others make it again or
    # prune it too; neither may fail because the folder came or went meanwhile.
    store = FileStore(root)

    async def churn(name: str) -> None:
        for _ in range(200):
            await store.put(f"a/b/c/{name}", b"x")
            assert await store.delete(f"a/b/c/{name}") is True

    await asyncio.gather(*(churn(f"k{i}") for i in range(4)))
    assert await store.list() == []
    assert not (root / "a").exists()


async def test_a_delete_between_a_puts_rename_and_its_folder_sync_is_no_failed_put(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A put of a key and a delete of it, from another process: the put renamed
    # its file into place, the delete removed it and pruned the folder, and only
    # then did the put sync the folder. The put had succeeded; it must say so.
    store = FileStore(root)
    real_fsync_dir = storage.file._fsync_dir
    deleted: list[bool] = []

    def deleted_meanwhile(directory: Path) -> None:
        if not deleted and (root / "a" / "b" / "doc").is_file():
            deleted.append(asyncio.run(FileStore(root).delete("a/b/doc")))
        real_fsync_dir(directory)

    monkeypatch.setattr(storage.file, "_fsync_dir", deleted_meanwhile)
    await store.put("a/b/doc", b"x", content_type="text/plain")
    assert deleted == [True]
    assert await store.exists("a/b/doc") is False
    assert not (root / "a").exists()
    await store.put("a/b/doc", b"again")
    assert await store.get("a/b/doc") == b"again"


async def test_a_delete_between_a_puts_two_renames_keeps_the_new_versions_metadata(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The put renamed its sidecar into place, then a delete (another process)
    # removed the old file, then the put renamed its new file into place. The
    # new version is the object now; the delete must not have taken its sidecar.
    store = FileStore(root)
    await store.put("t/doc", b"old", content_type="text/plain", metadata={"v": "1"})
    real_replace = os.replace
    deleted: list[bool] = []

    def delete_between(src: str | Path, dst: str | Path) -> None:
        real_replace(src, dst)
        if not deleted and str(dst).endswith(storage.file.META_SUFFIX):
            deleted.append(asyncio.run(FileStore(root).delete("t/doc")))

    monkeypatch.setattr(os, "replace", delete_between)
    await store.put("t/doc", b"<p>new</p>", content_type="text/html", metadata={"v": "2"})
    monkeypatch.undo()
    assert deleted == [True]
    info = await store.head("t/doc")
    assert (info.content_type, info.metadata) == ("text/html", {"v": "2"})
    assert info.checksum == hashlib.sha256(b"<p>new</p>").hexdigest()
    assert _visible_and_temp(root)[1] == []
    assert await store.delete("t/doc") is True
    assert not (root / "t").exists()  # no sidecar left behind to keep the folder


async def test_puts_and_deletes_of_one_key_leave_a_whole_object_or_none(root: Path) -> None:
    # Neither may fail, and whatever is left is one put's bytes with that put's
    # metadata, in a folder that goes once the object does.
    store = FileStore(root)

    async def putter(n: int) -> None:
        for i in range(60):
            await store.put("a/doc", f"{n}-{i}".encode(), metadata={"v": f"{n}-{i}"})

    async def deleter() -> None:
        for _ in range(60):
            await store.delete("a/doc")

    await asyncio.gather(putter(1), putter(2), deleter(), deleter())
    await store.put("a/doc", b"last", metadata={"v": "last"})
    await asyncio.gather(putter(3), deleter())
    if await store.exists("a/doc"):
        info = await store.head("a/doc")
        assert info.metadata == {"v": (await store.get("a/doc")).decode()}
        await store.delete("a/doc")
    assert _visible_and_temp(root) == ([], [])
    assert not (root / "a").exists()


async def test_streamed_puts_and_reads_hold_a_chunk_not_the_object(root: Path) -> None:
    # 32 MiB through a 1 MiB block the source hands out again and again: only
    # the file store's own buffering shows in the peak.
    store = FileStore(root)
    block = os.urandom(1 << 20)

    async def source() -> AsyncIterator[bytes]:
        for _ in range(32):
            yield block

    tracemalloc.start()
    try:
        await store.put("big", source())
        digest = hashlib.sha256()
        async for chunk in store.stream("big", chunk_size=256 * 1024):
            digest.update(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == hashlib.sha256(block * 32).hexdigest()
    assert peak < 4 << 20


async def collect(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in chunks]


def _fault(code: int) -> OSError:
    return OSError(code, os.strerror(code))


async def test_read_faults_are_storage_errors_not_raw_os_errors(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores permissions, so the kernel's answers are injected where the
    # store asks: opening, reading, stat, removing and walking folders.
    store = FileStore(root)
    await store.put("t/doc", b"bytes", metadata={"v": "1"})
    real_open = storage.file.aiofiles.open

    def refusing_open(path: object, mode: str = "r", **kw: object) -> object:
        if mode == "rb":
            raise _fault(errno.EACCES)
        return real_open(path, mode, **kw)  # type: ignore[call-overload]

    with monkeypatch.context() as patch:
        patch.setattr(storage.file.aiofiles, "open", refusing_open)
        for call in (store.get, lambda key: collect(store.stream(key))):
            with pytest.raises(StorageError, match=r"could not read 't/doc'.*Permission denied"):
                await call("t/doc")

    async def failing_read(*args: object) -> bytes:
        raise _fault(errno.EIO)

    def open_then_fail(path: object, mode: str = "r", **kw: object) -> object:
        opening = real_open(path, mode, **kw)  # type: ignore[call-overload]

        async def opened() -> object:
            handle = await opening
            if mode == "rb":
                handle.read = failing_read
            return handle

        return opened()

    with monkeypatch.context() as patch:
        patch.setattr(storage.file.aiofiles, "open", open_then_fail)
        for call in (store.get, lambda key: collect(store.stream(key))):
            with pytest.raises(StorageError, match=r"could not read 't/doc'.*Input/output error"):
                await call("t/doc")

    async def refusing(*args: object, **kw: object) -> object:
        raise _fault(errno.EACCES)

    with monkeypatch.context() as patch:
        patch.setattr(storage.file.aiofiles.os, "stat", refusing)
        with pytest.raises(StorageError, match=r"could not look up 't/doc'.*Permission denied"):
            await store.head("t/doc")

    def refused(*args: object, **kw: object) -> None:
        raise _fault(errno.EACCES)

    with monkeypatch.context() as patch:
        patch.setattr(os, "rename", refused)  # a delete moves the file aside first
        with pytest.raises(StorageError, match=r"could not delete 't/doc'.*Permission denied"):
            await store.delete("t/doc")
    assert await store.get("t/doc") == b"bytes"  # still there

    def unreadable_folder(path: object) -> object:
        raise _fault(errno.EIO)

    with monkeypatch.context() as patch:
        patch.setattr(os, "scandir", unreadable_folder)
        for prefix in ("", "t/"):
            with pytest.raises(StorageError, match=r"could not list 't?/?'.*Input/output error"):
                await store.list(prefix)
    # The faults were transient: everything is as it was.
    assert await store.get("t/doc") == b"bytes"
    assert (await store.head("t/doc")).metadata == {"v": "1"}
    assert await store.list() == ["t/doc"]


async def test_a_file_where_a_folder_should_be_is_not_found_not_a_fault(root: Path) -> None:
    # ENOTDIR from the kernel: "a" is an object, so nothing can be under it.
    store = FileStore(root)
    await store.put("a", b"file")
    with pytest.raises(ObjectNotFound):
        await store.get("a/b")
    with pytest.raises(ObjectNotFound):
        await collect(store.stream("a/b"))
    with pytest.raises(ObjectNotFound):
        await store.head("a/b")
    assert await store.exists("a/b") is False
    assert await store.delete("a/b") is False
    assert await store.list("a/") == []
    assert await store.list("a/b/") == []


def leftover(path: Path, age_s: float) -> Path:
    """A temp file as a crash leaves it, last touched ``age_s`` seconds ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half of an object")
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


async def test_sweep_removes_old_temp_files_and_leaves_fresh_ones(root: Path) -> None:
    store = FileStore(root)
    await store.put("keep", b"k")
    await store.put("t/doc", b"d")
    # What a crash mid-put leaves: a temp beside an object, one in a folder
    # made only for the object that never came, and one of a sidecar.
    beside = leftover(root / "t" / ".tmp-00112233aabbccdd", 7200)
    alone = leftover(root / "lost" / "deep" / ".tmp-0123456789abcdef", 2 * 86400)
    at_root = leftover(root / ".tmp-ffeeddccbbaa9988", 3700)
    # A live writer's temp file, touched moments ago, must survive.
    live = leftover(root / "t" / ".tmp-aaaaaaaaaaaaaaaa", 5)
    assert await store.list() == ["keep", "t/doc"]

    assert await store.sweep() == 3
    assert not beside.exists() and not alone.exists() and not at_root.exists()
    assert live.read_bytes() == b"half of an object"
    # The folders made for the lost object went too, so its name is free again.
    assert not (root / "lost").exists()
    await store.put("lost", b"now a file")
    assert await store.list() == ["keep", "lost", "t/doc"]
    assert await store.get("t/doc") == b"d"
    assert await store.sweep() == 0
    assert await FileStore(root / "never-made").sweep() == 0
