"""Tags: saved answers staff post by name; a tag may also carry a pattern that auto-replies.

Patterns are compiled with the ``regex`` package, whose matching takes a timeout,
so a pathological pattern from an admin cannot stall a worker: ``matches`` gives
up after ``MATCH_TIMEOUT_S`` and counts that as no match.
"""

from __future__ import annotations

import re
import re._parser as _sre  # type: ignore[import-not-found]  # Python's own, unstubbed
import secrets
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import msgspec

from standalone.db.batched import Statement, batched
from standalone.db.connection import Database, DatabaseError
from standalone.db.records import record_key, to_struct

MAX_NAME = 32
MAX_CONTENT = 4000
MAX_PATTERN = 200
MATCH_TIMEOUT_S = 0.05
MATCH_BUDGET = 5  # one message's patterns together: this many single timeouts
PROBE_TIMEOUT_S = 0.05
PROBE_LENGTH = 500
SMALL_NESTING = 100  # ``(ab{2}){3}`` repeats little: fine (the probes still run)
_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", _sre.MAX_REPEAT)}


class TagError(ValueError):
    """A tag that cannot be saved; the message starts with the field at fault.

    ``problem`` names the reason for the catalogue (``tags.error.<problem>``) and
    ``values`` fill it, so a person reads it in their language.
    """

    def __init__(self, field: str, problem: str, message: str, **values: Any) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.problem = problem
        self.values = values


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
    # Loaded by the first pattern rather than by every bot at start-up (about
    # 1.5 MiB): a guild without auto-replies never needs it.
    import regex

    if len(pattern) > MAX_PATTERN:
        raise TagError(
            "regex", "pattern_long", f"at most {MAX_PATTERN} characters", limit=MAX_PATTERN
        )
    try:
        return regex.compile(pattern, regex.IGNORECASE | regex.MULTILINE)
    except regex.error as exc:
        raise TagError(
            "regex", "pattern_invalid", f"not a valid pattern ({exc})", detail=str(exc)
        ) from None


def _repeats(items: Any) -> Iterator[tuple[int, list[Any]]]:
    """Each repetition in a parsed pattern: its upper bound and what it repeats."""
    for op, av in items:
        if op in _REPEATS:
            yield av[1], av[2]
        for part in av if isinstance(av, tuple | list) else ():
            if isinstance(part, _sre.SubPattern | list):
                inner = [part] if isinstance(part, _sre.SubPattern) else part
                for sub in inner:
                    if isinstance(sub, _sre.SubPattern):
                        yield from _repeats(sub)


def _nested_repetition(pattern: str) -> bool:
    """Whether a repeated part repeats something itself, as ``(a+)+`` does.

    Such patterns can take exponential time on a near miss. Only the syntax that
    Python's own parser knows is checked; the timed probes cover the rest.
    """
    try:
        parsed = _sre.parse(pattern)
    except (re.error, OverflowError, RecursionError):
        return False
    return any(
        upper > 1
        and any(inner > 1 and upper * inner > SMALL_NESTING for inner, _ in _repeats(body))
        for upper, body in _repeats(parsed)
    )


def _probes(pattern: str) -> list[str]:
    """Near misses: long runs of a few characters (and of the pattern's own) that end wrong."""
    own = [c for c in dict.fromkeys(pattern) if c.isalnum() or c in " ,.-_"][:8]
    return [unit * PROBE_LENGTH + "!\u0000" for unit in ["a", "0", " ", "a,", "ab", "a ", *own]]


def check_pattern(pattern: str) -> Any:
    """``compile_pattern``, refusing also patterns that are slow on some text.

    Run when a tag is saved: nested repetition is refused outright, then the
    pattern must answer each probe within ``PROBE_TIMEOUT_S``.
    """
    compiled = compile_pattern(pattern)
    if _nested_repetition(pattern):
        raise TagError("regex", "pattern_nested", "a repeated part may not repeat itself")
    for probe in _probes(pattern):
        try:
            compiled.search(probe, timeout=PROBE_TIMEOUT_S, concurrent=True)
        except TimeoutError:
            raise TagError("regex", "pattern_slow", "too slow on some messages") from None
    return compiled


def first_match(tags: Iterable[Tag], text: str, *, timeout_s: float | None = None) -> Tag | None:
    """The tag whose pattern finds ``text`` (longest pattern first), or None.

    Blocking, and meant for a thread: the GIL is released while matching
    (``concurrent=True``). Each pattern gives up after ``timeout_s``, and all of
    them together after ``MATCH_BUDGET`` times that, however many tags there are.
    """
    each = MATCH_TIMEOUT_S if timeout_s is None else timeout_s
    deadline = time.monotonic() + each * MATCH_BUDGET
    for tag in sorted((t for t in tags if t.regex), key=lambda t: -len(t.regex or "")):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            found = compile_pattern(tag.regex or "").search(
                text, timeout=min(each, left), concurrent=True
            )
        except (TagError, TimeoutError):
            continue  # a runaway or broken pattern never matches
        if found is not None:
            return tag
    return None


def matches(tag: Tag, text: str) -> bool:
    """Whether the tag's pattern finds ``text``; a pattern that runs too long does not match."""
    if not tag.regex:
        return False
    try:
        return compile_pattern(tag.regex).search(text, timeout=MATCH_TIMEOUT_S) is not None
    except (TagError, TimeoutError):
        return False


def _taken(name: str) -> TagError:
    return TagError("name", "name_taken", f"a tag named {name!r} exists already", name=name)


def _check(name: str, content: str, pattern: str | None) -> None:
    if not 1 <= len(name) <= MAX_NAME or name != name.strip():
        raise TagError(
            "name",
            "name_length",
            f"1 to {MAX_NAME} characters, no spaces around it",
            limit=MAX_NAME,
        )
    if not 1 <= len(content) <= MAX_CONTENT:
        raise TagError(
            "content", "content_length", f"1 to {MAX_CONTENT} characters", limit=MAX_CONTENT
        )
    if pattern is not None:
        check_pattern(pattern)


_LIST = Statement(
    read="SELECT * FROM tag WHERE tenant = $r.tenant AND guild_id = $r.guild ORDER BY name"
)


class TagRepository:
    """A tenant's tags; names are unique per guild (case-insensitively)."""

    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self._batched = batched(db)
        self.tenant = tenant

    async def list(self, guild_id: str) -> list[Tag]:
        # Read for every message (auto-replies): run with other handlers' rows.
        rows = await self._batched.run(_LIST, {"tenant": self.tenant, "guild": guild_id})
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
            raise _taken(name)
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
                raise _taken(name) from None
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
            raise _taken(name)
        try:
            row = await self._db.one(
                "UPDATE ONLY type::thing('tag', $key) SET name = $name, content = $content, "
                "regex = $regex;",
                {"key": key, "name": name, "content": content, "regex": pattern},
            )
        except DatabaseError as exc:
            if "tag_name" in str(exc):
                raise _taken(name) from None
            raise
        return to_struct(row, Tag, key=key)

    async def delete(self, guild_id: str, key: str) -> bool:
        if await self.get(guild_id, key) is None:
            return False
        await self._db.run("DELETE type::thing('tag', $key);", {"key": key})
        return True
