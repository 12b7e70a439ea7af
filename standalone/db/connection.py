"""One SurrealDB connection, embedded (``surrealkv://``, ``mem://``) or remote (``ws://``).

``surrealkv+versioned://`` keeps every version of every record, which lets
``tickets db backup`` read the whole database as of one moment while the bot
writes on (at the cost of the disk the old versions take).
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from standalone.db import fast_cbor, file_lock
from standalone.db.migrations import migrate
from standalone.db.sdk import (
    EMBEDDED_SCHEMES,
    AsyncEmbeddedSurrealConnection,
    RecordID,
    client_for,
)

fast_cbor.install()

# Set by a restore while it loads records (standalone/db/backup.py); one still
# there after the restore's process is gone means the database is half-restored.
RESTORE_MARKER = RecordID("restore_state", "current")

# surrealkv keeps the values it reads in a cache whose default bound is half the
# machine's memory less 1 GiB (11 GiB on a 24 GiB host), and works that out by
# listing every process of the machine (sysinfo, on a thread pool of its own).
# The bot's working set is small: 16 MiB, the engine's own floor, unless the
# operator sets the variable. The engine reads it once, at its first open.
VALUE_CACHE_ENV = "SURREAL_SURREALKV_MAX_VALUE_CACHE_SIZE"
VALUE_CACHE_BYTES = 16 << 20


class DatabaseError(Exception):
    """A statement failed; the message is SurrealDB's."""


class Database:
    """Runs SurrealQL and returns each statement's result; raises on any failed one."""

    def __init__(self, client: Any, *, versioned: bool = False, lock: Path | None = None) -> None:
        self._client = client
        self._lock = lock
        # True when the engine keeps old versions (``surrealkv+versioned://``),
        # so ``SELECT … VERSION`` reads the past; other engines ignore VERSION.
        self.versioned = versioned

    @property
    def locked_to_this_process(self) -> bool:
        """True for an embedded file database, which no other process can write."""
        return self._lock is not None

    @property
    def engine(self) -> Any | None:
        """The embedded engine handle (CBOR request in, CBOR response out); None on ws://.

        A database server in this process must share it: a second engine on the
        same folder would see other data.
        """
        if isinstance(self._client, AsyncEmbeddedSurrealConnection):
            return self._client._db
        return None

    async def run(self, sql: str, variables: Mapping[str, Any] | None = None) -> list[Any]:
        """Run one or more statements; returns the result of each, in order.

        A failed statement inside ``BEGIN … COMMIT`` cancels the whole
        transaction, and the first real error is raised.
        """
        outcomes = await self.run_each(sql, variables)
        errors = [str(result) for ok, result in outcomes if not ok]
        if errors:
            # SurrealDB reports "not executed due to a failed transaction" for every
            # statement of a failed transaction; the cause is the other message.
            real = [e for e in errors if "failed transaction" not in e] or errors
            raise DatabaseError(real[0])
        return [result for _, result in outcomes]

    async def run_each(
        self, sql: str, variables: Mapping[str, Any] | None = None
    ) -> list[tuple[bool, Any]]:
        """Run statements; (succeeded, result or error message) for each, in order.

        Raises only when the query as a whole failed. Statements outside a
        transaction stand alone, so one's failure leaves the others' results
        good: what ``standalone.db.batched`` needs to fail only the rows at fault.
        """
        call = asyncio.ensure_future(self._client.query_raw(sql, dict(variables or {})))
        try:
            raw = await asyncio.shield(call)
        except asyncio.CancelledError:
            # The engine runs a statement it was handed to its end even when the
            # caller is cancelled; what the caller does next (a restore undoing
            # its inserts) must come after it, not race it.
            await asyncio.wait([call])
            if not call.cancelled():
                call.exception()  # retrieved: the cancellation is what is reported
            raise
        except (RuntimeError, ValueError) as exc:
            # The embedded engine raises what a server answers as an RPC error
            # (a statement that does not parse, a value it cannot read): both are
            # the same failure.
            raise DatabaseError(str(exc)) from None
        if "error" in raw:
            raise DatabaseError(str(raw["error"].get("message", raw["error"])))
        return [(item.get("status") == "OK", item.get("result")) for item in raw.get("result", [])]

    async def one(self, sql: str, variables: Mapping[str, Any] | None = None) -> Any:
        """Run and return the last statement's result."""
        results = await self.run(sql, variables)
        return results[-1] if results else None

    async def close(self) -> None:
        """Close the connection (flushes the embedded store)."""
        await self._client.close()
        # The embedded engine's threads hold Python objects through the client; if
        # they are freed during interpreter shutdown the engine aborts the process
        # (seen as SIGABRT after SIGTERM). Free them now, while Python is alive.
        self._client = None
        gc.collect()
        if self._lock is not None:
            file_lock.release(self._lock)
            self._lock = None


async def interrupted_restore(db: Database) -> str | None:
    """The backup key of a restore that stopped before it finished or undid itself."""
    keys = await db.one("SELECT VALUE key FROM $marker;", {"marker": RESTORE_MARKER})
    return str(keys[0]) if keys else None


async def _refuse_half_restored(db: Database) -> None:
    if (key := await interrupted_restore(db)) is not None:
        raise DatabaseError(
            f"a restore of {key!r} was interrupted and left part of it in the "
            f"database; finish it with 'tickets db restore {key} --force'"
        )


def _embedded_path(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme not in ("surrealkv", "surrealkv+versioned"):
        return None
    path = Path((parts.netloc + parts.path) if parts.netloc else parts.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


async def open_database(
    url: str,
    *,
    namespace: str = "tickets",
    database: str = "main",
    username: str = "",
    password: str = "",
    migrate_schema: bool = True,
) -> Database:
    """Connect, select namespace and database, and bring the schema up to date.

    ``migrate_schema=False`` leaves the schema as it is (a restore picks the
    version it needs itself).
    """
    embedded = _embedded_path(url)
    if embedded is not None:
        os.environ.setdefault(VALUE_CACHE_ENV, str(VALUE_CACHE_BYTES))
    try:
        lock = file_lock.acquire(embedded) if embedded is not None else None
    except file_lock.LockError as exc:
        raise DatabaseError(str(exc)) from None
    try:
        client = client_for(url)
        await client.connect()  # the embedded client needs no url here
        # An embedded engine has no users (this process is root); the credentials are
        # a server's, which this process may be serving (database.serve).
        if username and urlsplit(url).scheme not in EMBEDDED_SCHEMES:
            await client.signin({"username": username, "password": password})
        await client.use(namespace, database)
    except BaseException:
        if lock is not None:
            file_lock.release(lock)
        raise
    db = Database(client, versioned=urlsplit(url).scheme == "surrealkv+versioned", lock=lock)
    if not migrate_schema:
        return db
    try:
        await _refuse_half_restored(db)
        await migrate(db)
    except BaseException:
        await db.close()
        raise
    return db
