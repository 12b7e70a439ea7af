"""Login sessions, kept in the database so that logging out (or expiry) ends them.

The cookie holds a random session id and its HMAC; the database keys the record
by the id's SHA-256, so a copy of the database gives no usable cookie. A session
belongs to one tenant: its cookie is scoped to ``/t/{tenant}`` and a record of
another tenant is refused even when its cookie is sent.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from standalone.crypto import Cipher
from standalone.db.connection import Database
from standalone.db.records import to_struct
from standalone.http.discord_api import DiscordUser, UserGuild
from standalone.http.signing import Signer

SESSION_COOKIE = "tickets_session"


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """A logged-in person, for one tenant."""

    id: str  # the record key (SHA-256 of the cookie's secret), not the secret
    tenant: str
    user_id: str
    username: str
    csrf: str
    expires_at: datetime
    created_at: datetime
    access_token: str  # encrypted at rest
    global_name: str | None = None
    avatar: str | None = None
    scopes: list[str] = []
    guilds: list[UserGuild] = []


def _record_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SessionStore:
    """Create, find and end sessions; ``cookie`` values go to and come from browsers."""

    def __init__(self, db: Database, cipher: Cipher, signer: Signer, ttl_s: int) -> None:
        self._db = db
        self._cipher = cipher
        self._signer = signer
        self.ttl_s = ttl_s

    async def create(
        self,
        tenant: str,
        user: DiscordUser,
        access_token: str,
        scopes: list[str],
        guilds: list[UserGuild],
    ) -> tuple[Session, str]:
        """A new session and the signed cookie value that names it."""
        secret = secrets.token_urlsafe(32)
        key = _record_key(secret)
        now = datetime.now(UTC)
        data: dict[str, Any] = {
            "tenant": tenant,
            "user_id": user.id,
            "username": user.username,
            "global_name": user.global_name,
            "avatar": user.avatar,
            "access_token": self._cipher.encrypt(access_token),
            "scopes": scopes,
            "guilds": msgspec.to_builtins(guilds),
            "csrf": secrets.token_urlsafe(32),
            "created_at": now,
            "expires_at": now + timedelta(seconds=self.ttl_s),
        }
        data = {k: v for k, v in data.items() if v is not None}
        row = await self._db.one(
            "CREATE ONLY type::thing('web_session', $key) CONTENT $data;",
            {"key": key, "data": data},
        )
        return to_struct(row, Session, id=key), self._signer.sign(secret)

    async def find(self, cookie: str) -> Session | None:
        """The live session a cookie names; None for a forged, ended or expired one."""
        secret = self._signer.unsign(cookie)
        if secret is None:
            return None
        key = _record_key(secret)
        row = await self._db.one(
            "SELECT * FROM ONLY type::thing('web_session', $key);", {"key": key}
        )
        if not row:
            return None
        session = to_struct(row, Session, id=key)
        if session.expires_at <= datetime.now(UTC):
            await self.end(session)
            return None
        return session

    async def end(self, session: Session) -> None:
        await self._db.run("DELETE type::thing('web_session', $key);", {"key": session.id})

    async def end_expired(self) -> int:
        """Remove sessions past their expiry; returns how many."""
        rows = await self._db.one(
            "DELETE web_session WHERE expires_at <= time::now() RETURN BEFORE;"
        )
        return len(rows or [])

    def access_token(self, session: Session) -> str:
        return self._cipher.decrypt(session.access_token)
