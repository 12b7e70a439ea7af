"""Changes made through the API, logged in the guild's log channel as commands' are."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import disnake
import msgspec

from standalone.db.settings import SettingsRepository
from standalone.http.access import GuildAccess
from standalone.http.deps import HttpDeps
from standalone.tickets import audit

log = logging.getLogger(__name__)


def as_dict(record: msgspec.Struct | None) -> dict[str, Any]:
    """A saved record as the log compares it; nothing for one that does not exist."""
    return msgspec.structs.asdict(record) if record is not None else {}


async def log_change(
    deps: HttpDeps,
    access: GuildAccess,
    before: msgspec.Struct | None,
    after: msgspec.Struct | None,
    *,
    what: str = "settings",
) -> None:
    """Log a saved change; the change stands even when Discord refuses the entry.

    A request is not redelivered, so a fresh id makes its fingerprint.
    """
    settings = await SettingsRepository(deps.db, access.tenant).guild(access.guild_id)
    if settings.log_channel is None:
        return  # no need to log the bot in
    ctx = await deps.bots.context(access.tenant)
    try:
        await audit.settings_changed(
            ctx,
            access.guild_id,
            access.session.user_id,
            as_dict(before),
            as_dict(after),
            f"api:{secrets.token_hex(8)}",
            what=what,
        )
    except disnake.HTTPException as exc:
        log.warning("guild %s: change saved but not logged: %s", access.guild_id, exc)
