"""The Discord calls the http service makes: the OAuth2 code flow and a few bot reads.

Bodies are decoded into msgspec Structs, keeping only the fields used here; a
Discord that cannot be reached, or answers with something unexpected, raises
``DiscordUnavailable`` (the API answers 502), while 401/403/404 keep their meaning.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import urlencode

import aiohttp
import msgspec

ADMIN_BITS = (1 << 3) | (1 << 5)  # Administrator, Manage Server
SCOPES = ("identify", "guilds")


class DiscordUnavailable(Exception):
    """Discord could not be asked, or gave an answer that makes no sense."""


RATE_LIMIT_TRIES = 5
MAX_RATE_LIMIT_WAIT_S = 5.0


class _RateLimited(msgspec.Struct):
    retry_after: float


def _retry_after(raw: bytes) -> float | None:
    """Seconds a 429 asks to wait, or None when the body does not say."""
    try:
        return max(0.0, msgspec.json.decode(raw, type=_RateLimited).retry_after)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


class DiscordRefused(Exception):
    """Discord said no (4xx): ``status`` tells 401/403/404 apart."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"Discord answered {status}: {text}")
        self.status = status


class TokenGrant(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str
    expires_in: int = 0
    scope: str = ""


class DiscordUser(msgspec.Struct, kw_only=True):
    id: str
    username: str
    global_name: str | None = None
    avatar: str | None = None


class UserGuild(msgspec.Struct, kw_only=True):
    """A guild as the user's own token lists it."""

    id: str
    name: str
    icon: str | None = None
    owner: bool = False
    permissions: str = "0"

    @property
    def manages(self) -> bool:
        return self.owner or bool(int(self.permissions) & ADMIN_BITS)


class GuildInfo(msgspec.Struct, kw_only=True):
    id: str
    name: str
    owner_id: str
    icon: str | None = None


class RoleInfo(msgspec.Struct, kw_only=True):
    id: str
    name: str
    permissions: str = "0"


class MemberInfo(msgspec.Struct, kw_only=True):
    roles: list[str] = []


class ChannelInfo(msgspec.Struct, kw_only=True):
    id: str
    type: int
    name: str | None = None
    parent_id: str | None = None


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def authorize_url(api_base: str) -> str:
    """Discord's consent page sits beside the API: ``https://discord.com/oauth2/authorize``."""
    root = api_base.rstrip("/")
    if "/api" in root:
        root = root[: root.rindex("/api")]
    return f"{root}/oauth2/authorize"


class DiscordClient:
    """One HTTP session for every tenant; each call says whose token it uses."""

    def __init__(self, api_base: str, session: aiohttp.ClientSession) -> None:
        self.api_base = api_base.rstrip("/")
        self._session = session

    def login_url(self, client_id: str, redirect_uri: str, state: str) -> str:
        query = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(SCOPES),
            "state": state,
            "prompt": "none",
        }
        return f"{authorize_url(self.api_base)}?{urlencode(query)}"

    async def _call(self, method: str, path: str, kind: type[Any], *, auth: str, **kw: Any) -> Any:
        for attempt in range(RATE_LIMIT_TRIES):
            try:
                async with self._session.request(
                    method, self.api_base + path, headers={"Authorization": auth}, **kw
                ) as resp:
                    raw = await resp.read()
                    wait = _retry_after(raw) if resp.status == 429 else None
                    if wait is not None and attempt + 1 < RATE_LIMIT_TRIES:
                        # Discord's rate limit: a page view waits it out instead of failing.
                        await asyncio.sleep(min(wait, MAX_RATE_LIMIT_WAIT_S))
                        continue
                    if 400 <= resp.status < 500:
                        raise DiscordRefused(resp.status, raw.decode("utf-8", "replace")[:200])
                    if resp.status >= 300:
                        raise DiscordUnavailable(f"Discord answered {resp.status} to {path}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise DiscordUnavailable(f"cannot reach Discord: {exc}") from None
            break
        try:
            return msgspec.json.decode(raw, type=kind)
        except msgspec.DecodeError as exc:
            raise DiscordUnavailable(f"unexpected answer from Discord to {path}: {exc}") from None

    # The code flow, with the tenant's client credentials.

    async def exchange_code(
        self, client_id: str, secret: str, code: str, redirect_uri: str
    ) -> TokenGrant:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        auth = _basic(client_id, secret)
        result: TokenGrant = await self._call(
            "POST", "/oauth2/token", TokenGrant, auth=auth, data=form
        )
        return result

    async def revoke(self, client_id: str, secret: str, token: str) -> None:
        auth = _basic(client_id, secret)
        await self._call("POST", "/oauth2/token/revoke", dict, auth=auth, data={"token": token})

    async def me(self, access_token: str) -> DiscordUser:
        user: DiscordUser = await self._call(
            "GET", "/users/@me", DiscordUser, auth=f"Bearer {access_token}"
        )
        return user

    async def my_guilds(self, access_token: str) -> list[UserGuild]:
        guilds: list[UserGuild] = await self._call(
            "GET", "/users/@me/guilds", list[UserGuild], auth=f"Bearer {access_token}"
        )
        return guilds

    # What the tenant's bot sees.

    async def bot_guilds(self, bot_token: str) -> list[UserGuild]:
        guilds: list[UserGuild] = await self._call(
            "GET", "/users/@me/guilds", list[UserGuild], auth=f"Bot {bot_token}"
        )
        return guilds

    async def guild(self, bot_token: str, guild_id: str) -> GuildInfo:
        info: GuildInfo = await self._call(
            "GET", f"/guilds/{guild_id}", GuildInfo, auth=f"Bot {bot_token}"
        )
        return info

    async def roles(self, bot_token: str, guild_id: str) -> list[RoleInfo]:
        roles: list[RoleInfo] = await self._call(
            "GET", f"/guilds/{guild_id}/roles", list[RoleInfo], auth=f"Bot {bot_token}"
        )
        return roles

    async def member(self, bot_token: str, guild_id: str, user_id: str) -> MemberInfo | None:
        """The member, or None when the user is not in the guild."""
        try:
            info: MemberInfo = await self._call(
                "GET", f"/guilds/{guild_id}/members/{user_id}", MemberInfo, auth=f"Bot {bot_token}"
            )
        except DiscordRefused as exc:
            if exc.status == 404:
                return None
            raise
        return info

    async def channels(self, bot_token: str, guild_id: str) -> list[ChannelInfo]:
        channels: list[ChannelInfo] = await self._call(
            "GET", f"/guilds/{guild_id}/channels", list[ChannelInfo], auth=f"Bot {bot_token}"
        )
        return channels
