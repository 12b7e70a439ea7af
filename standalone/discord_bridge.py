"""The one place that touches disnake's private connection state.

Workers own no gateway socket: gateway events reach disnake's command framework
from the stream, through here. An upgrade of disnake should only touch this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import aiohttp
import disnake
import msgspec
from aiohttp import ClientMiddlewareType
from disnake.ext import commands
from disnake.gateway import DiscordClientWebSocketResponse
from disnake.interactions.application_command import ApplicationCommandInteraction
from disnake.interactions.base import Interaction
from disnake.interactions.message import MessageInteraction
from disnake.interactions.modal import ModalInteraction

from standalone.i18n.commands import CatalogueLocalisations


class MalformedEvent(ValueError):
    """A gateway payload that disnake cannot turn into an object."""


class _User(msgspec.Struct):
    id: str


class _Member(msgspec.Struct):
    user: _User
    roles: list[str]
    permissions: str


class _Channel(msgspec.Struct):
    id: str
    type: int


class _Message(msgspec.Struct):
    id: str
    channel_id: str


class _CommandData(msgspec.Struct):
    id: str
    name: str
    type: int = 1


class _ComponentData(msgspec.Struct):
    custom_id: str
    component_type: int
    values: list[str] = []


class _Field(msgspec.Struct):
    type: int
    custom_id: str | None = None
    value: str | None = None
    values: list[str] | None = None


class _ModalRow(msgspec.Struct):
    type: int
    components: list[_Field] = []
    component: _Field | None = None  # label (type 18) wrappers hold one component


class _ModalData(msgspec.Struct):
    custom_id: str
    components: list[_ModalRow]


class _Interaction(msgspec.Struct):
    """What any interaction must carry before disnake is given it."""

    id: str
    application_id: str
    type: int
    token: str
    channel: _Channel
    data: dict[str, Any]
    guild_id: str | None = None
    member: _Member | None = None
    user: _User | None = None
    message: _Message | None = None


_DATA: dict[int, type[msgspec.Struct]] = {
    2: _CommandData,
    3: _ComponentData,
    4: _CommandData,
    5: _ModalData,
}


def check_interaction(payload: Any) -> None:
    """Refuse payloads disnake would choke on later, mid-handler, with a vague error."""
    try:
        shape = msgspec.convert(payload, _Interaction)
        data_type = _DATA.get(shape.type)
        if data_type is None:
            raise MalformedEvent(f"unsupported interaction type {shape.type!r}")
        msgspec.convert(shape.data, data_type)
    except msgspec.ValidationError as exc:
        raise MalformedEvent(f"malformed interaction payload: {exc}") from None
    if (shape.member is None) == (shape.user is None):
        raise MalformedEvent("malformed interaction payload: needs exactly one of member, user")
    if shape.guild_id is not None and shape.member is None:
        raise MalformedEvent("malformed interaction payload: a guild interaction needs member")
    if shape.type == 3 and shape.message is None:
        raise MalformedEvent("malformed interaction payload: a component needs its message")


class StreamBot(commands.InteractionBot):
    """An InteractionBot fed from the event stream instead of its own websocket."""

    def _schedule_app_command_preparation(self) -> None:
        # disnake would wait for a gateway READY that never comes here; commands are
        # synced explicitly by ``sync_commands`` instead.
        return


def point_at(api_base: str) -> None:
    """Send every REST call (bot, interaction callbacks, webhooks) to ``api_base``.

    disnake keeps the base on a class attribute, so it is one value per process:
    all tenants of a deployment talk to the same Discord.
    """
    disnake.http.Route.BASE = api_base.rstrip("/")


_SESSION = "_HTTPClient__session"  # disnake's private session, name-mangled


class _MiddlewareHTTPClient(disnake.http.HTTPClient):
    """disnake's REST client on a session with aiohttp client middlewares.

    Every REST call of the bot (interaction callbacks and followups too, which
    disnake sends on the same session) passes the middlewares: the shared rate
    limiter, or the headers the interceptor expects.
    """

    def __init__(
        self, middlewares: Sequence[ClientMiddlewareType], original: disnake.http.HTTPClient
    ) -> None:
        super().__init__(
            original.connector,
            loop=original.loop,
            proxy=original.proxy,
            proxy_auth=original.proxy_auth,
            unsync_clock=not original.use_clock,
        )
        self._middlewares = tuple(middlewares)

    def _new_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=self.connector,
            ws_response_class=DiscordClientWebSocketResponse,
            middlewares=self._middlewares,
        )

    async def static_login(self, token: str) -> Any:
        # disnake's, but the session it opens carries the middlewares from the first call.
        setattr(self, _SESSION, self._new_session())
        old_token, self.token = self.token, token
        try:
            return await self.request(disnake.http.Route("GET", "/users/@me"))
        except disnake.HTTPException as exc:
            self.token = old_token
            if exc.status == 401:
                raise disnake.LoginFailure("Improper token has been passed.") from exc
            raise

    def recreate(self) -> None:
        if getattr(self, _SESSION).closed:
            setattr(self, _SESSION, self._new_session())


def make_bot(
    application_id: int, rest_middlewares: Sequence[ClientMiddlewareType] = ()
) -> StreamBot:
    """A bot that handles interactions and REST for one tenant.

    ``rest_middlewares`` wrap every REST call (see ``standalone.interceptor.client``).
    """
    bot = StreamBot(
        application_id=application_id,
        owner_id=0,
        # No socket of its own; guilds keeps disnake's state from warning.
        intents=disnake.Intents(guilds=True),
        command_sync_flags=commands.CommandSyncFlags.none(),
        localization_provider=CatalogueLocalisations(),
    )
    if rest_middlewares:
        http = _MiddlewareHTTPClient(rest_middlewares, bot.http)
        bot.http = http
        bot._connection.http = http
    return bot


async def sync_commands(bot: StreamBot) -> None:
    """Register the bot's application commands globally (one bulk overwrite)."""
    bodies = [command.body for command in bot.application_commands]
    await bot.bulk_overwrite_global_commands(bodies)
    # disnake checks incoming guild-command ids against its cache; global ones are
    # looked up by name, so nothing more is needed.


def to_interaction(bot: StreamBot, payload: dict[str, Any]) -> Interaction[Any]:
    """Build disnake's interaction object; raises MalformedEvent on a bad payload."""
    check_interaction(payload)
    state = bot._connection
    kind = payload.get("type")
    classes: dict[int, type[Interaction[Any]]] = {
        2: ApplicationCommandInteraction,
        3: MessageInteraction,
        4: ApplicationCommandInteraction,
        5: ModalInteraction,
    }
    cls = classes.get(kind) if isinstance(kind, int) else None
    if cls is None:
        raise MalformedEvent(f"unsupported interaction type {kind!r}")
    try:
        return cls(data=payload, state=state)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedEvent(f"malformed interaction payload: {exc!r}") from None


def member_role_ids(member: disnake.Member | disnake.User) -> set[int]:
    """Role ids of an interaction's member, without needing its guild cached."""
    if isinstance(member, disnake.Member):
        return set(member._roles)
    return set()


class _Limited(msgspec.Struct):
    retry_after: float = 0.0


async def patch_channel_once(
    http: disnake.http.HTTPClient,
    channel_id: int,
    fields: dict[str, Any],
    *,
    reason: str | None = None,
) -> float | None:
    """PATCH a channel once; on a 429 return Discord's ``retry_after`` instead of waiting.

    disnake sleeps through every 429 and tries again, which for Discord's two renames
    per ten minutes means a worker stuck for minutes; a rename wants the refusal.
    The call still passes the session's middlewares (the shared rate limiter).
    """
    session: aiohttp.ClientSession = getattr(http, _SESSION)
    route = disnake.http.Route("PATCH", "/channels/{channel_id}", channel_id=channel_id)
    headers = {"User-Agent": http.user_agent, "Content-Type": "application/json"}
    if http.token is not None:
        headers["Authorization"] = f"Bot {http.token}"
    if reason:
        headers["X-Audit-Log-Reason"] = quote(reason, safe="/ ")
    body = msgspec.json.encode(fields)
    async with session.request("PATCH", route.url, data=body, headers=headers) as response:
        raw = await response.read()
        if 200 <= response.status < 300:
            return None
        if response.status == 429 and "Via" in response.headers:
            try:
                return max(msgspec.json.decode(raw, type=_Limited).retry_after, 0.0)
            except msgspec.DecodeError:
                return float(response.headers.get("Retry-After") or 1)
        try:
            data: Any = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            data = raw.decode(errors="replace")
        if response.status == 403:
            raise disnake.Forbidden(response, data)
        if response.status == 404:
            raise disnake.NotFound(response, data)
        raise disnake.HTTPException(response, data)
