"""Objects served to a browser through a real aiohttp server."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from storage import FileStore, ObjectStore
from storage.http import serve_object
from storage.s3 import S3Store

BODY = bytes(range(256)) * 1000  # 256 000 bytes


async def _server(store: ObjectStore, *, redirect: bool = True) -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await serve_object(request, store, request.match_info["key"], redirect=redirect)

    app = web.Application()
    app.router.add_get("/o/{key:.+}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/o/"
    finally:
        await runner.cleanup()


@pytest.fixture
async def file_base(tmp_path: Path) -> AsyncIterator[tuple[str, FileStore]]:
    store = FileStore(tmp_path / "objects")
    await store.put("t/1.html", BODY, content_type="text/html; charset=utf-8")
    async for base in _server(store):
        yield base, store


async def test_whole_object(file_base: tuple[str, FileStore]) -> None:
    base, store = file_base
    info = await store.head("t/1.html")
    async with aiohttp.ClientSession() as http, http.get(base + "t/1.html") as answer:
        assert answer.status == 200
        assert await answer.read() == BODY
        assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
        assert answer.headers["Content-Length"] == str(len(BODY))
        assert answer.headers["ETag"] == f'"{hashlib.sha256(BODY).hexdigest()}"'
        assert answer.headers["Accept-Ranges"] == "bytes"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Last-Modified"] == info.modified.strftime(
            "%a, %d %b %Y %H:%M:%S GMT"
        )


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-9", 0, 10), ("bytes=255990-", 255990, 256000), ("bytes=-5", 255995, 256000)],
)
async def test_ranges_get_206(
    file_base: tuple[str, FileStore], header: str, start: int, end: int
) -> None:
    base, _ = file_base
    async with (
        aiohttp.ClientSession() as http,
        http.get(base + "t/1.html", headers={"Range": header}) as answer,
    ):
        assert answer.status == 206
        assert await answer.read() == BODY[start:end]
        assert answer.headers["Content-Range"] == f"bytes {start}-{end - 1}/{len(BODY)}"
        assert answer.headers["Content-Length"] == str(end - start)


async def test_unsatisfiable_range_gets_416(file_base: tuple[str, FileStore]) -> None:
    base, _ = file_base
    async with (
        aiohttp.ClientSession() as http,
        http.get(base + "t/1.html", headers={"Range": "bytes=300000-"}) as answer,
    ):
        assert answer.status == 416
        assert answer.headers["Content-Range"] == f"bytes */{len(BODY)}"


@pytest.mark.parametrize("header", ["bytes=-0", "bytes=256000-", "bytes=256000-256001"])
async def test_ranges_without_a_byte_of_the_object_get_416(
    file_base: tuple[str, FileStore], header: str
) -> None:
    # "bytes=-0" asks for the last zero bytes: unsatisfiable (RFC 9110 14.1.1).
    base, _ = file_base
    async with (
        aiohttp.ClientSession() as http,
        http.get(base + "t/1.html", headers={"Range": header}) as answer,
    ):
        assert answer.status == 416
        assert answer.headers["Content-Range"] == f"bytes */{len(BODY)}"


@pytest.mark.parametrize(
    ("header", "status"), [(None, 200), ("bytes=-5", 200), ("bytes=0-", 416), ("bytes=0-0", 416)]
)
async def test_ranges_of_an_empty_object(
    file_base: tuple[str, FileStore], header: str | None, status: int
) -> None:
    # A suffix of an empty object is the whole (empty) object; no 206 could
    # name its bytes, as "bytes 0--1/0" is no Content-Range.
    base, store = file_base
    await store.put("t/empty", b"")
    headers = {} if header is None else {"Range": header}
    async with (
        aiohttp.ClientSession() as http,
        http.get(base + "t/empty", headers=headers) as answer,
    ):
        assert answer.status == status
        assert await answer.read() == b""
        if status == 416:
            assert answer.headers["Content-Range"] == "bytes */0"
        else:
            assert "Content-Range" not in answer.headers
            assert answer.headers["Content-Length"] == "0"


async def test_etag_revalidation_and_head(file_base: tuple[str, FileStore]) -> None:
    base, store = file_base
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "t/1.html") as answer:
            etag = answer.headers["ETag"]
        async with http.get(base + "t/1.html", headers={"If-None-Match": etag}) as answer:
            assert answer.status == 304
            assert await answer.read() == b""
        await store.put("t/1.html", b"changed", content_type="text/plain")
        async with http.get(base + "t/1.html", headers={"If-None-Match": etag}) as answer:
            assert answer.status == 200
            assert await answer.read() == b"changed"
        async with http.head(base + "t/1.html") as answer:
            assert answer.status == 200
            assert answer.headers["Content-Length"] == "7"


@pytest.mark.parametrize("key", ["missing", "..%2F..%2Fetc%2Fpasswd", "t/.tmp-x", "t%5C1.html"])
async def test_missing_or_bad_keys_get_404(file_base: tuple[str, FileStore], key: str) -> None:
    base, _ = file_base
    url = URL(base + key, encoded=True)  # as sent: no client-side clean-up of the path
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        assert answer.status == 404


async def test_s3_redirects_to_a_signed_url_or_streams(s3: S3Store) -> None:
    await s3.put("t/2.html", BODY, content_type="text/html")
    async with aiohttp.ClientSession() as http:
        async for base in _server(s3):
            async with http.get(base + "t/2.html", allow_redirects=False) as answer:
                assert answer.status == 307
                assert answer.headers["Location"].startswith("http://127.0.0.1:")
                assert "X-Amz-Signature=" in answer.headers["Location"]
            async with http.get(base + "t/2.html") as answer:
                assert answer.status == 200
                assert await answer.read() == BODY
        async for base in _server(s3, redirect=False):
            async with http.get(base + "t/2.html", headers={"Range": "bytes=10-19"}) as answer:
                assert answer.status == 206
                assert await answer.read() == BODY[10:20]
                assert answer.headers["ETag"] == f'"{(await s3.head("t/2.html")).checksum}"'
