"""One contract for every object store: the same tests run against each adapter."""

# Inspecting the disk directly is the point of these checks; a blocked loop is harmless here.
# ruff: noqa: ASYNC240

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from storage import (
    FileStore,
    InvalidKey,
    InvalidRange,
    InvalidRequest,
    MemoryStore,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    ScopedStore,
    StorageError,
    open_store,
)
from storage.s3 import S3Store
from tests.storage.conftest import new_bucket, s3_store


@dataclass
class Subject:
    store: ObjectStore
    # The folder a file-backed store writes into; None when nothing is on disk.
    root: Path | None
    kind: str

    def disk(self) -> dict[str, bytes | None]:
        """Every path under the root (files with contents, folders as None)."""
        if self.root is None or not self.root.exists():
            return {}
        snapshot: dict[str, bytes | None] = {}
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root).as_posix()
            snapshot[rel] = path.read_bytes() if path.is_file() else None
        return snapshot


@pytest.fixture(params=["file", "memory", "s3"])
async def subject(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Subject]:
    if request.param == "file":
        root = tmp_path / "objects"
        yield Subject(FileStore(root), root, "file")
    elif request.param == "memory":
        yield Subject(MemoryStore(), None, "memory")
    else:
        store = s3_store(request.getfixturevalue("s3_endpoint"), new_bucket())
        await store.create_bucket()
        try:
            yield Subject(store, None, "s3")
        finally:
            await store.close()


def same(info: ObjectInfo, key: str, size: int, content_type: str) -> bool:
    return (info.key, info.size, info.content_type) == (key, size, content_type)


async def collect(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in chunks]


async def pieces(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


async def test_put_get_head_exists_delete(subject: Subject) -> None:
    store = subject.store
    assert await store.exists("t/1.html") is False
    await store.put("t/1.html", b"<p>hi</p>", content_type="text/html")
    assert await store.get("t/1.html") == b"<p>hi</p>"
    assert same(await store.head("t/1.html"), "t/1.html", 9, "text/html")
    assert await store.exists("t/1.html") is True
    assert await store.delete("t/1.html") is True
    assert await store.exists("t/1.html") is False
    assert await store.delete("t/1.html") is False
    assert await store.list() == []


async def test_default_content_type_and_empty_object(subject: Subject) -> None:
    await subject.store.put("empty", b"")
    assert await subject.store.get("empty") == b""
    assert same(await subject.store.head("empty"), "empty", 0, "application/octet-stream")


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
    assert same(await store.head("k/doc"), "k/doc", 2, "application/json")
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
    pytest.param("a/b.Meta.JSON", id="reserved-sidecar-other-case"),
    pytest.param(".TMP-1", id="reserved-temp-other-case"),
    # Not UTF-8: neither a file name nor an S3 key can carry it.
    pytest.param("a/\ud800", id="lone-surrogate"),
    pytest.param("a\x01b", id="control-character"),
    pytest.param("a\nb", id="newline"),
    pytest.param("a\x7fb", id="delete-character"),
    # One part past what a file name (with its sidecar suffix) may be.
    pytest.param("x" * 246, id="part-too-long"),
    pytest.param("é" * 123, id="part-too-long-in-bytes"),
    # Under 512 characters but over S3's 1024 bytes.
    pytest.param("/".join(["€" * 80] * 5), id="too-many-bytes"),
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
    with pytest.raises(InvalidKey):
        await store.presign(key)
    with pytest.raises(InvalidKey):
        await collect(store.stream(key))
    with pytest.raises(InvalidKey):
        await store.put(key, pieces(b"evil"))
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
    assert same(await a.head("x"), "x", 7, "application/octet-stream")
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


@pytest.mark.parametrize("url", ["data/objects", "file://"])
def test_open_store_rejects_other_urls(url: str) -> None:
    with pytest.raises(ValueError, match="scheme ''" if url == "data/objects" else "no folder"):
        open_store(url)


async def test_head_reports_time_checksum_and_metadata(subject: Subject) -> None:
    store = subject.store
    before = datetime.now(UTC) - timedelta(seconds=2)
    await store.put("m/doc", b"alpha", content_type="text/plain", metadata={"ticket": "42"})
    info = await store.head("m/doc")
    assert same(info, "m/doc", 5, "text/plain")
    assert info.metadata == {"ticket": "42"}
    assert before <= info.modified <= datetime.now(UTC) + timedelta(seconds=2)
    assert info.modified.tzinfo is not None
    assert info.checksum and (await store.head("m/doc")).checksum == info.checksum
    if subject.kind != "s3":
        assert info.checksum == hashlib.sha256(b"alpha").hexdigest()

    await store.put("m/doc", b"beta", content_type="text/plain")
    second = await store.head("m/doc")
    assert second.checksum != info.checksum
    # Metadata belongs to one version: a put without it clears it.
    assert second.metadata == {}


@pytest.mark.parametrize(
    "metadata",
    [{"Upper": "x"}, {"with space": "x"}, {"": "x"}, {"ok": "é"}, {"ok": "line\nbreak"}],
    ids=["upper", "space", "empty-name", "non-ascii", "newline"],
)
async def test_unstorable_metadata_is_refused(subject: Subject, metadata: dict[str, str]) -> None:
    with pytest.raises(InvalidRequest, match="metadata"):
        await subject.store.put("m", b"x", metadata=metadata)
    assert await subject.store.exists("m") is False
    with pytest.raises(InvalidRequest, match="at most 2048"):
        await subject.store.put("m", b"x", metadata={"a": "v" * 2048})


@pytest.mark.parametrize(
    "content_type",
    ["", "text/html\r\nX-Injected: 1", "text/plain; charset=é", "x" * 256],
    ids=["empty", "header-break", "non-ascii", "too-long"],
)
async def test_unstorable_content_types_are_refused(subject: Subject, content_type: str) -> None:
    # S3 refuses some and rewrites others; every store refuses them alike.
    with pytest.raises(InvalidRequest, match="content type"):
        await subject.store.put("c", b"x", content_type=content_type)
    with pytest.raises(InvalidRequest, match="content type"):
        await subject.store.put("c", pieces(b"x"), content_type=content_type)
    assert await subject.store.exists("c") is False
    assert subject.disk() == {}


async def test_ranges(subject: Subject) -> None:
    store = subject.store
    data = bytes(range(256)) * 4
    await store.put("r", data)
    assert await store.get("r", range=(0, 10)) == data[:10]
    assert await store.get("r", range=(1000, None)) == data[1000:]
    assert await store.get("r", range=(1000, 5000)) == data[1000:]
    assert await store.get("r", range=(5, 5)) == b""
    assert await store.get("r", range=(1024, None)) == b""
    assert await collect(store.stream("r", range=(100, 300), chunk_size=64)) == [
        data[100:164],
        data[164:228],
        data[228:292],
        data[292:300],
    ]
    with pytest.raises(InvalidRange, match="1025"):
        await store.get("r", range=(1025, None))
    with pytest.raises(InvalidRange):
        await collect(store.stream("r", range=(2000, 3000)))
    for bad in [(-1, 5), (10, 5)]:
        with pytest.raises(InvalidRequest, match="start <= end"):
            await store.get("r", range=bad)
    with pytest.raises(ObjectNotFound):
        await store.get("missing", range=(0, 1))
    with pytest.raises(ObjectNotFound):
        await store.get("missing", range=(3, 3))
    await store.put("empty", b"")
    assert await store.get("empty", range=(0, None)) == b""
    assert await collect(store.stream("empty")) == []


async def test_stream_gives_bounded_chunks_of_one_version(subject: Subject) -> None:
    store = subject.store
    data = os.urandom(1_000_003)
    await store.put("s", data)
    parts = await collect(store.stream("s", chunk_size=100_000))
    assert b"".join(parts) == data
    assert all(0 < len(p) <= 100_000 for p in parts)
    with pytest.raises(ObjectNotFound):
        await collect(store.stream("nope"))
    with pytest.raises(InvalidRequest, match="chunk_size"):
        await collect(store.stream("s", chunk_size=0))


async def test_put_from_an_async_iterator(subject: Subject) -> None:
    store = subject.store
    await store.put("it", pieces(b"one ", b"", bytearray(b"two "), b"three"), content_type="text/x")
    assert await store.get("it") == b"one two three"
    assert same(await store.head("it"), "it", 13, "text/x")
    await store.put("none", pieces())
    assert await store.get("none") == b""
    with pytest.raises(InvalidRequest, match="bytes"):
        await store.put("bad", pieces(b"ok", "text"))  # type: ignore[arg-type]
    assert await store.exists("bad") is False


async def test_large_object_streams_in_and_out(subject: Subject) -> None:
    # Over two S3 parts (5 MiB each in these tests): a multipart upload there.
    block = os.urandom(1 << 20)
    await subject.store.put("big/blob", pieces(*[block] * 12), content_type="application/x")
    info = await subject.store.head("big/blob")
    assert same(info, "big/blob", 12 << 20, "application/x")
    digest = hashlib.sha256()
    async for chunk in subject.store.stream("big/blob", chunk_size=1 << 20):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(block * 12).hexdigest()
    assert await subject.store.get("big/blob", range=((12 << 20) - 3, None)) == block[-3:]


class Boom(Exception):
    pass


async def failing_after(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    raise Boom("the source broke")


@pytest.mark.parametrize("size", [1000, 11 << 20], ids=["small", "multipart"])
async def test_a_failing_source_stores_nothing(subject: Subject, size: int) -> None:
    store = subject.store
    await store.put("keep/old", b"old version")
    with pytest.raises(Boom):
        await store.put("keep/old", failing_after([b"n" * size]))
    with pytest.raises(Boom):
        await store.put("keep/new", failing_after([b"n" * size]))
    assert await store.get("keep/old") == b"old version"
    assert await store.exists("keep/new") is False
    assert await store.list() == ["keep/old"]
    if subject.root is not None:
        assert not [p for p in subject.root.rglob("*") if p.name.startswith(".tmp-")]


async def test_list_pages(subject: Subject) -> None:
    store = subject.store
    keys = [f"p/{i:03d}" for i in range(25)]
    for key in reversed(keys):
        await store.put(key, b"x")
    await store.put("q", b"x")
    pages: list[list[str]] = []
    after: str | None = None
    while page := await store.list("p/", start_after=after, limit=10):
        pages.append(page)
        after = page[-1]
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [k for p in pages for k in p] == keys
    assert await store.list(start_after="p/024") == ["q"]
    assert await store.list("p/", start_after="p/010", limit=2) == ["p/011", "p/012"]
    assert await store.list(limit=0) == []


async def test_presign(subject: Subject) -> None:
    store = subject.store
    await store.put("pub/a.html", b"<p>hi</p>", content_type="text/html")
    url = await store.presign("pub/a.html", 60)
    with pytest.raises(InvalidRequest, match="expires_s"):
        await store.presign("pub/a.html", 0)
    if subject.kind != "s3":
        assert url is None
        return
    assert url is not None
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        assert answer.status == 200
        assert await answer.read() == b"<p>hi</p>"
        assert answer.headers["Content-Type"] == "text/html"


async def test_scoped_stores_cannot_reach_each_other(subject: Subject) -> None:
    inner = subject.store
    a = ScopedStore(inner, "tenants/a")
    b = ScopedStore(inner, "tenants/b")
    await b.put("secret", b"b only", metadata={"owner": "b"})
    await b.put("x/y", b"deep")
    # Prefix tricks: a listing prefix or cursor that climbs or points elsewhere.
    for prefix in ("../b/", "../", "/", "..", "../b"):
        assert await a.list(prefix) == []
    assert await a.list(start_after="") == []
    assert await a.list(start_after="../b/a") == []
    for escape in ("../b/secret", "../../tenants/b/secret", "./../b/secret", "/tenants/b/secret"):
        with pytest.raises(InvalidKey):
            await a.head(escape)
        with pytest.raises(InvalidKey):
            await collect(a.stream(escape))
        with pytest.raises(InvalidKey):
            await a.get(escape, range=(0, 1))
        with pytest.raises(InvalidKey):
            await a.delete(escape)
        with pytest.raises(InvalidKey):
            await a.presign(escape)
        with pytest.raises(InvalidKey):
            await a.put(escape, pieces(b"overwrite"))
    # Percent-encoding is not decoded: it is a plain name inside a's own scope.
    with pytest.raises(ObjectNotFound):
        await a.get("%2e%2e/b/secret")
    assert await a.delete("%2e%2e/b/secret") is False
    assert await b.get("secret") == b"b only"
    assert (await b.head("secret")).metadata == {"owner": "b"}
    assert await b.list() == ["secret", "x/y"]


def test_open_store_s3_url() -> None:
    store = open_store(
        "s3://my-bucket/deploy/one?endpoint=http://127.0.0.1:9000&region=eu-central-1"
        "&path_style=true&part_size=16MiB",
        access_key_id="id",
        secret_access_key="secret",
    )
    assert isinstance(store, S3Store)
    assert store.bucket == "my-bucket"
    assert store.part_size == 16 << 20
    assert store.locate("t/1.html") == "s3://my-bucket/deploy/one/t/1.html"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://B/x", "not a bucket name"),
        ("s3://", "not a bucket name"),
        ("s3://bucket/a/../b", "prefix is unusable"),
        ("s3://bucket?endpoint=ftp://host", "http:// or https://"),
        ("s3://bucket?endpoint=http://", "http:// or https://"),
        ("s3://bucket?region=Mars%201", "not a region"),
        ("s3://bucket?path_style=maybe", "path_style must be true or false"),
        ("s3://bucket?part_size=1024", "part_size must be"),
        ("s3://bucket?part_size=lots", "part_size must be"),
        ("s3://bucket?secret=x", "unknown option 'secret'"),
        ("gs://bucket", "expected one of file://, memory://, s3://"),
    ],
)
def test_bad_store_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_store(url)


async def test_s3_errors_are_storage_errors(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint, "no-such-bucket-here")
    try:
        with pytest.raises(StorageError, match="NoSuchBucket"):
            await store.put("k", b"x")
        with pytest.raises(StorageError, match="NoSuchBucket"):
            await store.list()
    finally:
        await store.close()


async def test_mutating_what_head_returns_changes_nothing_stored(subject: Subject) -> None:
    store = subject.store
    await store.put("m/doc", b"x", metadata={"owner": "a"})
    info = await store.head("m/doc")
    info.metadata["owner"] = "someone else"
    info.metadata["added"] = "1"
    assert (await store.head("m/doc")).metadata == {"owner": "a"}
    scoped = ScopedStore(store, "m")
    (await scoped.head("doc")).metadata.clear()
    assert (await store.head("m/doc")).metadata == {"owner": "a"}


@pytest.mark.parametrize(
    "prefix",
    ["a/\ud800", "\udcff", "a\x00", "a\nb"],
    ids=["lone-surrogate", "surrogate-escape", "nul", "control-character"],
)
async def test_prefixes_no_key_can_have_are_refused(subject: Subject, prefix: str) -> None:
    store = subject.store
    await store.put("a/b", b"x")
    with pytest.raises(InvalidKey, match="prefix"):
        await store.list(prefix)
    with pytest.raises(InvalidKey, match="start_after"):
        await store.list(start_after=prefix)
    with pytest.raises(InvalidKey):
        await ScopedStore(store, "a").list(prefix)
    assert await store.list() == ["a/b"]
