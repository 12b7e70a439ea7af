"""Gateway sockets and the sessions that outlive them.

A ``Session`` (one per IDENTIFY: application + shard) keeps its sequence and a replay
buffer, so a client can RESUME on a new socket and get what it missed. Each socket
(``Connection``) has its own zlib stream and a single writer, so frames leave in
sequence order.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import zlib
from asyncio import FIRST_COMPLETED
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from aiohttp import WSMessage, WSMsgType, web

from .models import JSON, App

REPLAY_BUFFER = 10_000

_encode = msgspec.json.Encoder().encode


def shard_of(guild_id: int, shard_count: int) -> int:
    return (guild_id >> 22) % shard_count


class Connection:
    """One websocket; frames are queued and written by one task to keep zlib and order intact."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        *,
        compress: bool,
        transport: asyncio.Transport | None = None,
    ) -> None:
        self.ws = ws
        self.compressed = compress
        self._transport = transport
        # Set when the stand-in ended the socket: only a client's own 1000/1001 ends the session.
        self.closed_by_server = False
        # The code of the client's close frame; None while open or when the TCP just ended.
        self.client_close_code: int | None = None
        self._zlib = zlib.compressobj() if compress else None
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write())
        self._close_request: asyncio.Future[tuple[int, str]] = (
            asyncio.get_running_loop().create_future()
        )

    async def messages(self) -> AsyncIterator[WSMessage]:
        """The client's frames until the socket ends; carries out a ``request_close``.

        Closing from the socket's own task matters: aiohttp cuts the transport at once
        when another task closes a socket that is being read, so the client's close reply
        fails and it sees 1006 instead of the code. From here the handshake completes.
        """
        while not self.ws.closed:
            if self._close_request.done():
                await self.close(*self._close_request.result())
                return
            receive = asyncio.ensure_future(self.ws.receive())
            waiters: set[asyncio.Future[Any]] = {receive, self._close_request}
            await asyncio.wait(waiters, return_when=FIRST_COMPLETED)
            if not receive.done():
                receive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receive
            if receive.cancelled():
                continue
            msg = receive.result()
            if msg.type is WSMsgType.CLOSE:
                # ws.close_code is not it: aiohttp overwrites it with its own reply.
                self.client_close_code = int(msg.data)
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            yield msg

    def request_close(self, code: int, reason: str = "") -> None:
        """Close from another task: the socket's reader does it (see ``messages``)."""
        self.closed_by_server = True
        if not self._close_request.done():
            self._close_request.set_result((code, reason))

    def send(self, frame: bytes) -> None:
        self._queue.put_nowait(frame)

    def send_json(self, payload: JSON) -> None:
        self.send(_encode(payload))

    async def _write(self) -> None:
        while (frame := await self._queue.get()) is not None:
            try:
                if self._zlib is not None:
                    packed = self._zlib.compress(frame) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(packed)
                else:
                    await self.ws.send_str(frame.decode())
            except (ConnectionError, RuntimeError):
                # The peer went away; the reader loop notices and detaches the session.
                return

    def discard(self) -> None:
        """The socket is gone: stop the writer rather than leave it waiting forever."""
        if not self._writer.done():
            self._writer.cancel()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Flush what is queued (so a client sees e.g. op 9 before the close), then close.

        Call it from the socket's own task, or at shutdown; else use ``request_close``.
        """
        self.closed_by_server = True
        self._queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer, timeout=2)
        await self.ws.close(code=code, message=reason.encode())

    def drop(self) -> None:
        """Cut the TCP connection without a close frame, as a network failure would."""
        self.closed_by_server = True
        self.discard()
        if self._transport is not None:
            self._transport.abort()


class Session:
    """A resumable gateway session: sequence numbers and the replay buffer live here."""

    def __init__(self, app: App, shard_id: int, shard_count: int, intents: int) -> None:
        self.id = secrets.token_hex(16)
        self.app_id = app.id
        self.shard_id = shard_id
        self.shard_count = shard_count
        self.intents = intents
        self.seq = 0
        self.buffer: deque[tuple[int, bytes]] = deque(maxlen=REPLAY_BUFFER)
        self.conn: Connection | None = None
        self.detached = asyncio.Event()
        self.resumes = 0

    def handles(self, guild_id: int | None) -> bool:
        # Discord sends DMs and guild-less events to shard 0.
        return shard_of(guild_id or 0, self.shard_count) == self.shard_id

    def dispatch(self, event: str, data: Any) -> None:
        self.seq += 1
        frame = _encode({"op": 0, "t": event, "s": self.seq, "d": data})
        self.buffer.append((self.seq, frame))
        if self.conn is not None:
            self.conn.send(frame)

    def acknowledge(self, seq: int) -> None:
        """A heartbeat carries the client's last seq: a later RESUME never asks for less."""
        while self.buffer and self.buffer[0][0] <= seq:
            self.buffer.popleft()

    def attach(self, conn: Connection) -> None:
        self.conn = conn
        self.detached.clear()

    def detach(self, conn: Connection) -> None:
        if self.conn is conn:
            self.conn = None
            self.detached.set()
