"""One contract for every object store: the same tests run against each adapter."""

# Inspecting the disk directly is the point of these checks; a blocked loop is harmless here.
# ruff: noqa: ASYNC240

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage import (
    FileStore,
    InvalidKey,
    MemoryStore,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    ScopedStore,
    StorageError,
    open_store,
)


@dataclass
class Subject:
    store: ObjectStore
    # The folder a file-backed store writes into; None when nothing is on disk.
    root: Path | None

    def disk(self) -> dict[str, bytes | None]:
        """Every path under the root (files with contents, folders as None)."""
        if self.root is None or not self.root.exists():
            return {}
        snapshot: dict[str, bytes | None] = {}
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root).as_posix()
            snapshot[rel] = path.read_bytes() if path.is_file() else None
        return snapshot


@pytest.fixture(params=["file", "memory"])
async def subject(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Subject]:
    if request.param == "file":
        root = tmp_path / "objects"
        yield Subject(FileStore(root), root)
    else:
        yield Subject(MemoryStore(), None)


async def test_put_get_head_exists_delete(subject: Subject) -> None:
    store = subject.store
    assert await store.exists("t/1.html") is False
    await store.put("t/1.html", b"<p>hi</p>", content_type="text/html")
    assert await store.get("t/1.html") == b"<p>hi</p>"
    assert await store.head("t/1.html") == ObjectInfo("t/1.html", 9, "text/html")
    assert await store.exists("t/1.html") is True
    assert await store.delete("t/1.html") is True
    assert await store.exists("t/1.html") is False
    assert await store.delete("t/1.html") is False
    assert await store.list() == []


async def test_default_content_type_and_empty_object(subject: Subject) -> None:
    await subject.store.put("empty", b"")
    assert await subject.store.get("empty") == b""
    assert await subject.store.head("empty") == ObjectInfo("empty", 0, "application/octet-stream")


async def test_list_is_sorted_and_filters_by_prefix(subject: Subject) -> None:
    store = subject.store
    for key in ["b/2", "a/2", "ab", "a/10", "c", "a/1", "a/sub/x"]:
        await store.put(key, key.encode())
    assert await store.list() == ["a/1", "a/10", "a/2", "a/sub/x", "ab", "b/2", "c"]
    assert await store.list("a/") == ["a/1", "a/10", "a/2", "a/sub/x"]
    assert await store.list("a") == ["a/1", "a/10", "a/2", "a/sub/x", "ab"]
    assert await store.list("a/1") == ["a/1", "a/10"]
    assert await store.list("a/sub/") == ["a/sub/x"]
    assert await store.list("zzz") == []
    assert await store.list("zzz/") == []
    assert await store.list("../") == []


async def test_folders_are_not_objects(subject: Subject) -> None:
    store = subject.store
    await store.put("dir/obj", b"x")
    assert await store.exists("dir") is False
    with pytest.raises(ObjectNotFound):
        await store.get("dir")
    with pytest.raises(ObjectNotFound):
        await store.head("dir")
    assert await store.delete("dir") is False
    assert await store.get("dir/obj") == b"x"


async def test_overwrite_replaces_whole_object(subject: Subject) -> None:
    store = subject.store
    await store.put("k/doc", b"version one, longer than two", content_type="text/plain")
    await store.put("k/doc", b"v2", content_type="application/json")
    assert await store.get("k/doc") == b"v2"
    assert await store.head("k/doc") == ObjectInfo("k/doc", 2, "application/json")
    assert await store.list() == ["k/doc"]
    if subject.root is not None:
        names = [p.name for p in subject.root.rglob("*")]
        assert not [n for n in names if n.startswith(".tmp-")]


async def test_readers_never_see_a_partial_overwrite(subject: Subject) -> None:
    store = subject.store
    a, b = b"A" * 256_000, b"B" * 300_000
    await store.put("big", a)

    async def writer() -> None:
        for i in range(10):
            await store.put("big", b if i % 2 == 0 else a)

    async def reader() -> set[bytes]:
        seen: set[bytes] = set()
        for _ in range(30):
            seen.add(await store.get("big"))
            await asyncio.sleep(0)
        return seen

    _, *seen = await asyncio.gather(writer(), reader(), reader())
    assert set().union(*seen) <= {a, b}
    assert await store.list() == ["big"]


BAD_KEYS = [
    pytest.param("", id="empty"),
    pytest.param("x" * 513, id="too-long"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("..\\x", id="backslash-dotdot"),
    pytest.param("/etc/passwd", id="leading-slash"),
    pytest.param("a//b", id="empty-segment"),
    pytest.param("a/", id="trailing-slash"),
    pytest.param("./a", id="dot"),
    pytest.param("a/./b", id="inner-dot"),
    pytest.param("..", id="dotdot"),
    pytest.param("../x", id="leading-dotdot"),
    pytest.param("a/../b", id="inner-dotdot"),
    pytest.param("a/..", id="trailing-dotdot"),
    pytest.param(".tmp-123", id="reserved-temp"),
    pytest.param("a/b.meta.json", id="reserved-sidecar"),
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused_and_nothing_is_written(subject: Subject, key: str) -> None:
    store = subject.store
    await store.put("keep", b"k")
    before = subject.disk()
    with pytest.raises(InvalidKey):
        await store.put(key, b"evil")
    for call in (store.get, store.head, store.exists, store.delete):
        with pytest.raises(InvalidKey):
            await call(key)
    with pytest.raises(InvalidKey):
        store.locate(key)
    assert subject.disk() == before
    assert await store.list() == ["keep"]
    if subject.root is not None:
        assert not (subject.root.parent / "x").exists()
        assert not (subject.root.parent / "b").exists()


async def test_invalid_key_is_a_value_error_with_a_clear_message(subject: Subject) -> None:
    with pytest.raises(ValueError, match=r"'\.\.'"):
        await subject.store.put("a/../b", b"x")
    with pytest.raises(StorageError, match="empty"):
        await subject.store.get("")


async def test_longest_key_is_accepted(subject: Subject) -> None:
    # Parts stay under the usual 255-byte file-name limit.
    key = "x" * 200 + "/" + "y" * 200 + "/" + "z" * 110
    assert len(key) == 512
    await subject.store.put(key, b"edge")
    assert await subject.store.get(key) == b"edge"
    assert await subject.store.list() == [key]


async def test_missing_objects_raise_object_not_found(subject: Subject) -> None:
    store = subject.store
    with pytest.raises(ObjectNotFound):
        await store.get("nope")
    with pytest.raises(KeyError):
        await store.head("nope/deeper")
    assert await store.exists("nope") is False
    assert await store.delete("nope") is False


async def test_locate_names_the_object(subject: Subject) -> None:
    await subject.store.put("t/x.html", b"<html>")
    where = subject.store.locate("t/x.html")
    assert where.endswith("t/x.html")
    if subject.root is not None:
        assert Path(where).is_absolute()
        assert Path(where).read_bytes() == b"<html>"


async def test_scoped_store_isolates_tenants(subject: Subject) -> None:
    inner = subject.store
    a = ScopedStore(inner, "tenants/a")
    b = ScopedStore(inner, "tenants/b")
    ab = ScopedStore(inner, "tenants/ab")
    await b.put("x", b"b's secret", content_type="text/plain")
    await b.put("sub/y", b"y")
    await ab.put("z", b"neighbour")

    assert await a.list() == []
    assert await a.exists("x") is False
    with pytest.raises(ObjectNotFound):
        await a.get("x")
    for escape in ("../b/x", "../../tenants/b/x", "/tenants/b/x", "..", "a/../../b/x"):
        with pytest.raises(InvalidKey):
            await a.get(escape)
        with pytest.raises(InvalidKey):
            await a.put(escape, b"overwrite")
    assert await b.get("x") == b"b's secret"

    await a.put("x", b"a's own")
    assert await a.get("x") == b"a's own"
    assert await a.head("x") == ObjectInfo("x", 7, "application/octet-stream")
    assert await a.list() == ["x"]
    assert await b.list() == ["sub/y", "x"]
    assert await b.list("s") == ["sub/y"]
    assert await ab.list() == ["z"]
    assert await inner.list("tenants/") == [
        "tenants/a/x",
        "tenants/ab/z",
        "tenants/b/sub/y",
        "tenants/b/x",
    ]
    assert await a.delete("x") is True
    assert await b.get("x") == b"b's secret"
    assert a.locate("x") == inner.locate("tenants/a/x")


@pytest.mark.parametrize("prefix", ["", "../a", "a/", "/a", "a//b"])
def test_scoped_store_validates_its_prefix(prefix: str) -> None:
    with pytest.raises(InvalidKey):
        ScopedStore(MemoryStore(), prefix)


def test_open_store_relative_file_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("file://data/objects")
    assert isinstance(store, FileStore)
    assert store.root == tmp_path.resolve() / "data" / "objects"


def test_open_store_absolute_file_url(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/objs")
    assert isinstance(store, FileStore)
    assert store.root == tmp_path.resolve() / "objs"
    assert os.path.isabs(store.locate("k"))


def test_open_store_memory_url() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)


@pytest.mark.parametrize("url", ["s3://bucket/x", "data/objects", "file://"])
def test_open_store_rejects_other_urls(url: str) -> None:
    scheme = url.partition("://")[0] if "://" in url else ""
    with pytest.raises(ValueError, match=repr(scheme) if scheme != "file" else "no folder"):
        open_store(url)
