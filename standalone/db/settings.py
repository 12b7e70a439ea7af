"""Guild settings, categories and their questions, within one tenant."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from standalone.db.batched import Statement, batched
from standalone.db.connection import Database
from standalone.db.records import Category, GuildSettings, Question, record_key, to_struct
from standalone.db.shared_reads import read_once

MAX_QUESTIONS = 5  # Discord's modal holds five fields
MAX_CATEGORIES = 25  # a select menu lists at most 25 options

# Read for every message in a ticket: run with the other handlers' rows (db.batched).
_GUILD = Statement(read="SELECT * FROM ONLY type::thing('guild', [$r.tenant, $r.guild])")
_CATEGORY = Statement(
    read="SELECT * FROM type::thing('category', $r.key) WHERE tenant = $r.tenant "
    "AND guild_id = $r.guild"
)

# Fields that only the code sets; settings commands and the API may not.
_CATEGORY_INTERNAL = {"key", "guild_id", "interaction_id"}
_GUILD_INTERNAL = {"guild_id"}
# Guild durations whose default is not "off": stored as 0 when turned off. None
# would reach SurrealDB as NONE, which MERGE takes as "remove the field" and which
# reads back as the default (12 h of auto-close); NULL would survive this
# repository but not a backup's or an import's round trip through Python, where
# it becomes None again. 0 means off for these just as None does (``effective_ms``).
_GUILD_OFF_AS_ZERO = frozenset(
    f.name
    for f in msgspec.structs.fields(GuildSettings)
    if f.name.endswith("_ms") and f.default not in (None, msgspec.NODEFAULT)
)


class SettingsError(ValueError):
    """A setting value that cannot be stored; the message names the field."""


def _guild_settings(row: dict[str, Any], guild_id: str) -> GuildSettings:
    """A guild's row as settings: a duration stored as 0 (off) reads as None."""
    off = {name: None for name in _GUILD_OFF_AS_ZERO if row.get(name) == 0}
    return to_struct({**row, **off}, GuildSettings, guild_id=guild_id)


def _validated(kind: type[Any], data: dict[str, Any]) -> Any:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise SettingsError(str(exc)) from None


class SettingsRepository:
    """Every query carries the tenant, so one tenant's code cannot reach another's rows."""

    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self._batched = batched(db)
        self.tenant = tenant

    def _vars(self, **values: Any) -> dict[str, Any]:
        return {"tenant": self.tenant, **values}

    # Guild

    async def guild(self, guild_id: str) -> GuildSettings:
        """The guild's settings; defaults for a guild never configured (see shared_reads)."""

        async def load() -> GuildSettings:
            row = await self._batched.run(_GUILD, self._vars(guild=guild_id))
            return _guild_settings(row or {}, guild_id)

        return await read_once(("guild", self.tenant, guild_id), load)

    async def update_guild(self, guild_id: str, /, **changes: Any) -> GuildSettings:
        """Change some settings; raises SettingsError naming a bad field."""
        unknown = set(changes) - set(GuildSettings.__struct_fields__) | (
            set(changes) & _GUILD_INTERNAL
        )
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        current = msgspec.structs.asdict(await self.guild(guild_id))
        merged: GuildSettings = _validated(GuildSettings, {**current, **changes})
        data = msgspec.structs.asdict(merged)
        data.pop("guild_id")
        for name in _GUILD_OFF_AS_ZERO:
            if data[name] is None:
                data[name] = 0
        row = await self._db.one(
            "UPSERT ONLY type::thing('guild', [$tenant, $guild]) MERGE $data;",
            self._vars(guild=guild_id, data={"tenant": self.tenant, "guild_id": guild_id, **data}),
        )
        return _guild_settings(row, guild_id)

    # Categories

    async def categories(self, guild_id: str) -> list[Category]:
        """The guild's categories in panel order."""
        rows = await self._db.one(
            "SELECT * FROM category WHERE tenant = $tenant AND guild_id = $guild "
            "ORDER BY position, name;",
            self._vars(guild=guild_id),
        )
        return [to_struct(r, Category, key=record_key(r["id"])) for r in rows or []]

    async def category(self, guild_id: str, key: str) -> Category | None:
        """A category of this tenant's guild, or None (also for another guild's key).

        Shared by one event's handlers (see shared_reads).
        """

        async def load() -> Category | None:
            rows = await self._batched.run(_CATEGORY, self._vars(key=key, guild=guild_id))
            return to_struct(rows[0], Category, key=key) if rows else None

        return await read_once(("category", self.tenant, guild_id, key), load)

    async def category_by_key(self, key: str) -> Category | None:
        """A category of this tenant by its key alone (a DM has no guild to scope by)."""
        rows = await self._db.one(
            "SELECT * FROM type::thing('category', $key) WHERE tenant = $tenant;",
            self._vars(key=key),
        )
        return to_struct(rows[0], Category, key=key) if rows else None

    async def guilds_with_categories(self) -> list[str]:
        """Guilds of this tenant that have at least one category."""
        rows = await self._db.one(
            "SELECT guild_id FROM category WHERE tenant = $tenant GROUP BY guild_id;",
            self._vars(),
        )
        return [str(r["guild_id"]) for r in rows or []]

    async def create_category(self, guild_id: str, name: str, /, **fields: Any) -> Category:
        """Add a category; raises SettingsError for a duplicate name or a bad field."""
        existing = await self.categories(guild_id)
        if any(c.name.lower() == name.lower() for c in existing):
            raise SettingsError(f"a category named {name!r} exists already")
        if len(existing) >= MAX_CATEGORIES:
            raise SettingsError(f"a server can have at most {MAX_CATEGORIES} categories")
        defaults = {
            "staff_roles": [],
            "channel_name": "ticket-{num}",
            "opening_message": "Thanks for opening a ticket, {username}. "
            "Staff will be with you soon.",
            "member_limit": 1,
            "position": len(existing),
        }
        key = secrets.token_hex(6)
        return await self._write_category(
            key, {**defaults, **fields, "name": name, "guild_id": guild_id, "key": key}
        )

    async def update_category(self, guild_id: str, key: str, /, **changes: Any) -> Category:
        """Change some fields of a category; raises SettingsError."""
        current = await self.category(guild_id, key)
        if current is None:
            raise SettingsError("no such category")
        bad = set(changes) & _CATEGORY_INTERNAL
        bad |= set(changes) - set(Category.__struct_fields__)
        if bad:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(bad))}")
        return await self._write_category(key, {**msgspec.structs.asdict(current), **changes})

    async def _write_category(self, key: str, data: dict[str, Any]) -> Category:
        category: Category = _validated(Category, data)
        _check_category(category)
        row = msgspec.structs.asdict(category)
        row.pop("key")
        # None reaches SurrealDB as NONE, which MERGE treats as "remove the field".
        sql = "UPSERT ONLY type::thing('category', $key) MERGE $row;"
        stored = await self._db.one(sql, self._vars(key=key, row={**row, "tenant": self.tenant}))
        return to_struct(stored, Category, key=key)

    async def delete_category(self, guild_id: str, key: str) -> bool:
        """Remove a category and its questions; its tickets keep their history."""
        if await self.category(guild_id, key) is None:
            return False
        await self._db.run(
            "BEGIN TRANSACTION;"
            "DELETE question WHERE tenant = $tenant AND category = type::thing('category', $key);"
            "DELETE type::thing('category', $key);"
            "COMMIT TRANSACTION;",
            self._vars(key=key),
        )
        return True

    # Questions

    async def questions(self, category_key: str) -> list[Question]:
        """A category's questions in form order."""
        rows = await self._db.one(
            "SELECT * FROM question WHERE tenant = $tenant "
            "AND category = type::thing('category', $cat) ORDER BY position, created_at;",
            self._vars(cat=category_key),
        )
        return [to_struct(r, Question, category=category_key) for r in rows or []]

    async def save_question(self, category_key: str, label: str, **fields: Any) -> Question:
        """Add a question, or update the one with ``fields['key']``; raises SettingsError."""
        existing = await self.questions(category_key)
        key = str(fields.pop("key", "") or secrets.token_hex(4))
        current = next((q for q in existing if q.key == key), None)
        if current is None and len(existing) >= MAX_QUESTIONS:
            raise SettingsError(f"a category can have at most {MAX_QUESTIONS} questions")
        base = msgspec.structs.asdict(current) if current else {"position": len(existing)}
        question: Question = _validated(
            Question, {**base, **fields, "label": label, "key": key, "category": category_key}
        )
        _check_question(question)
        row = {k: v for k, v in msgspec.structs.asdict(question).items() if v is not None}
        stored = await self._db.one(
            "UPSERT ONLY type::thing('question', [$tenant, $cat, $key]) MERGE "
            "{tenant: $tenant, category: type::thing('category', $cat), key: $key, "
            "position: $row.position, label: $row.label, kind: $row.kind, style: $row.style, "
            "placeholder: $row.placeholder, value: $row.value, required: $row.required, "
            "min_length: $row.min_length, max_length: $row.max_length, options: $row.options};",
            self._vars(cat=category_key, key=key, row=row),
        )
        return to_struct(stored, Question, category=category_key)

    async def reorder_questions(self, category_key: str, keys: list[str]) -> list[Question]:
        """Put the questions in the order of ``keys`` (all of them, each once), in one go."""
        existing = {q.key for q in await self.questions(category_key)}
        if len(keys) != len(set(keys)) or set(keys) != existing:
            raise SettingsError("keys: list every question of the category once")
        await self._db.run(
            "BEGIN TRANSACTION;"
            "FOR $item IN $items { UPDATE type::thing('question', [$tenant, $cat, $item.key]) "
            "SET position = $item.position; };"
            "COMMIT TRANSACTION;",
            self._vars(
                cat=category_key,
                items=[{"key": key, "position": n} for n, key in enumerate(keys)],
            ),
        )
        return await self.questions(category_key)

    async def remove_question(self, category_key: str, key: str) -> bool:
        """Delete a question; True when it existed."""
        removed = await self._db.one(
            "DELETE type::thing('question', [$tenant, $cat, $key]) RETURN BEFORE;",
            self._vars(cat=category_key, key=key),
        )
        return bool(removed)


def _check_category(category: Category) -> None:
    if not 1 <= len(category.name) <= 50:
        raise SettingsError("name: must be 1 to 50 characters")
    if category.mode not in {"channel", "thread"}:
        raise SettingsError("mode: must be 'channel' or 'thread'")
    if category.member_limit < 1 or category.total_limit < 1:
        raise SettingsError("member_limit and total_limit must be at least 1")
    if category.slowmode_s is not None and not 0 <= category.slowmode_s <= 21600:
        raise SettingsError("slowmode_s: Discord allows 0 to 21600 seconds")
    for name in ("cooldown_ms", "auto_close_ms", "stale_after_ms"):
        value = getattr(category, name)
        if value is not None and value < 0:
            raise SettingsError(f"{name}: must not be negative")
    if not 1 <= len(category.channel_name) <= 100:
        raise SettingsError("channel_name: must be 1 to 100 characters")
    if len(category.opening_message) > 4000:
        raise SettingsError("opening_message: at most 4000 characters")


def _check_question(question: Question) -> None:
    if not 1 <= len(question.label) <= 45:
        raise SettingsError("label: Discord allows 1 to 45 characters")
    if question.kind not in {"text", "select"}:
        raise SettingsError("kind: must be 'text' or 'select'")
    if question.kind == "select" and not 1 <= len(question.options) <= 25:
        raise SettingsError("options: a menu question needs 1 to 25 options")
    if any(not 1 <= len(option) <= 100 for option in question.options):
        raise SettingsError("options: each option must be 1 to 100 characters")
    if not 0 <= question.min_length <= question.max_length <= 4000:
        raise SettingsError("min_length/max_length: need 0 <= min <= max <= 4000")
