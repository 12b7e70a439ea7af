"""What the pages need from the dashboard's services; the JSON API's service functions back it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import msgspec

from standalone.db.records import Category, GuildSettings, Question


class PageError(Exception):
    """A change the services refused; ``field`` names the input it is about, if one."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class Viewer(msgspec.Struct, frozen=True, kw_only=True):
    """The person logged in."""

    user_id: str
    name: str


class GuildView(msgspec.Struct, frozen=True, kw_only=True):
    """A server the viewer can open: as an admin, or only for their own tickets."""

    id: str
    name: str
    admin: bool


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    """A role or channel offered in a form."""

    id: str
    name: str


class Tag(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    content: str


class TicketRow(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the tickets list."""

    number: int
    category: str
    topic: str | None
    creator: str
    state: str
    created_at: datetime
    transcript: bool


class DashboardPort(Protocol):
    """Every call checks the viewer's rights again; pages never decide access alone."""

    async def guilds(self, viewer: Viewer) -> list[GuildView]:
        """Servers with this bot where the viewer is an admin or a member."""
        ...

    async def guild(self, viewer: Viewer, guild_id: str) -> GuildView | None:
        """One of those servers, or None (not there, not the viewer's, another tenant's)."""
        ...

    async def roles(self, guild: GuildView) -> list[Choice]:
        """The server's roles, @everyone left out."""
        ...

    async def text_channels(self, guild: GuildView) -> list[Choice]: ...

    async def channel_categories(self, guild: GuildView) -> list[Choice]:
        """Discord's channel categories, where a ticket category's channels go."""
        ...

    async def settings(self, viewer: Viewer, guild: GuildView) -> GuildSettings: ...

    async def update_settings(
        self, viewer: Viewer, guild: GuildView, changes: dict[str, Any]
    ) -> GuildSettings: ...

    async def categories(self, viewer: Viewer, guild: GuildView) -> list[Category]: ...

    async def create_category(
        self, viewer: Viewer, guild: GuildView, fields: dict[str, Any]
    ) -> Category: ...

    async def delete_category(self, viewer: Viewer, guild: GuildView, key: str) -> None: ...

    async def questions(
        self, viewer: Viewer, guild: GuildView, category: str
    ) -> list[Question]: ...

    async def add_question(
        self, viewer: Viewer, guild: GuildView, category: str, fields: dict[str, Any]
    ) -> Question: ...

    async def move_question(
        self, viewer: Viewer, guild: GuildView, category: str, key: str, offset: int
    ) -> None: ...

    async def delete_question(
        self, viewer: Viewer, guild: GuildView, category: str, key: str
    ) -> None: ...

    async def tags(self, viewer: Viewer, guild: GuildView) -> list[Tag]: ...

    async def save_tag(self, viewer: Viewer, guild: GuildView, name: str, content: str) -> Tag: ...

    async def delete_tag(self, viewer: Viewer, guild: GuildView, name: str) -> None: ...

    async def post_panel(self, viewer: Viewer, guild: GuildView, fields: dict[str, Any]) -> str:
        """Post a panel; returns the posted message's id."""
        ...

    async def tickets(
        self, viewer: Viewer, guild: GuildView, query: str, state: str
    ) -> list[TicketRow]:
        """Tickets the viewer may see (all for admins, their own and their categories' else)."""
        ...

    async def transcript(self, viewer: Viewer, guild: GuildView, number: int) -> bytes | None:
        """The stored HTML transcript, or None if absent or not the viewer's to see."""
        ...
