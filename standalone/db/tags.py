"""Tags: saved answers staff post by name; a tag may also carry a pattern that auto-replies.

Patterns are compiled with the ``regex`` package, whose matching takes a timeout,
so a pathological pattern from an admin cannot stall a worker: ``matches`` gives
up after ``MATCH_TIMEOUT_S`` and counts that as no match.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import msgspec
import regex

from standalone.db.connection import Database, DatabaseError
from standalone.db.records import record_key, to_struct

MAX_NAME = 32
MAX_CONTENT = 4000
MAX_PATTERN = 200
MATCH_TIMEOUT_S = 0.05


class TagError(ValueError):
    """A tag that cannot be saved; the message starts with the field at fault."""


class Tag(msgspec.Struct, frozen=True, kw_only=True):
    """A saved answer of one guild."""

    key: str
    guild_id: str
    name: str
    content: str
    regex: str | None = None
    created_at: datetime | None = None


def compile_pattern(pattern: str) -> Any:
    """The compiled pattern (case-insensitive, multiline); raises TagError if it is not one."""
    if len(pattern) > MAX_PATTERN:
        raise TagError(f"regex: at most {MAX_PATTERN} characters")
    try:
        return regex.compile(pattern, regex.IGNORECASE | regex.MULTILINE)
    except regex.error as exc:
        raise TagError(f"regex: not a valid pattern ({exc})") from None


def matches(tag: Tag, text: str) -> bool:
    """Whether the tag's pattern finds ``text``; a pattern that runs too long does not match."""
    if not tag.regex:
        return False
    try:
        return compile_pattern(tag.regex).search(text, timeout=MATCH_TIMEOUT_S) is not None
    except (TagError, TimeoutError):
        return False


def _check(name: str, content: str, pattern: str | None) -> None:
    if not 1 <= len(name) <= MAX_NAME or name != name.strip():
        raise TagError(f"name: 1 to {MAX_NAME} characters, no spaces around it")
    if not 1 <= len(content) <= MAX_CONTENT:
        raise TagError(f"content: 1 to {MAX_CONTENT} characters")
    if pattern is not None:
        compile_pattern(pattern)


class TagRepository:
    """A tenant's tags; names are unique per guild (case-insensitively)."""

    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self.tenant = tenant

    async def list(self, guild_id: str) -> list[Tag]:
        rows = await self._db.one(
            "SELECT * FROM tag WHERE tenant = $tenant AND guild_id = $guild ORDER BY name;",
            {"tenant": self.tenant, "guild": guild_id},
        )
        return [to_struct(r, Tag, key=record_key(r["id"])) for r in rows or []]

    async def get(self, guild_id: str, key: str) -> Tag | None:
        rows = await self._db.one(
            "SELECT * FROM type::thing('tag', $key) WHERE tenant = $tenant AND guild_id = $guild;",
            {"tenant": self.tenant, "guild": guild_id, "key": key},
        )
        return to_struct(rows[0], Tag, key=key) if rows else None

    async def _name_taken(self, guild_id: str, name: str, key: str | None) -> bool:
        return any(
            t.name.lower() == name.lower() and t.key != key for t in await self.list(guild_id)
        )

    async def create(self, guild_id: str, name: str, content: str, pattern: str | None) -> Tag:
        _check(name, content, pattern)
        if await self._name_taken(guild_id, name, None):
            raise TagError(f"name: a tag named {name!r} exists already")
        key = secrets.token_hex(6)
        data: dict[str, Any] = {
            "tenant": self.tenant,
            "guild_id": guild_id,
            "name": name,
            "content": content,
        }
        if pattern is not None:
            data["regex"] = pattern
        try:
            row = await self._db.one(
                "CREATE ONLY type::thing('tag', $key) CONTENT $data;", {"key": key, "data": data}
            )
        except DatabaseError as exc:
            # Two creates of one name at once: the unique index refuses the second.
            if "tag_name" in str(exc):
                raise TagError(f"name: a tag named {name!r} exists already") from None
            raise
        return to_struct(row, Tag, key=key)

    async def update(self, guild_id: str, key: str, **changes: Any) -> Tag | None:
        """Change name, content or regex (None removes it); None when there is no such tag."""
        current = await self.get(guild_id, key)
        if current is None:
            return None
        name = changes.get("name", current.name)
        content = changes.get("content", current.content)
        pattern = changes.get("regex", current.regex)
        _check(name, content, pattern)
        if await self._name_taken(guild_id, name, key):
            raise TagError(f"name: a tag named {name!r} exists already")
        try:
            row = await self._db.one(
                "UPDATE ONLY type::thing('tag', $key) SET name = $name, content = $content, "
                "regex = $regex;",
                {"key": key, "name": name, "content": content, "regex": pattern},
            )
        except DatabaseError as exc:
            if "tag_name" in str(exc):
                raise TagError(f"name: a tag named {name!r} exists already") from None
            raise
        return to_struct(row, Tag, key=key)

    async def delete(self, guild_id: str, key: str) -> bool:
        if await self.get(guild_id, key) is None:
            return False
        await self._db.run("DELETE type::thing('tag', $key);", {"key": key})
        return True
