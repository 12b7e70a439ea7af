"""Checks that ids in a request name real roles and channels of the guild, as the bot sees it."""

from __future__ import annotations

from collections.abc import Iterable

from standalone.http.deps import HttpDeps
from standalone.http.discord_api import (
    ChannelInfo,
    DiscordRefused,
    DiscordUnavailable,
    RoleInfo,
)
from standalone.http.errors import ApiError, invalid

TEXT = 0
CATEGORY = 4
ANNOUNCEMENT = 5


class GuildRefs:
    """The guild's roles and channels, fetched once per request and only when needed."""

    def __init__(self, deps: HttpDeps, tenant: str, guild_id: str) -> None:
        self._deps = deps
        self._tenant = tenant
        self._guild = guild_id
        self._roles: set[str] | None = None
        self._role_list: list[RoleInfo] = []
        self._channels: dict[str, ChannelInfo] | None = None

    async def _token(self) -> str:
        row = await self._deps.tenants.get(self._tenant)
        assert row is not None  # the request's tenant was looked up before
        return self._deps.tenants.token(row)

    async def roles(self) -> set[str]:
        if self._roles is None:
            try:
                found = await self._deps.discord.roles(await self._token(), self._guild)
            except (DiscordRefused, DiscordUnavailable):
                raise ApiError(502, "cannot read the server's roles from Discord") from None
            self._role_list = found
            self._roles = {r.id for r in found}
        return self._roles

    async def role_list(self) -> list[RoleInfo]:
        """The roles with their names, in Discord's order."""
        await self.roles()
        return self._role_list

    async def channels(self) -> dict[str, ChannelInfo]:
        if self._channels is None:
            try:
                found = await self._deps.discord.channels(await self._token(), self._guild)
            except (DiscordRefused, DiscordUnavailable):
                raise ApiError(502, "cannot read the server's channels from Discord") from None
            self._channels = {c.id: c for c in found}
        return self._channels

    async def check_roles(self, field: str, ids: Iterable[str]) -> None:
        known = await self.roles()
        for n, role in enumerate(ids):
            if role not in known:
                raise invalid(f"{field}.{n}", f"this server has no role {role}")

    async def check_channel(self, field: str, channel_id: str | None, kinds: set[int]) -> None:
        if channel_id is None:
            return
        channel = (await self.channels()).get(channel_id)
        if channel is None:
            raise invalid(field, f"this server has no channel {channel_id}")
        if channel.type not in kinds:
            wanted = "a channel category" if kinds == {CATEGORY} else "a text channel"
            raise invalid(field, f"{channel.name or channel_id} is not {wanted}")
