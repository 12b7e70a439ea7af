"""The kinds of guild-scoped table: how one guild's records are found, read and removed.

A table is one of these with its archive shape (``tables.py`` lists them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
from surrealdb import RecordID
from surrealdb.cbor import CBORTag

from standalone.db.connection import Database
from standalone.portability.context import Reading, References, Target

PAGE_ROWS = 500
_RECORD_ID, _RANGE, _INCLUDED, _EXCLUDED = 8, 49, 50, 51  # SurrealDB's CBOR tags


def without_none(row: dict[str, Any]) -> dict[str, Any]:
    # A NONE field of a new record takes the field's DEFAULT; left out it is the same,
    # and an empty optional setting must stay empty rather than become the default.
    return {k: v for k, v in row.items() if v is not None}


def id_range(table: str, prefix: list[Any], after: list[Any] | None = None) -> CBORTag:
    """Records of ``table`` whose array id starts with ``prefix`` (after the id ``after``)."""
    # NONE sorts first and an object after every scalar, so [..prefix, NONE] to
    # [..prefix, {}] spans exactly the ids that extend the prefix.
    start = CBORTag(_INCLUDED, [*prefix, None]) if after is None else CBORTag(_EXCLUDED, after)
    end = CBORTag(_EXCLUDED, [*prefix, {}])
    return CBORTag(_RECORD_ID, [table, CBORTag(_RANGE, [start, end])])


class Table:
    """One guild-scoped table; subclasses say how its records are found and shaped."""

    name: str
    entry: type[Any]
    # Records here mean the guild is in use, so an import into it is refused.
    occupies: bool = True

    def decoder(self) -> msgspec.json.Decoder[Any]:
        return msgspec.json.Decoder(self.entry)

    async def exists(self, db: Database) -> bool:
        info = await db.one("INFO FOR DB;")
        return self.name in (info or {}).get("tables", {})

    async def count(self, src: Reading) -> int:
        raise NotImplementedError

    def pages(self, src: Reading) -> AsyncIterator[list[dict[str, Any]]]:
        raise NotImplementedError

    def export(self, row: dict[str, Any], src: Reading) -> Any:
        """The archive entry of a database row; None leaves the row out."""
        raise NotImplementedError

    def check(self, entry: Any, refs: References) -> None:
        """Check an archived entry against what came before it; PortabilityError if bad."""

    def row(self, entry: Any, dst: Target) -> dict[str, Any] | None:
        """The database row (with its id) of an archived entry; None skips it."""
        raise NotImplementedError

    async def insert(self, rows: list[dict[str, Any]], dst: Target) -> None:
        await dst.db.run(f"INSERT INTO {self.name} $rows RETURN NONE;", {"rows": rows})

    async def occupied(self, dst: Target) -> bool:
        raise NotImplementedError

    async def clear(self, dst: Target) -> None:
        """Remove the target guild's records of this table (undoing an import)."""
        raise NotImplementedError


class RangeTable(Table):
    """Records keyed ``[tenant, guild, number, …]``, read as a range of ids."""

    def __init__(self, name: str, entry: type[Any]) -> None:
        self.name = name
        self.entry = entry

    async def count(self, src: Reading) -> int:
        rows = await src.db.one(
            "SELECT count() FROM $r GROUP ALL;", {"r": id_range(self.name, [src.tenant, src.guild])}
        )
        return int(rows[0]["count"]) if rows else 0

    async def pages(self, src: Reading) -> AsyncIterator[list[dict[str, Any]]]:
        after: list[Any] | None = None
        while True:
            rows = await src.db.one(
                "SELECT * FROM $r LIMIT $n;",
                {"r": id_range(self.name, [src.tenant, src.guild], after), "n": PAGE_ROWS},
            )
            if not rows:
                return
            yield rows
            after = rows[-1]["id"].id

    async def occupied(self, dst: Target) -> bool:
        rows = await dst.db.one(
            "SELECT id FROM $r LIMIT 1;", {"r": id_range(self.name, [dst.tenant, dst.guild])}
        )
        return bool(rows)

    async def clear(self, dst: Target) -> None:
        await dst.db.run("DELETE $r;", {"r": id_range(self.name, [dst.tenant, dst.guild])})

    def _id(self, dst: Target, *rest: Any) -> RecordID:
        return RecordID(self.name, [dst.tenant, dst.guild, *rest])


class FieldTable(Table):
    """Records found by a condition on their fields (``guild_id``, or a link's)."""

    def __init__(self, name: str, entry: type[Any], where: str = "guild_id = $guild") -> None:
        self.name = name
        self.entry = entry
        self._where = f"tenant = $tenant AND {where}"

    async def count(self, src: Reading) -> int:
        rows = await src.db.one(
            f"SELECT count() FROM type::table($tb) WHERE {self._where} GROUP ALL;",  # noqa: S608
            src.vars(tb=self.name),
        )
        return int(rows[0]["count"]) if rows else 0

    async def pages(self, src: Reading) -> AsyncIterator[list[dict[str, Any]]]:
        last: Any = None
        while True:
            after = "" if last is None else "AND id > $last"
            rows = await src.db.one(
                f"SELECT * FROM type::table($tb) WHERE {self._where} {after} "  # noqa: S608
                "ORDER BY id LIMIT $n;",
                src.vars(tb=self.name, last=last, n=PAGE_ROWS),
            )
            if not rows:
                return
            yield rows
            last = rows[-1]["id"]

    async def occupied(self, dst: Target) -> bool:
        rows = await dst.db.one(
            f"SELECT id FROM type::table($tb) WHERE {self._where} LIMIT 1;",  # noqa: S608
            dst.vars(tb=self.name),
        )
        return bool(rows)

    async def clear(self, dst: Target) -> None:
        await dst.db.run(
            f"DELETE type::table($tb) WHERE {self._where};",
            dst.vars(tb=self.name),
        )
