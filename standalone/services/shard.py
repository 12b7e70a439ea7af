"""One gateway shard: the websocket, heartbeats, identify/resume, dispatch out.

It parses nothing it does not need; dispatch payloads travel on as raw JSON.
"""

from __future__ import annotations

import asyncio
import logging
import random
import zlib
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
import msgspec

log = logging.getLogger(__name__)

ZLIB_SUFFIX = b"\x00\x00\xff\xff"
# Close codes after which reconnecting cannot help (bad token, bad shard, bad intents).
FATAL_CLOSE_CODES = {4004, 4010, 4011, 4012, 4013, 4014}
# Discord ends the session when a client closes with 1000 or 1001; any other
# code lets the next connection RESUME it.
RESUMABLE_CLOSE = 4000


class GatewayFatal(Exception):
    """Discord refused this shard for good (for example an invalid token)."""


class ShardLost(Exception):
    """This instance no longer owns the shard: another one runs it now."""


class GatewayFrame(msgspec.Struct):
    """A gateway message; ``d`` stays raw so dispatch data is forwarded untouched."""

    op: int
    d: msgspec.Raw = msgspec.Raw(b"null")
    s: int | None = None
    t: str | None = None


class Hello(msgspec.Struct):
    """op 10."""

    heartbeat_interval: int


class Ready(msgspec.Struct):
    """The part of READY needed to resume."""

    session_id: str
    resume_gateway_url: str | None = None


_frame_decoder = msgspec.json.Decoder(GatewayFrame)

Sink = Callable[[str, int, bytes], Awaitable[None]]
# Called before each connection with True when it will RESUME; may wait (identify
# limits) or raise ShardLost.
BeforeConnect = Callable[[bool], Awaitable[None]]
# Called whenever the session id or the counted sequence changed.
OnState = Callable[[], Awaitable[None]]


def gateway_address(base: str, *, compress: bool) -> str:
    """Add the query Discord expects to a gateway URL."""
    parts = urlsplit(base)
    query = {"v": "10", "encoding": "json"}
    if compress:
        query["compress"] = "zlib-stream"
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


class ShardConnection:
    """Keeps one shard connected and hands each dispatch to ``sink(type, seq, data)``."""

    def __init__(
        self,
        *,
        token: str,
        shard_id: int,
        shard_count: int,
        gateway_url: str,
        intents: int,
        sink: Sink,
        session: aiohttp.ClientSession,
        compress: bool = True,
        session_id: str | None = None,
        seq: int | None = None,
        resume_url: str | None = None,
        before_connect: BeforeConnect | None = None,
        on_state: OnState | None = None,
    ) -> None:
        self.token = token
        self.shard_id = shard_id
        self.shard_count = shard_count
        self.gateway_url = gateway_url
        self.intents = intents
        self.sink = sink
        self.session = session
        self.compress = compress
        # Given when another instance ran the session before: the first connection RESUMEs.
        self.session_id = session_id
        self.resume_url = resume_url
        self.seq = seq
        self.before_connect = before_connect
        self.on_state = on_state
        self.ready = asyncio.Event()
        self._stopping = False
        self._acked = True
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        # The bot's activity (op 3 payload): sent on change, and with each IDENTIFY,
        # since a new session starts without one. Only after READY or RESUMED: before,
        # Discord closes the socket with 4003.
        self.presence: dict[str, Any] | None = None
        self._session_live = False

    async def run(self) -> None:
        """Connect and stay connected until ``stop``; raises GatewayFatal."""
        backoff = 1.0
        while not self._stopping:
            try:
                await self._session_once()
                backoff = 1.0
            except (GatewayFatal, ShardLost):
                raise
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("shard %s: connection lost (%s); retrying", self.shard_id, exc)
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, 30.0)
            except Exception:
                # The sink failed (the coordination server is away, say): the
                # shard lives on and resumes, so the event is replayed, not lost.
                log.exception("shard %s: could not hand an event on; resuming", self.shard_id)
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, 30.0)

    async def stop(self) -> None:
        """Close the socket, keeping the session resumable; ``run`` returns."""
        self._stopping = True
        if self._ws is not None:
            # Not 1000: the instance that takes the shard over RESUMEs this session.
            await self._ws.close(code=RESUMABLE_CLOSE)

    async def _session_once(self) -> None:
        if self.before_connect is not None:
            await self.before_connect(self.session_id is not None)
        if self._stopping:
            return
        base = self.resume_url if self.session_id and self.resume_url else self.gateway_url
        inflator = zlib.decompressobj()
        buffer = bytearray()
        heartbeat: asyncio.Task[None] | None = None
        async with self.session.ws_connect(
            gateway_address(base, compress=self.compress), max_msg_size=0, autoping=True
        ) as ws:
            self._ws = ws
            self._session_live = False
            try:
                async for message in ws:
                    if message.type is aiohttp.WSMsgType.BINARY:
                        buffer.extend(message.data)
                        if not buffer.endswith(ZLIB_SUFFIX):
                            continue
                        raw = inflator.decompress(bytes(buffer))
                        buffer.clear()
                    elif message.type is aiohttp.WSMsgType.TEXT:
                        raw = message.data.encode()
                    else:
                        break
                    frame = _frame_decoder.decode(raw)
                    if frame.op == 10:
                        hello = msgspec.json.decode(frame.d, type=Hello)
                        heartbeat = asyncio.create_task(
                            self._heartbeat(ws, hello.heartbeat_interval)
                        )
                        await self._identify_or_resume(ws)
                    elif not await self._handle(ws, frame):
                        break
            except Exception:
                # Any code but 1000/1001 keeps the session, so the RESUME replays.
                await ws.close(code=RESUMABLE_CLOSE)
                raise
            finally:
                if not ws.closed:
                    # A close asked for by another task (heartbeat, stop) ends the read
                    # loop first, and aiohttp sends the close frame of whoever closes
                    # first; leaving the block would send 1000, which ends the session.
                    # A stop keeps it too: it is a hand-over, and the next owner RESUMEs.
                    await ws.close(code=RESUMABLE_CLOSE)
                if heartbeat is not None:
                    heartbeat.cancel()
                self._ws = None
        code = ws.close_code
        if not self._stopping:
            log.info("shard %s: connection closed (%s)", self.shard_id, code)
        if code in FATAL_CLOSE_CODES:
            raise GatewayFatal(f"shard {self.shard_id}: Discord closed the gateway with {code}")

    async def _handle(self, ws: aiohttp.ClientWebSocketResponse, frame: GatewayFrame) -> bool:
        """Act on one frame; False when the connection must be dropped."""
        if frame.op == 0:
            if frame.t == "READY":
                ready = msgspec.json.decode(frame.d, type=Ready)
                self.session_id = ready.session_id
                self.resume_url = ready.resume_gateway_url
                self.ready.set()
                self._session_live = True
            elif frame.t == "RESUMED":
                self.ready.set()
                self._session_live = True
            if frame.t is not None:
                await self.sink(frame.t, frame.s or 0, bytes(frame.d))
            # Counted only once handed on: if the hand-off fails, the connection
            # drops and the RESUME from the last counted event replays this one.
            if frame.s is not None:
                self.seq = frame.s
                if self.on_state is not None:
                    await self.on_state()
        elif frame.op == 1:
            await ws.send_str(msgspec.json.encode({"op": 1, "d": self.seq}).decode())
        elif frame.op == 11:
            self._acked = True
        elif frame.op == 7:
            log.info("shard %s: Discord asked to reconnect", self.shard_id)
            await ws.close(code=RESUMABLE_CLOSE)
            return False
        elif frame.op == 9:
            resumable = msgspec.json.decode(frame.d) is True
            log.info("shard %s: session invalidated (resumable: %s)", self.shard_id, resumable)
            if not resumable:
                self.session_id = self.resume_url = None
                self.seq = None
                if self.on_state is not None:
                    await self.on_state()
            # Discord asks for a 1-5 s pause before identifying again.
            await asyncio.sleep(0.2 if resumable else random.uniform(1, 5))
            await ws.close(code=RESUMABLE_CLOSE if resumable else 1000)
            return False
        return True

    async def _identify_or_resume(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        payload: dict[str, Any]
        log.info(
            "shard %s: %s",
            self.shard_id,
            f"resuming at seq {self.seq}" if self.session_id else "identifying",
        )
        if self.session_id is not None:
            payload = {
                "op": 6,
                "d": {"token": self.token, "session_id": self.session_id, "seq": self.seq},
            }
        else:
            payload = {
                "op": 2,
                "d": {
                    "token": self.token,
                    "intents": self.intents,
                    "shard": [self.shard_id, self.shard_count],
                    "properties": {"os": "linux", "browser": "tickets", "device": "tickets"},
                    "large_threshold": 250,
                },
            }
            if self.presence is not None:
                payload["d"]["presence"] = self.presence
        await ws.send_str(msgspec.json.encode(payload).decode())

    async def send_presence(self, presence: dict[str, Any]) -> bool:
        """Set the bot's activity now if the session is live (else with the next IDENTIFY)."""
        self.presence = presence
        ws = self._ws
        if ws is None or ws.closed or not self._session_live:
            return False
        await ws.send_str(msgspec.json.encode({"op": 3, "d": presence}).decode())
        return True

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse, interval_ms: int) -> None:
        # The first beat is jittered, as Discord asks, so shards do not beat in step.
        await asyncio.sleep(interval_ms / 1000 * random.random())
        self._acked = True
        while not ws.closed:
            if not self._acked:
                # No ACK for the last beat: the connection is a zombie. Close it with a
                # non-1000 code so the session can be resumed on a new one.
                log.warning("shard %s: heartbeat not acknowledged; reconnecting", self.shard_id)
                await ws.close(code=RESUMABLE_CLOSE)
                return
            self._acked = False
            await ws.send_str(msgspec.json.encode({"op": 1, "d": self.seq}).decode())
            await asyncio.sleep(interval_ms / 1000)
