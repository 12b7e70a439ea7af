"""The gateway: websocket sessions that carry the world's events to each application.

Sessions and sockets live in ``sessions``; this module speaks the protocol (HELLO,
IDENTIFY, RESUME, heartbeats), routes world events, enforces the identify limits and
lets tests inject Discord's failures: RECONNECT, INVALID_SESSION, close codes, drops.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from . import payloads
from .identify_limits import IdentifyLimits, Verdict
from .models import JSON, App, BulkDelete, Channel, Message, ThreadMembersChange
from .sessions import REPLAY_BUFFER, Connection, Session, shard_of
from .state import THREAD_TYPES, World

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41250

# Intents (bit -> events); events not listed here are always delivered.
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
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
UNKNOWN_ERROR = 4000
UNKNOWN_OPCODE = 4001
DECODE_ERROR = 4002
NOT_AUTHENTICATED = 4003
AUTHENTICATION_FAILED = 4004
ALREADY_AUTHENTICATED = 4005
INVALID_SEQ = 4007
RATE_LIMITED = 4008
SESSION_TIMED_OUT = 4009
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011
INVALID_API_VERSION = 4012
INVALID_INTENTS = 4013
DISALLOWED_INTENTS = 4014
# Closes after which the session is gone (Discord: "reconnect and start a new one", or
# fatal); after any other code the client may RESUME.
SESSION_ENDING_CODES = frozenset(
    {
        1000,
        1001,
        AUTHENTICATION_FAILED,
        INVALID_SEQ,
        SESSION_TIMED_OUT,
        INVALID_SHARD,
        SHARDING_REQUIRED,
        INVALID_API_VERSION,
        INVALID_INTENTS,
        DISALLOWED_INTENTS,
    }
)

__all__ = ["REPLAY_BUFFER", "Connection", "GatewayHub", "Session", "shard_of"]


def intent_for(event: str, guild_id: int | None) -> int:
    if event in _GUILD_EVENTS and guild_id is not None:
        return GUILDS
    if event in _MEMBER_EVENTS:
        return GUILD_MEMBERS
    if event == "PRESENCE_UPDATE":
        return GUILD_PRESENCES
    if event in _MESSAGE_EVENTS or event == "CHANNEL_PINS_UPDATE":
        return GUILD_MESSAGES if guild_id is not None else DIRECT_MESSAGES
    return 0


# Activity types a bot may set: playing, streaming, listening, watching, custom, competing.
_ACTIVITY_TYPES = frozenset(range(6))


def _valid_presence(data: Any) -> bool:
    """An op 3 payload as Discord's gateway reference describes it."""
    if not isinstance(data, dict) or set(data) - {"since", "activities", "status", "afk"}:
        return False
    activities = data.get("activities")
    return (
        data.get("status") in {"online", "dnd", "idle", "invisible", "offline"}
        and isinstance(data.get("afk"), bool)
        and (data.get("since") is None or isinstance(data.get("since"), int))
        and isinstance(activities, list)
        and all(
            isinstance(a, dict)
            and isinstance(a.get("name"), str)
            and a.get("type") in _ACTIVITY_TYPES
            for a in activities
        )
    )


class GatewayHub:
    """Accepts gateway websockets and routes world events to the right sessions."""

    def __init__(
        self,
        world: World,
        resume_url: Callable[[], str],
        limits: IdentifyLimits | None = None,
    ) -> None:
        self.world = world
        self._resume_url = resume_url
        self.limits = limits if limits is not None else IdentifyLimits()
        self.sessions: dict[str, Session] = {}
        # Counters per application id, for tests: admitted IDENTIFYs, successful
        # RESUMEs, IDENTIFYs refused by max_concurrency, token resets.
        self.identifies: Counter[int] = Counter()
        self.resumes: Counter[int] = Counter()
        self.identify_refusals: Counter[int] = Counter()
        self.token_resets: Counter[int] = Counter()
        # Presence updates (op 3) each app sent, for tests.
        self.presence_updates: dict[int, list[Any]] = {}
        self._open = asyncio.Event()
        self._open.set()
        self._connections: set[Connection] = set()
        # Test controls: a short interval and missing ACKs make a zombie connection.
        self.heartbeat_interval_ms = HEARTBEAT_INTERVAL_MS
        self.ack_heartbeats = True
        # Takes INTERACTION_CREATE for apps with an interactions endpoint URL instead of
        # the gateway (Discord sends an interaction one way or the other, never both).
        self.http_interactions: Callable[[App, Any], int] | None = None
        world.subscribe(self._on_world_event)

    # -- test controls --------------------------------------------------------------------

    def hold_connections(self) -> None:
        """New sockets wait before HELLO: events meanwhile pile up for RESUME to replay."""
        self._open.clear()

    def release_connections(self) -> None:
        self._open.set()

    def sessions_of(self, app_id: int, shard_id: int | None = None) -> list[Session]:
        return [
            s
            for s in self.sessions.values()
            if s.app_id == app_id and (shard_id is None or s.shard_id == shard_id)
        ]

    def _live(self, app_id: int, shard_id: int | None) -> list[Session]:
        return [s for s in self.sessions_of(app_id, shard_id) if s.conn is not None]

    async def reconnect(
        self,
        app_id: int,
        shard_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> int:
        """Send op 7 to each live session of the app and wait until its socket is gone."""
        live = self._live(app_id, shard_id)
        for session in live:
            assert session.conn is not None
            session.conn.send_json({"op": 7, "d": None})
        for session in live:
            try:
                await asyncio.wait_for(session.detached.wait(), timeout)
            except TimeoutError:
                if session.conn is not None:
                    session.conn.request_close(UNKNOWN_ERROR, "reconnect")
        return len(live)

    def invalidate_session(
        self, app_id: int, shard_id: int | None = None, resumable: bool = False
    ) -> int:
        """Op 9 INVALID_SESSION to the app's sessions; returns how many were affected.

        ``resumable=False`` ends the sessions at once (a later RESUME gets op 9 false,
        events meanwhile are not kept); ``True`` keeps them, so the client may RESUME.
        """
        affected = self.sessions_of(app_id, shard_id)
        for session in affected:
            if session.conn is not None:
                session.conn.send_json({"op": 9, "d": resumable})
            if not resumable:
                self._end(session)
        return len(affected)

    def close_sessions(
        self,
        app_id: int,
        code: int,
        shard_id: int | None = None,
        *,
        reason: str = "",
        keep_session: bool | None = None,
    ) -> int:
        """Close the app's live sockets with ``code``; returns how many were closed.

        The session survives (for RESUME) unless ``code`` is in ``SESSION_ENDING_CODES``;
        ``keep_session`` overrides that. The close frames go out as soon as each socket's
        reader gets to it; this does not wait for the clients' replies.
        """
        live = self._live(app_id, shard_id)
        keep = code not in SESSION_ENDING_CODES if keep_session is None else keep_session
        for session in live:
            assert session.conn is not None
            session.conn.request_close(code, reason)
            if not keep:
                self._end(session)
        return len(live)

    def drop_socket(self, app_id: int, shard_id: int | None = None) -> int:
        """Cut the app's live sockets without a close frame; the sessions stay resumable."""
        live = self._live(app_id, shard_id)
        for session in live:
            assert session.conn is not None
            session.conn.drop()
        return len(live)

    def _end(self, session: Session) -> None:
        if self.sessions.get(session.id) is session:
            del self.sessions[session.id]

    def dispatch(self, app_id: int, event: str, data: Any) -> int:
        """Send any event, unfiltered, to the app's session(s) for the payload's guild."""
        raw_guild = data.get("guild_id") if isinstance(data, dict) else None
        guild_id = (
            int(raw_guild)
            if isinstance(raw_guild, str | int) and str(raw_guild).isdigit()
            else None
        )
        app = self.world.apps.get(app_id)
        if (
            event == "INTERACTION_CREATE"
            and app is not None
            and app.interactions_endpoint_url
            and self.http_interactions is not None
        ):
            return self.http_interactions(app, data)
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
            shown = self._without_content(session, record, data)
            session.dispatch(event, self._without_presences(session, shown))

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

    @staticmethod
    def _without_presences(session: Session, data: JSON) -> JSON:
        """GUILD_CREATE lists presences only for bots with the GUILD_PRESENCES intent."""
        if "presences" not in data or session.intents & GUILD_PRESENCES:
            return data
        return data | {"presences": []}

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
        conn = Connection(
            ws,
            compress=request.query.get("compress") == "zlib-stream",
            transport=request.transport,
        )
        self._connections.add(conn)
        conn.send_json({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        session: Session | None = None
        try:
            async for msg in conn.messages():
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
            if (
                session is not None
                and not conn.closed_by_server
                and conn.client_close_code in (1000, 1001)
                and session.conn in (None, conn)
            ):
                # Discord: a client closing with 1000 or 1001 ends its session.
                self._end(session)
            if session is not None:
                session.detach(conn)
            if not ws.closed and not conn.closed_by_server:
                await conn.close()
            conn.discard()
        return ws

    async def _on_frame(
        self, conn: Connection, session: Session | None, frame: Any
    ) -> Session | None:
        op = frame.get("op") if isinstance(frame, dict) else None
        data = frame.get("d") if isinstance(frame, dict) else None
        if session is not None and self.sessions.get(session.id) is not session:
            # Invalidated meanwhile: the socket may IDENTIFY or RESUME afresh.
            session.detach(conn)
            session = None
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
        elif op == 3:
            if session is None:
                await conn.close(NOT_AUTHENTICATED, "Not authenticated.")
            elif not _valid_presence(data):
                await conn.close(DECODE_ERROR, "Error while decoding payload.")
            else:
                self.presence_updates.setdefault(session.app_id, []).append(data)
        elif op == 4:
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
        verdict = self.limits.admit(app, shard_id)
        if verdict is Verdict.TOO_FAST:
            # Discord refuses an IDENTIFY over max_concurrency with op 9, not a close.
            self.identify_refusals[app.id] += 1
            conn.send_json({"op": 9, "d": False})
            return None
        if verdict is Verdict.EXHAUSTED:
            await self._exhausted(conn, app)
            return None
        self.identifies[app.id] += 1
        # A fresh IDENTIFY replaces an abandoned session of the same shard.
        for stale in [s for s in self.sessions_of(app.id, shard_id) if s.conn is None]:
            del self.sessions[stale.id]
        presence = data.get("presence")
        if presence is not None:
            if not _valid_presence(presence):
                await conn.close(DECODE_ERROR, "Error while decoding payload.")
                return None
            self.presence_updates.setdefault(app.id, []).append(presence)
        session = Session(app, shard_id, shard_count, intents)
        self.sessions[session.id] = session
        session.attach(conn)
        guilds = [
            g for g in self.world.guilds.values() if app.id in g.app_ids and session.handles(g.id)
        ]
        session.dispatch("READY", self._ready(app, session, guilds))
        for guild in guilds:
            if session.intents & GUILDS:
                created = payloads.guild_create(self.world, guild)
                session.dispatch("GUILD_CREATE", self._without_presences(session, created))
        return session

    async def _exhausted(self, conn: Connection, app: App) -> None:
        """Out of session starts: Discord ends every session and resets the bot's token."""
        self.token_resets[app.id] += 1
        self.world.reset_token(app)
        for session in self.sessions_of(app.id):
            self._end(session)
            if session.conn is not None and session.conn is not conn:
                session.conn.request_close(AUTHENTICATION_FAILED, "Authentication failed.")
        await conn.close(AUTHENTICATION_FAILED, "Authentication failed.")

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
            old.request_close(UNKNOWN_ERROR, "session resumed elsewhere")
        # Replay and attach in one synchronous step, so no event slips in between.
        for number, frame in session.buffer:
            if number > seq:
                conn.send(frame)
        session.attach(conn)
        session.resumes += 1
        self.resumes[app.id] += 1
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
