"""Statements of concurrent handlers, run as one query: group commit, and shared round trips.

A worker handles the events of a stream batch at once (a task per channel), and
every message in a ticket makes the same few statements: look the ticket up by
channel, archive the message, record the ticket's activity. One query each costs
the engine's fixed price per query (parsing, CBOR both ways, a hop between
threads) several times over the price of the row itself. Here such a statement is
written once for a row ``$r``, and the rows handed in while the previous query
runs go out together in the next one: ``FOR $r IN $rows { write }`` and
``RETURN $rows.map(|$r| (read))``, every kind of statement in one query.

Each caller awaits its own row: ``run`` returns once the query carrying the row
has returned, so the write is committed (as much as ``Database.run`` commits it)
before the handler goes on, and the worker acknowledges the event only then.
Nothing is written behind: a process killed before the answer leaves its events
unacknowledged and their redelivery writes them again, so the statements must be
idempotent (the message id is the archived message's record id, activity updates
are conditional). A statement that fails for several rows is run again for each
row alone, so only the row at fault fails its handler, which the stream retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from standalone.db.connection import Database, DatabaseError

# Rows per query: enough for several workers' batches, few enough that one
# query does not hold the engine (and the rows behind it) for long.
MAX_ROWS = 256


@dataclass(frozen=True)
class Statement:
    """What is run for each row ``$r``: a write, then a read whose value the caller gets.

    ``write`` is one SurrealQL statement (no ``;``), ``read`` one expression, run
    after every row's write of the same query. Either may be left empty.
    """

    write: str = ""
    read: str = ""


@dataclass
class _Row:
    statement: Statement
    values: dict[str, Any]
    answer: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Batcher:
    """Runs the rows of concurrent callers of one database together (see the module doc)."""

    def __init__(self, db: Database, *, max_rows: int = MAX_ROWS) -> None:
        self._db = db
        self._max_rows = max_rows
        self._waiting: list[_Row] = []
        self._sender: asyncio.Task[None] | None = None

    async def run(self, statement: Statement, values: Mapping[str, Any]) -> Any:
        """Run ``statement`` for one row (``$r`` holds ``values``); the read's value."""
        row = _Row(statement, dict(values))
        self._waiting.append(row)
        if self._sender is None or self._sender.done():
            # Starts on the loop's next turn: rows handed in meanwhile go along.
            self._sender = asyncio.get_running_loop().create_task(self._send_waiting())
        try:
            return await asyncio.shield(row.answer)
        except asyncio.CancelledError:
            # As Database.run: the row is on its way; what the caller does next
            # must come after it.
            await asyncio.wait([row.answer])
            if not row.answer.cancelled():
                row.answer.exception()  # retrieved: the cancellation is what is reported
            raise

    async def _send_waiting(self) -> None:
        rows: list[_Row] = []
        try:
            while self._waiting:
                rows = self._waiting[: self._max_rows]
                del self._waiting[: self._max_rows]
                await self._send(rows)
        except BaseException as exc:
            # Cancelled with the loop, say: nobody may be left waiting for an answer.
            for row in [*rows, *self._waiting]:
                _fail(row, DatabaseError(f"the batch was not run: {exc!r}"))
            self._waiting.clear()
            raise

    async def _send(self, rows: list[_Row]) -> None:
        kinds: dict[Statement, list[_Row]] = {}
        for row in rows:
            kinds.setdefault(row.statement, []).append(row)
        parts: list[str] = []
        variables: dict[str, Any] = {}
        places: dict[Statement, list[int]] = {}
        for i, (statement, members) in enumerate(kinds.items()):
            sent, places[statement] = _places(statement, members)
            variables[f"rows{i}"] = sent
            if statement.write:
                parts.append(f"FOR $r IN $rows{i} {{ {statement.write}; }};")
            if statement.read:
                parts.append(f"RETURN $rows{i}.map(|$r| ({statement.read}));")
        try:
            outcomes = await self._db.run_each("".join(parts), variables)
        except Exception as exc:  # the query as a whole: each kind on its own finds the culprit
            if len(kinds) > 1:
                for members in kinds.values():
                    await self._send(members)
            else:
                await self._each_alone(next(iter(kinds.values())), exc)
            return
        at = 0
        for statement, members in kinds.items():
            used = bool(statement.write) + bool(statement.read)
            mine, at = outcomes[at : at + used], at + used
            failed = [str(result) for ok, result in mine if not ok]
            if failed:
                await self._each_alone(members, DatabaseError(failed[0]))
                continue
            values = mine[-1][1] if statement.read else [None] * len(members)
            for row, place in zip(members, places[statement], strict=True):
                _answer(row, values[place])

    async def _each_alone(self, rows: list[_Row], error: BaseException) -> None:
        if len(rows) == 1:
            _fail(rows[0], error)
            return
        for row in rows:
            await self._send([row])


def _places(statement: Statement, rows: list[_Row]) -> tuple[list[dict[str, Any]], list[int]]:
    """The values to send, and where each row's answer will be among them.

    A read asked for the same values twice (the guild's settings, for the
    messages of one guild) is sent once, and its callers share the answer (the
    repositories convert it, never change it); a write always goes once per row.
    """
    if statement.write:
        return [row.values for row in rows], list(range(len(rows)))
    sent: list[dict[str, Any]] = []
    places: list[int] = []
    seen: dict[Hashable, int] = {}
    for row in rows:
        try:
            identity: Hashable = tuple(sorted(row.values.items()))
            hash(identity)
        except TypeError:  # a list among the values: sent as it is
            identity = object()
        place = seen.setdefault(identity, len(sent))
        if place == len(sent):
            sent.append(row.values)
        places.append(place)
    return sent, places


def _answer(row: _Row, value: Any) -> None:
    if not row.answer.done():
        row.answer.set_result(value)


def _fail(row: _Row, error: BaseException) -> None:
    if not row.answer.done():
        row.answer.set_exception(error)


_batchers: WeakKeyDictionary[Database, Batcher] = WeakKeyDictionary()


def batched(db: Database) -> Batcher:
    """The batcher of ``db``: every repository on one connection shares it."""
    found = _batchers.get(db)
    if found is None:
        found = _batchers[db] = Batcher(db)
    return found
