"""``FakeDiscord``: the world, its REST API and gateway on one local aiohttp server."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from . import members, threads
from . import permissions as perms
from .actors import Actor, FakeInteraction
from .faults import RestFaults
from .gateway import GatewayHub
from .http_interactions import HttpInteractions
from .identify_limits import IdentifyLimits
from .interactions_api import InteractionRoutes
from .models import (
    JSON,
    App,
    Channel,
    Guild,
    Interaction,
    Member,
    Message,
    Overwrite,
    Role,
    User,
)
from .oauth import OAuthServer
from .ratelimits import RateLimiter
from .rest import RestApi
from .state import TEXT, World


class FakeDiscord:
    """A local Discord for disnake: set ``disnake.http.Route.BASE = fd.api_base``.

    Setup methods (``add_*``, ``install``) work before and after ``start``; changes made
    while bots are connected reach them as gateway events, as on Discord.

    Gateway limits and faults (see "events and faults" below; ``fd.gateway`` counts):

    - ``configure_gateway``: shards and ``session_start_limit`` per application. Each
      IDENTIFY spends a session start; with none left Discord ends every session of the
      bot and resets its token (the socket closes with 4004; ``app.token`` is the new
      one). IDENTIFYs of one bucket (``shard_id % max_concurrency``) closer together than
      ``identify_window`` seconds are refused with op 9 ``false`` (the window is 0, i.e.
      off, unless given to the constructor or set on ``fd.gateway.limits.window``;
      Discord's is 5 s).
    - ``reconnect`` (op 7), ``invalidate_session`` (op 9, resumable or not),
      ``close_gateway`` (any close code), ``drop_socket`` (TCP cut, no close frame).
      A session survives every close except those in ``gateway.SESSION_ENDING_CODES``
      (1000/1001, 4004, 4007, 4009, 4010-4014), so a RESUME replays what it missed, in
      order, including events sent while no socket was attached. A client closing with
      1000 or 1001 itself ends its session, as on Discord: RESUME then gets op 9 false.
    - ``fd.gateway.identifies[app_id]``, ``.resumes[app_id]``,
      ``.identify_refusals[app_id]``, ``.token_resets[app_id]`` count what happened.

    REST faults: ``fd.faults`` (``RestFaults``) delays or fails a share of calls,
    seeded, per route pattern, switchable with ``fd.faults.enabled``; ``.counts`` and
    ``.injected`` record what was injected.

    HTTP interactions: ``await fd.set_interactions_endpoint(app_id, url)`` checks the URL
    as the portal does (signed PING -> PONG, forged signature -> 401) and from then on
    interactions of that app (actors, ``dispatch("INTERACTION_CREATE")``) are POSTed
    there, signed with the app's key (``app.verify_key`` is the public half, also in
    GET /oauth2/applications/@me), instead of the gateway. The endpoint's answer is the
    interaction response; ``fd.http_interactions.failures`` lists the ones that failed.
    """

    def __init__(self, *, identify_window: float = 0.0) -> None:
        self.world = World()
        limits = IdentifyLimits(window=identify_window)
        self.gateway = GatewayHub(self.world, lambda: self.gateway_url, limits)
        self.rest = RestApi(self.world, lambda: self.gateway_url, limits.describe)
        self.ratelimits = RateLimiter()  # enforced; ``ratelimits.configure`` sets limits
        self.renames = self.rest.renames  # two renames per channel per ten minutes
        self.faults = RestFaults()
        self._interaction_routes = InteractionRoutes(self.world)
        self.http_interactions = HttpInteractions(self.world, self._interaction_routes)
        self.gateway.http_interactions = self.http_interactions.deliver
        self.oauth = OAuthServer(self.world)
        self.url = ""
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        self.ratelimits.install(app)  # outside the REST middleware: a 429 skips it
        self.rest.install(app, self._interaction_routes.routes())
        app.middlewares.append(self.faults.middleware)
        app.router.add_get("/gateway", self.gateway.handle)
        self.oauth.install(app)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        self._runner = runner
        self.url = f"http://{host}:{bound_port}"
        self.world.base_url = self.url

    async def stop(self) -> None:
        await self.gateway.close()
        await self.http_interactions.close()
        self.faults.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/gateway"

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request, path without the ``/api/v10`` prefix."""
        return self.rest.requests

    @property
    def server_errors(self) -> list[BaseException]:
        """Exceptions inside the stand-in (answered 500); a passing test expects none."""
        return self.rest.server_errors

    # -- setup ----------------------------------------------------------------------------

    def add_application(self, name: str = "Tickets", *, shard_count: int = 1) -> App:
        return self.world.add_application(name, shard_count=shard_count)

    def add_guild(self, name: str = "Guild", *, owner_name: str = "owner") -> Guild:
        return self.world.add_guild(name, owner_name=owner_name)

    def guild_owner(self, guild_id: int) -> User:
        return self.world.users[self.world.guild(guild_id).owner_id]

    def add_role(
        self,
        guild_id: int,
        name: str,
        *,
        permissions: int = 0,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
    ) -> Role:
        return self.world.add_role(
            guild_id,
            name,
            permissions=permissions,
            color=color,
            hoist=hoist,
            mentionable=mentionable,
        )

    def add_user(self, username: str, *, global_name: str | None = None) -> User:
        """A user in no guild yet (see ``add_member``)."""
        return self.world.add_user(username, global_name=global_name)

    def add_member(
        self,
        guild_id: int,
        username: str | None = None,
        *,
        roles: Iterable[int] = (),
        user_id: int | None = None,
        global_name: str | None = None,
    ) -> User:
        """A new user joining the guild, or an existing one when ``user_id`` is given."""
        if user_id is None:
            if username is None:
                raise ValueError("add_member needs a username or a user_id")
            user = self.world.add_user(username, global_name=global_name)
        else:
            user = self.world.users[user_id]
        self.world.add_member(guild_id, user.id, roles)
        return user

    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        type: int = TEXT,
        parent_id: int | None = None,
        topic: str | None = None,
        overwrites: Iterable[Overwrite | Mapping[str, Any]] = (),
    ) -> Channel:
        return self.world.add_channel(
            guild_id,
            name,
            type=type,
            parent_id=parent_id,
            topic=topic,
            overwrites=[o if isinstance(o, Overwrite) else _overwrite(o) for o in overwrites],
        )

    def install(
        self, app_id: int, guild_id: int, *, permissions: int = perms.ADMINISTRATOR
    ) -> None:
        """The bot joins the guild with a managed role holding ``permissions``.

        Connected sessions of the app get GUILD_CREATE; other apps see the new member.
        """
        self.world.install(app_id, guild_id, permissions)

    def remove_member(self, guild_id: int, user_id: int) -> None:
        """The member leaves the guild (GUILD_MEMBER_REMOVE; also leaves its threads)."""
        members.remove(self.world, guild_id, user_id)

    def timeout_member(self, guild_id: int, user_id: int, until: datetime | str | None) -> None:
        """A moderator times the member out until ``until`` (None lifts it)."""
        members.set_timeout(self.world, self.world.member(guild_id, user_id), until)

    def set_member_roles(self, guild_id: int, user_id: int, roles: Iterable[int]) -> None:
        """A moderator replaces the member's roles (GUILD_MEMBER_UPDATE)."""
        members.set_roles(self.world, self.world.member(guild_id, user_id), list(roles))

    def set_presence(self, user_id: int, status: str) -> None:
        """The user's status (online, idle, dnd, offline) changes in all their guilds."""
        self.world.set_presence(user_id, status)

    def presence_updates(self, app_id: int) -> list[JSON]:
        """Every presence update (op 3) the app's sessions sent, oldest first."""
        return list(self.gateway.presence_updates.get(app_id, []))

    def add_thread_member(self, thread_id: int, user_id: int) -> None:
        """Someone adds ``user_id`` to a thread (a bot added this way hears THREAD_CREATE)."""
        thread = self.world.channels.get(thread_id)
        if thread is None or thread.thread is None:
            raise KeyError(f"no thread {thread_id}")
        threads.add_member(self.world, thread, user_id)

    def set_user_locale(self, user_id: int, locale: str) -> None:
        """The user switches their Discord client's language (sent with each interaction)."""
        self.world.users[user_id].locale = locale
        self.world.touch()

    def block_dms(self, user_id: int, blocked: bool = True) -> None:
        """The user closes (or reopens) their DMs: a bot writing to them then gets 50007."""
        self.world.users[user_id].accepts_dms = not blocked

    def actor(self, app_id: int, guild_id: int, user_id: int) -> Actor:
        return Actor(self.world, self.gateway, app_id, guild_id, user_id)

    # -- events and faults ----------------------------------------------------------------

    async def dispatch(self, app_id: int, event: str, payload: Any) -> int:
        """Send any event, as given, to the app's session for the payload's guild shard.

        Returns how many sessions got it. A hand-made INTERACTION_CREATE with a usable id
        and token is also tracked, so the bot can answer it (see ``interaction``).
        """
        if event == "INTERACTION_CREATE":
            self._track(app_id, payload)
        return self.gateway.dispatch(app_id, event, payload)

    async def reconnect(self, app_id: int, shard_id: int | None = None) -> int:
        """Op 7 RECONNECT to the app's live sessions; returns once their sockets closed."""
        return await self.gateway.reconnect(app_id, shard_id)

    def invalidate_session(
        self, app_id: int, shard_id: int | None = None, resumable: bool = False
    ) -> int:
        """Op 9 INVALID_SESSION to the app's sessions (all shards, or one); returns how many.

        Not resumable: the sessions end now and a RESUME of them gets op 9 false.
        """
        return self.gateway.invalidate_session(app_id, shard_id, resumable=resumable)

    def close_gateway(
        self,
        app_id: int,
        code: int,
        shard_id: int | None = None,
        *,
        reason: str = "",
        keep_session: bool | None = None,
    ) -> int:
        """Close the app's live sockets with ``code`` (4000, 4004, 4009, 4011, 4014, ...).

        Whether the session stays resumable follows the code (see the class docstring);
        ``keep_session`` overrides it. Returns how many sockets are being closed; it
        does not wait for the clients to answer the close.
        """
        return self.gateway.close_sessions(
            app_id, code, shard_id, reason=reason, keep_session=keep_session
        )

    def drop_socket(self, app_id: int, shard_id: int | None = None) -> int:
        """Cut the app's live sockets (no close frame); the client must RESUME."""
        return self.gateway.drop_socket(app_id, shard_id)

    def configure_gateway(
        self,
        app_id: int,
        *,
        shards: int | None = None,
        total: int | None = None,
        remaining: int | None = None,
        max_concurrency: int | None = None,
        reset_after_ms: int | None = None,
    ) -> None:
        """Set what GET /gateway/bot answers (``shards``, ``session_start_limit``).

        Starts a fresh accounting period for the app: concurrency buckets are emptied.
        """
        app = self.world.apps[app_id]
        if shards is not None:
            app.shard_count = shards
        if total is not None:
            app.session_start_total = total
            app.session_starts_remaining = total
        if remaining is not None:
            app.session_starts_remaining = remaining
        if max_concurrency is not None:
            app.max_concurrency = max_concurrency
        if reset_after_ms is not None:
            app.session_start_reset_ms = reset_after_ms
        self.gateway.limits.reset(app)

    async def set_interactions_endpoint(
        self, app_id: int, url: str | None, *, validate: bool = True
    ) -> None:
        """Deliver the app's interactions to ``url`` over HTTP (None: back to the gateway).

        Raises ``EndpointRejected`` when the URL fails the portal's check.
        """
        await self.http_interactions.set_endpoint(self.world.apps[app_id], url, validate=validate)

    def interaction(self, interaction_id: int) -> FakeInteraction | None:
        record = self.world.interactions.get(interaction_id)
        return None if record is None else FakeInteraction(self.world, record, 0)

    def _track(self, app_id: int, payload: Any) -> None:
        if not isinstance(payload, dict):
            return
        channel = _dict(payload.get("channel"))
        raw_id = _digits(payload.get("id"))
        raw_channel = _digits(payload.get("channel_id") or channel.get("id"))
        token, kind = payload.get("token"), payload.get("type")
        if raw_id is None or raw_channel is None or not isinstance(token, str):
            return
        if not isinstance(kind, int) or raw_id in self.world.interactions:
            return
        user = _dict(_dict(payload.get("member")).get("user") or payload.get("user"))
        self.world.add_interaction(
            Interaction(
                id=raw_id,
                token=token,
                application_id=app_id,
                type=kind,
                user_id=_digits(user.get("id")) or 0,
                guild_id=_digits(payload.get("guild_id")),
                channel_id=raw_channel,
                payload=payload,
            )
        )

    def delete_channel(self, channel_id: int) -> None:
        """Delete a channel as a person with Manage Channels would, in Discord itself."""
        channel = self.world.channels.get(channel_id)
        if channel is None:
            raise KeyError(f"no channel {channel_id}")
        self.world.delete_channel(channel)

    # -- inspection -----------------------------------------------------------------------

    def channels(self, guild_id: int) -> list[Channel]:
        return self.world.guild_channels(guild_id)

    def channel(self, channel_id: int) -> Channel | None:
        return self.world.channels.get(channel_id)

    @property
    def deleted_channels(self) -> set[int]:
        return self.world.deleted_channels

    def messages(self, channel_id: int) -> list[Message]:
        """Messages in the channel, oldest first (ephemeral ones live on their interaction)."""
        return self.world.channel_messages(channel_id)

    def dms(self, user_id: int, app_id: int) -> list[Message]:
        """The DM conversation between a user and an app's bot, oldest first."""
        channel = self.world.find_dm(self.world.apps[app_id].bot_user.id, user_id)
        return [] if channel is None else self.world.channel_messages(channel.id)

    def threads(self, parent_id: int) -> list[Channel]:
        """Threads started in a channel (archived ones included), oldest first."""
        parent = self.world.channels.get(parent_id)
        if parent is None or parent.guild_id is None:
            return []
        return self.world.threads(parent.guild_id, parent_id)

    def thread_members(self, thread_id: int) -> list[int]:
        """User ids of the thread's members, in joining order."""
        thread = self.world.channels.get(thread_id)
        return [] if thread is None else list(thread.thread_members)

    def visible_channels(self, guild_id: int, user_id: int) -> list[Channel]:
        """Channels and threads the member sees in the client's channel list."""
        world = self.world
        everything = world.guild_channels(guild_id) + world.threads(guild_id)
        return [c for c in everything if world.can_view(user_id, c)]

    def member(self, guild_id: int, user_id: int) -> Member | None:
        return self.world.guild(guild_id).members.get(user_id)

    def member_permissions(self, guild_id: int, user_id: int, channel_id: int | None = None) -> int:
        return self.world.permissions(guild_id, user_id, channel_id)

    def commands(self, app_id: int, guild_id: int | None = None) -> list[JSON]:
        return [c.body | {"id": str(c.id)} for c in self.world.commands_of(app_id, guild_id)]


def _overwrite(raw: Mapping[str, Any]) -> Overwrite:
    return Overwrite(
        id=int(raw["id"]),
        type=int(raw.get("type", 0)),
        allow=int(raw.get("allow", 0)),
        deny=int(raw.get("deny", 0)),
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _digits(value: Any) -> int | None:
    return int(value) if isinstance(value, str | int) and str(value).isdigit() else None
