"""Hand a stored object to a browser from an aiohttp handler."""

from __future__ import annotations

import re

from aiohttp import hdrs, web

from storage.ports import InvalidKey, InvalidRange, ObjectNotFound, ObjectStore

_CHUNK = 256 * 1024


# One range only; a multi-part answer is not worth its complexity here.
_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.ASCII | re.IGNORECASE)


def _wanted_range(request: web.Request, size: int) -> tuple[int, int] | None:
    """The ``[start, end)`` a Range header asks for; None for the whole object.

    Raises InvalidRange when it cannot be satisfied. A malformed or multi-part
    Range header is ignored, which RFC 9110 allows. Parsed here rather than
    through ``request.http_range``, which reads "bytes=-0" (nothing) as
    "bytes=0-" (everything).
    """
    match = _RANGE.fullmatch(request.headers.get(hdrs.RANGE, "").strip())
    if match is None or match[1] == match[2] == "":
        return None
    if not match[1]:
        # "bytes=-N": the last N bytes; the last none of them is no range at all.
        suffix = int(match[2])
        if suffix == 0:
            raise InvalidRange("a range of the last 0 bytes selects nothing")
        if size == 0:
            # Satisfiable, yet no Content-Range can name a byte of an empty object.
            return None
        return max(size - suffix, 0), size
    start = int(match[1])
    stop = None if not match[2] else int(match[2]) + 1
    if stop is not None and stop <= start:
        return None  # "bytes=5-2" is invalid, so ignored
    if start >= size:
        raise InvalidRange(f"range starts at {start}, the object has {size} bytes")
    return start, size if stop is None else min(stop, size)


async def serve_object(
    request: web.Request,
    store: ObjectStore,
    key: str,
    *,
    redirect: bool = True,
    expires_s: int = 300,
) -> web.StreamResponse:
    """Answer ``request`` with the object at ``key``.

    When the store can sign a URL (S3) and ``redirect`` is true, the browser is
    sent there (307) and the bytes never pass through this process. Otherwise
    the object is streamed with Content-Type, Content-Length, ETag and
    Last-Modified; Range gets 206 (or 416), If-None-Match gets 304, HEAD gets
    the headers alone.
    """
    try:
        info = await store.head(key)
        if redirect and (url := await store.presign(key, expires_s)) is not None:
            return web.Response(status=307, headers={hdrs.LOCATION: url})
    except (ObjectNotFound, InvalidKey):
        raise web.HTTPNotFound(text="no such object") from None
    etag = f'"{info.checksum}"'
    headers = {
        hdrs.ETAG: etag,
        hdrs.ACCEPT_RANGES: "bytes",
        hdrs.LAST_MODIFIED: info.modified.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        # Stored HTML (transcripts) must not be re-interpreted as something else.
        "X-Content-Type-Options": "nosniff",
    }
    if etag in {tag.strip() for tag in request.headers.get(hdrs.IF_NONE_MATCH, "").split(",")}:
        return web.Response(status=304, headers=headers)
    try:
        wanted = _wanted_range(request, info.size)
    except InvalidRange:
        headers[hdrs.CONTENT_RANGE] = f"bytes */{info.size}"
        return web.Response(status=416, headers=headers)
    start, end = wanted if wanted is not None else (0, info.size)
    if wanted is not None:
        headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{end - 1}/{info.size}"
    response = web.StreamResponse(status=206 if wanted is not None else 200, headers=headers)
    response.content_type = info.content_type.split(";")[0].strip() or "application/octet-stream"
    if "charset=" in info.content_type:
        response.charset = info.content_type.split("charset=")[1].split(";")[0].strip()
    response.content_length = end - start
    if request.method == hdrs.METH_HEAD or end == start:
        await response.prepare(request)
        return response
    chunks = store.stream(key, chunk_size=_CHUNK, range=(start, end))
    try:
        # The first chunk is fetched before the headers go out, so an object
        # deleted since head still gets a clean 404.
        first = await anext(chunks, b"")
    except (ObjectNotFound, InvalidRange):
        raise web.HTTPNotFound(text="no such object") from None
    await response.prepare(request)
    remaining = end - start
    chunk = first
    try:
        while chunk and remaining > 0:
            # A version replaced between head and stream may be longer; never send
            # more than Content-Length promised.
            piece = chunk[:remaining]
            await response.write(piece)
            remaining -= len(piece)
            chunk = await anext(chunks, b"") if remaining else b""
    finally:
        # Close the file or HTTP body now rather than whenever the iterator is collected.
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
    if remaining:
        # Shorter than promised: the client must see a broken transfer, not a short file.
        raise ConnectionResetError(f"object {key!r} changed while it was being sent")
    await response.write_eof()
    return response
