"""The gateway: websocket sessions that carry the world's events to each application.

One ``Session`` per IDENTIFY (application + shard); it outlives its socket so a
client can RESUME and get the events it missed. Each socket (``Connection``) has
its own zlib stream and a single writer, so frames leave in sequence order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from . import payloads
from .models import JSON, App, BulkDelete, Channel, Message, ThreadMembersChange
from .state import THREAD_TYPES, World

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41250
REPLAY_BUFFER = 10_000

# Intents (bit -> events); events not listed here are always delivered.
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED = GUILD_MEMBERS | (1 << 8) | MESSAGE_CONTENT
_GUILD_EVENTS = frozenset(
    {
        "GUILD_CREATE",
        "GUILD_UPDATE",
        "GUILD_DELETE",
        "GUILD_ROLE_CREATE",
        "GUILD_ROLE_UPDATE",
        "GUILD_ROLE_DELETE",
        "CHANNEL_CREATE",
        "CHANNEL_UPDATE",
        "CHANNEL_DELETE",
        "CHANNEL_PINS_UPDATE",
        "THREAD_CREATE",
        "THREAD_UPDATE",
        "THREAD_DELETE",
    }
)
_MEMBER_EVENTS = frozenset(
    {"GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE", "THREAD_MEMBERS_UPDATE"}
)
_MESSAGE_EVENTS = frozenset(
    {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK"}
)

# Close codes a client may see.
UNKNOWN_OPCODE = 4001
DECODE_ERROR = 4002
NOT_AUTHENTICATED = 4003
AUTHENTICATION_FAILED = 4004
ALREADY_AUTHENTICATED = 4005
INVALID_SHARD = 4010
INVALID_INTENTS = 4013
DISALLOWED_INTENTS = 4014

_encode = msgspec.json.Encoder().encode


def shard_of(guild_id: int, shard_count: int) -> int:
    return (guild_id >> 22) % shard_count


def intent_for(event: str, guild_id: int | None) -> int:
    if event in _GUILD_EVENTS and guild_id is not None:
        return GUILDS
    if event in _MEMBER_EVENTS:
        return GUILD_MEMBERS
    if event in _MESSAGE_EVENTS or event == "CHANNEL_PINS_UPDATE":
        return GUILD_MESSAGES if guild_id is not None else DIRECT_MESSAGES
    return 0


class Connection:
    """One websocket; frames are queued and written by one task to keep zlib and order intact."""

    def __init__(self, ws: web.WebSocketResponse, *, compress: bool) -> None:
        self.ws = ws
        self.compressed = compress
        self._zlib = zlib.compressobj() if compress else None
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write())

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
        """Flush what is queued (so a client sees e.g. op 9 before the close), then close."""
        self._queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer, timeout=2)
        await self.ws.close(code=code, message=reason.encode())


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


class GatewayHub:
    """Accepts gateway websockets and routes world events to the right sessions."""

    def __init__(self, world: World, resume_url: Callable[[], str]) -> None:
        self.world = world
        self._resume_url = resume_url
        self.sessions: dict[str, Session] = {}
        self._open = asyncio.Event()
        self._open.set()
        self._connections: set[Connection] = set()
        # Test controls: a short interval and missing ACKs make a zombie connection.
        self.heartbeat_interval_ms = HEARTBEAT_INTERVAL_MS
        self.ack_heartbeats = True
        world.subscribe(self._on_world_event)

    # -- test controls --------------------------------------------------------------------

    def hold_connections(self) -> None:
        """New sockets wait before HELLO: events meanwhile pile up for RESUME to replay."""
        self._open.clear()

    def release_connections(self) -> None:
        self._open.set()

    def sessions_of(self, app_id: int) -> list[Session]:
        return [s for s in self.sessions.values() if s.app_id == app_id]

    async def reconnect(self, app_id: int, timeout: float = 5.0) -> int:  # noqa: ASYNC109
        """Send op 7 to each live session of the app and wait until its socket is gone."""
        live = [s for s in self.sessions_of(app_id) if s.conn is not None]
        for session in live:
            assert session.conn is not None
            session.conn.send_json({"op": 7, "d": None})
        for session in live:
            try:
                await asyncio.wait_for(session.detached.wait(), timeout)
            except TimeoutError:
                if session.conn is not None:
                    await session.conn.close(4000, "reconnect")
        return len(live)

    def dispatch(self, app_id: int, event: str, data: Any) -> int:
        """Send any event, unfiltered, to the app's session(s) for the payload's guild."""
        raw_guild = data.get("guild_id") if isinstance(data, dict) else None
        guild_id = (
            int(raw_guild)
            if isinstance(raw_guild, str | int) and str(raw_guild).isdigit()
            else None
        )
        targets = [s for s in self.sessions_of(app_id) if s.handles(guild_id)]
        for session in targets:
            session.dispatch(event, data)
        return len(targets)

    async def close(self) -> None:
        for conn in list(self._connections):
            await conn.close(1001, "going away")

    # -- world events ---------------------------------------------------------------------

    def _on_world_event(
        self, event: str, guild_id: int | None, record: Any, app_id: int | None
    ) -> None:
        app_ids = self._audience(guild_id, record, app_id)
        targets = [
            s
            for s in self.sessions.values()
            if s.app_id in app_ids
            and s.handles(guild_id)
            and self._wants(s, event, guild_id, record)
        ]
        if not targets:
            return
        data = payloads.event_data(self.world, event, record)
        for session in targets:
            session.dispatch(event, self._without_content(session, record, data))

    def _wants(self, session: Session, event: str, guild_id: int | None, record: Any) -> bool:
        needs = intent_for(event, guild_id)
        if isinstance(record, ThreadMembersChange):
            # Without GUILD_MEMBERS a bot still hears about itself joining or leaving.
            bot_id = self.world.apps[session.app_id].bot_user.id
            if bot_id in record.added or bot_id in record.removed:
                return True
        return not needs or bool(session.intents & needs)

    def _audience(self, guild_id: int | None, record: Any, app_id: int | None) -> set[int]:
        if app_id is not None:
            return {app_id}
        if guild_id is not None:
            guild = self.world.guilds.get(guild_id)
            if guild is None:
                return set()
            channel = self._channel_of(record)
            if channel is None:
                return set(guild.app_ids)
            # Messages and threads reach only the bots that can see where they happen.
            return {
                a
                for a in guild.app_ids
                if a in self.world.apps
                and (
                    self.world.can_view(self.world.apps[a].bot_user.id, channel)
                    or self._leaving(a, record)
                )
            }
        channel_id = (
            record.channel_id
            if isinstance(record, Message)
            else (record.id if isinstance(record, Channel) else None)
        )
        channel = self.world.channels.get(channel_id) if channel_id is not None else None
        if channel is None:
            return set()
        return {a.id for a in self.world.apps.values() if a.bot_user.id in channel.recipient_ids}

    def _channel_of(self, record: Any) -> Channel | None:
        """The channel whose visibility decides who hears of ``record`` (None: everyone)."""
        if isinstance(record, Message | BulkDelete):
            return self.world.channels.get(record.channel_id)
        if isinstance(record, ThreadMembersChange):
            return self.world.channels.get(record.thread_id)
        if isinstance(record, Channel) and record.type in THREAD_TYPES:
            return record
        return None

    def _leaving(self, app_id: int, record: Any) -> bool:
        """A bot removed from a private thread still hears that it was removed."""
        return (
            isinstance(record, ThreadMembersChange)
            and self.world.apps[app_id].bot_user.id in record.removed
        )

    def _without_content(self, session: Session, record: Any, data: JSON) -> JSON:
        """Without MESSAGE_CONTENT a bot sees guild messages empty, except its own and mentions."""
        if (
            not isinstance(record, Message)
            or session.intents & MESSAGE_CONTENT
            or record.guild_id is None
            or "content" not in data
        ):
            return data
        bot_id = self.world.apps[session.app_id].bot_user.id
        if record.author_id == bot_id or bot_id in record.mention_user_ids:
            return data
        return data | {"content": "", "embeds": [], "attachments": [], "components": []}

    # -- websocket ------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        await self._open.wait()
        conn = Connection(ws, compress=request.query.get("compress") == "zlib-stream")
        self._connections.add(conn)
        conn.send_json({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        session: Session | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    await conn.close(DECODE_ERROR, "Error while decoding payload.")
                    break
                try:
                    frame = msgspec.json.decode(msg.data)
                except msgspec.DecodeError:
                    await conn.close(DECODE_ERROR, "Error while decoding payload.")
                    break
                session = await self._on_frame(conn, session, frame)
        finally:
            self._connections.discard(conn)
            if session is not None:
                session.detach(conn)
            if not ws.closed:
                await conn.close()
            conn.discard()
        return ws

    async def _on_frame(
        self, conn: Connection, session: Session | None, frame: Any
    ) -> Session | None:
        op = frame.get("op") if isinstance(frame, dict) else None
        data = frame.get("d") if isinstance(frame, dict) else None
        if op == 1:
            if session is not None and isinstance(data, int):
                session.acknowledge(data)
            if self.ack_heartbeats:
                conn.send_json({"op": 11})
        elif op == 2:
            if session is not None:
                await conn.close(ALREADY_AUTHENTICATED, "Already authenticated.")
                return session
            return await self._identify(conn, data)
        elif op == 6:
            return await self._resume(conn, data)
        elif op == 8:
            if session is None:
                await conn.close(NOT_AUTHENTICATED, "Not authenticated.")
            else:
                self._request_members(session, data)
        elif op in (3, 4):
            if session is None:
                await conn.close(NOT_AUTHENTICATED, "Not authenticated.")
        else:
            await conn.close(UNKNOWN_OPCODE, "Unknown opcode.")
        return session

    def _app_for(self, token: Any) -> App | None:
        if not isinstance(token, str):
            return None
        return self.world.apps_by_token.get(token.removeprefix("Bot "))

    async def _identify(self, conn: Connection, data: Any) -> Session | None:
        data = data if isinstance(data, dict) else {}
        app = self._app_for(data.get("token"))
        if app is None:
            await conn.close(AUTHENTICATION_FAILED, "Authentication failed.")
            return None
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            await conn.close(INVALID_INTENTS, "Invalid intent(s).")
            return None
        if intents & PRIVILEGED & ~app.allowed_intents:
            await conn.close(DISALLOWED_INTENTS, "Disallowed intent(s).")
            return None
        shard = data.get("shard") or [0, 1]
        valid_shard = (
            isinstance(shard, list | tuple)
            and len(shard) == 2
            and all(isinstance(x, int) for x in shard)
            and 0 <= shard[0] < shard[1]
        )
        if not valid_shard:
            await conn.close(INVALID_SHARD, "Invalid shard.")
            return None
        shard_id, shard_count = int(shard[0]), int(shard[1])
        # A fresh IDENTIFY replaces an abandoned session of the same shard.
        for stale in [
            s for s in self.sessions_of(app.id) if s.shard_id == shard_id and s.conn is None
        ]:
            del self.sessions[stale.id]
        app.session_starts_remaining = max(0, app.session_starts_remaining - 1)
        session = Session(app, shard_id, shard_count, intents)
        self.sessions[session.id] = session
        session.attach(conn)
        guilds = [
            g for g in self.world.guilds.values() if app.id in g.app_ids and session.handles(g.id)
        ]
        session.dispatch("READY", self._ready(app, session, guilds))
        for guild in guilds:
            if session.intents & GUILDS:
                session.dispatch("GUILD_CREATE", payloads.guild_create(self.world, guild))
        return session

    def _ready(self, app: App, session: Session, guilds: list[Any]) -> JSON:
        return {
            "v": 10,
            "user": payloads.current_user(self.world, app.bot_user.id),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._resume_url(),
            "application": {"id": str(app.id), "flags": app.flags},
            "shard": [session.shard_id, session.shard_count],
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fake-discord-gateway"],
        }

    async def _resume(self, conn: Connection, data: Any) -> Session | None:
        data = data if isinstance(data, dict) else {}
        app = self._app_for(data.get("token"))
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        # Events older than the buffer are lost (trimmed or evicted): such a RESUME must fail.
        oldest = 1
        if session is not None:
            oldest = session.buffer[0][0] if session.buffer else session.seq + 1
        if (
            app is None
            or session is None
            or session.app_id != app.id
            or not isinstance(seq, int)
            or seq < oldest - 1
            or seq > session.seq
        ):
            conn.send_json({"op": 9, "d": False})
            return None
        if session.conn is not None and session.conn is not conn:
            # The old socket is taken over, as on Discord.
            old = session.conn
            session.detach(old)
            asyncio.create_task(old.close(4000, "session resumed elsewhere"))  # noqa: RUF006
        # Replay and attach in one synchronous step, so no event slips in between.
        for number, frame in session.buffer:
            if number > seq:
                conn.send(frame)
        session.attach(conn)
        session.resumes += 1
        session.dispatch("RESUMED", {"_trace": ["fake-discord-gateway"]})
        return session

    def _request_members(self, session: Session, data: Any) -> None:
        data = data if isinstance(data, dict) else {}
        raw_ids = data.get("guild_id")
        guild_ids = raw_ids if isinstance(raw_ids, list) else [raw_ids]
        query = str(data.get("query") or "").lower()
        wanted = {int(u) for u in data.get("user_ids") or [] if str(u).isdigit()}
        for raw in guild_ids:
            guild = self.world.guilds.get(int(raw)) if str(raw).isdigit() else None
            if guild is None or session.app_id not in guild.app_ids:
                continue
            members = [
                m
                for m in guild.members.values()
                if (not wanted or m.user_id in wanted)
                and self.world.users[m.user_id].username.lower().startswith(query)
            ]
            limit = data.get("limit") or 0
            if isinstance(limit, int) and limit > 0:
                members = members[:limit]
            chunk: JSON = {
                "guild_id": str(guild.id),
                "members": [payloads.member(self.world, m) for m in members],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [str(u) for u in wanted if u not in guild.members],
            }
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            session.dispatch("GUILD_MEMBERS_CHUNK", chunk)
