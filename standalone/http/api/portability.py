"""Export a guild to a ZIP and import one, streamed, with progress.

``GET /admin/guilds/{guild}/export`` streams the ZIP as it is written (the
engine is ``standalone.portability``). ``POST /admin/guilds/{guild}/import``
takes the ZIP as the raw body (``application/zip``, up to ``MAX_IMPORT_BYTES``),
spooled to a temporary file, and answers with NDJSON progress lines
``{"done": n, "total": m}`` and a last line ``{"result": ...}`` or
``{"error": ...}``. One export or import per guild at a time (409 otherwise);
``GET /admin/guilds/{guild}/transfer`` tells how far the running one is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
from aiohttp import web

from standalone import keys
from standalone.http.access import GuildAccess, require_admin
from standalone.http.api.base import API, ApiRoute, guild_param, json, write_guard
from standalone.http.deps import HttpDeps, deps_of
from standalone.http.errors import ApiError
from standalone.portability import GuildExport, Manifest, PortabilityError, import_guild
from standalone.tickets import locks

log = logging.getLogger(__name__)

MAX_IMPORT_BYTES = 128 * 1024 * 1024
LOCK_MS = 30_000
PROGRESS_TTL_MS = 10 * 60 * 1000
CHUNK = 256 * 1024


class TransferProgress(msgspec.Struct, kw_only=True):
    """How far an export or import is; ``kind`` is "export" or "import"."""

    kind: str
    done: int
    total: int
    finished: bool = False
    error: str | None = None


class ImportLine(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One NDJSON line of an import's answer."""

    done: int | None = None
    total: int | None = None
    result: Manifest | None = None
    error: str | None = None


@contextlib.asynccontextmanager
async def _one_at_a_time(deps: HttpDeps, access: GuildAccess) -> AsyncIterator[None]:
    key = keys.portability_lock(access.tenant, access.guild_id)
    try:
        async with locks.held(
            deps.coordination.cache, key, secrets.token_hex(8), ttl_ms=LOCK_MS, wait_s=0
        ):
            yield
    except locks.Busy:
        raise ApiError(409, "an export or import of this server is running; wait for it") from None


class _Progress:
    """Keeps the latest (done, total) in the cache, at most every few percent."""

    def __init__(self, deps: HttpDeps, access: GuildAccess, kind: str) -> None:
        self._cache = deps.coordination.cache
        self._key = keys.portability_progress(access.tenant, access.guild_id)
        self.kind = kind
        self.latest = TransferProgress(kind=kind, done=0, total=0)
        self._saved_at = -1

    def __call__(self, done: int, total: int) -> None:
        self.latest = TransferProgress(kind=self.kind, done=done, total=total)

    async def save(self, *, force: bool = False, error: str | None = None) -> None:
        step = max(1, self.latest.total // 50)
        if not force and self.latest.done - self._saved_at < step:
            return
        self._saved_at = self.latest.done
        value = msgspec.structs.replace(self.latest, finished=force, error=error)
        await self._cache.set(self._key, msgspec.json.encode(value), ttl_ms=PROGRESS_TTL_MS)


async def export_handler(request: web.Request) -> web.StreamResponse:
    access = await require_admin(request, guild_param(request))
    deps = deps_of(request)
    async with _one_at_a_time(deps, access):
        progress = _Progress(deps, access, "export")
        job = GuildExport(
            deps.db,
            deps.store,
            deps.cipher,
            tenant=access.tenant,
            guild_id=access.guild_id,
            progress=progress,
        )
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": f'attachment; filename="guild-{access.guild_id}.zip"',
            }
        )
        started = False
        try:
            async for chunk in job:
                if not started:
                    await response.prepare(request)
                    started = True
                await response.write(chunk)
                await progress.save()
        except PortabilityError as exc:
            await progress.save(force=True, error=str(exc))
            if not started:
                raise ApiError(409, str(exc)) from None
            # Headers are gone: cut the stream so the client sees a broken download.
            log.warning("export of %s/%s failed: %s", access.tenant, access.guild_id, exc)
            raise
        if not started:
            await response.prepare(request)
        await response.write_eof()
        await progress.save(force=True)
        return response


async def _spool(request: web.Request, target: Path) -> None:
    if request.content_type not in ("application/zip", "application/octet-stream"):
        raise ApiError(415, "send the ZIP as the body, with Content-Type application/zip")
    if (request.content_length or 0) > MAX_IMPORT_BYTES:
        raise ApiError(413, f"an import is at most {MAX_IMPORT_BYTES} bytes")
    size = 0
    with target.open("wb") as handle:
        async for chunk in request.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > MAX_IMPORT_BYTES:
                raise ApiError(413, f"an import is at most {MAX_IMPORT_BYTES} bytes")
            handle.write(chunk)
    if size == 0:
        raise ApiError(400, "the body is empty; send the ZIP")


async def import_handler(request: web.Request) -> web.StreamResponse:
    await write_guard(request)
    access = await require_admin(request, guild_param(request))
    deps = deps_of(request)
    async with _one_at_a_time(deps, access):
        with tempfile.TemporaryDirectory(prefix="tickets-import-") as folder:
            path = Path(folder) / "import.zip"
            await _spool(request, path)
            progress = _Progress(deps, access, "import")
            # Prepared with the first progress line: an archive refused before any
            # progress (not a ZIP, not an export) gets a plain JSON error instead.
            response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
            lines: asyncio.Queue[bytes | None] = asyncio.Queue()
            sent = -1

            def report(done: int, total: int) -> None:
                nonlocal sent
                progress(done, total)
                # About a hundred lines for the whole import, however large.
                if done and (done - sent >= max(1, total // 100) or done == total):
                    sent = done
                    lines.put_nowait(_line(ImportLine(done=done, total=total)))

            async def pump() -> None:
                while (line := await lines.get()) is not None:
                    if not response.prepared:
                        await response.prepare(request)
                    await response.write(line)
                    await progress.save()

            writer = asyncio.create_task(pump())
            error: str | None = None
            try:
                manifest = await import_guild(
                    deps.db,
                    deps.store,
                    deps.cipher,
                    path,
                    tenant=access.tenant,
                    guild_id=access.guild_id,
                    progress=report,
                )
            except PortabilityError as exc:
                error = str(exc)
                last = ImportLine(error=error)
            else:
                last = ImportLine(result=manifest)
            finally:
                lines.put_nowait(None)
                await writer
            await progress.save(force=True, error=error)
            if not response.prepared:
                if error is not None:
                    raise ApiError(422, error)
                await response.prepare(request)
            await response.write(_line(last))
            await response.write_eof()
            return response


def _line(item: ImportLine) -> bytes:
    return msgspec.json.encode(item) + b"\n"


async def progress_handler(request: web.Request) -> web.Response:
    access = await require_admin(request, guild_param(request))
    deps = deps_of(request)
    raw = await deps.coordination.cache.get(
        keys.portability_progress(access.tenant, access.guild_id)
    )
    if raw is None:
        raise ApiError(404, "no export or import of this server ran lately")
    return json(msgspec.json.decode(raw, type=TransferProgress))


GUILD = f"{API}/admin/guilds/{{guild}}"
ROUTES = [
    ApiRoute(
        method="GET",
        path=f"{GUILD}/export",
        handler=export_handler,
        summary="Download the server's settings, categories, tags and tickets as a ZIP",
        response="application/zip",
        tag="portability",
    ),
    ApiRoute(
        method="POST",
        path=f"{GUILD}/import",
        handler=import_handler,
        summary="Load an export into this server (all or nothing), with NDJSON progress",
        body="application/zip",
        response="application/x-ndjson",
        tag="portability",
    ),
    ApiRoute(
        method="GET",
        path=f"{GUILD}/transfer",
        handler=progress_handler,
        summary="How far the server's latest export or import is",
        response=TransferProgress,
        tag="portability",
    ),
]
