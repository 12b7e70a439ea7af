"""The guild-scoped tables an export takes and an import puts back: one entry each.

Each table knows how to find one guild's records a page at a time, how a record
looks in the archive (references as plain keys, ticket content decrypted) and
how an archived record becomes a record of another tenant, guild or deployment
(``Target``). ``TABLES`` lists them in the order an import needs (a record
after the records it refers to); adding a table is one line there. A table that
a deployment does not have yet (an older release) is exported empty.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import msgspec
from surrealdb import RecordID

from standalone.crypto import CryptoError
from standalone.db.connection import Database
from standalone.db.feedback import Feedback
from standalone.db.records import Answer, ArchivedMessage, Ticket, Timer, record_key, to_struct
from standalone.portability.context import Reading, References, Target, to_portable_key
from standalone.portability.entries import (
    AnswerEntry,
    CategoryEntry,
    Edit,
    FeedbackEntry,
    GuildEntry,
    MessageEntry,
    QuestionEntry,
)
from standalone.portability.format import MAX_CATEGORIES, PortabilityError
from standalone.portability.kinds import (
    PAGE_ROWS,
    FieldTable,
    RangeTable,
    Table,
    id_range,
    without_none,
)

_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Fields every guild-scoped record has that an import sets itself.
_OWN_FIELDS = {"id", "tenant", "guild_id"}


# Settings that name channels and roles of one server. In another server they
# would name nothing, or worse, the first server's (a log channel, a thread
# parent): an import into another guild id clears them, for staff to set again.
GUILD_PLACES = ("log_channel",)
GUILD_ROLES = ("blocked_roles",)
GUILD_PLACE_LISTS = ("auto_tag_channels",)
CATEGORY_PLACES = ("discord_category", "thread_channel")
CATEGORY_ROLES = ("staff_roles", "ping_roles", "required_roles", "blocked_roles")


class GuildTable(Table):
    """The guild's settings record (one, or none for a guild never configured)."""

    name = "guild"
    entry = GuildEntry
    occupies = False  # a settings record alone is replaced; undo puts the old one back

    def _id(self, tenant: str, guild: str) -> RecordID:
        return RecordID(self.name, [tenant, guild])

    async def count(self, src: Reading) -> int:
        return 1 if await self._get(src.db, src.tenant, src.guild) else 0

    async def _get(self, db: Database, tenant: str, guild: str) -> dict[str, Any] | None:
        row: dict[str, Any] | None = await db.one(
            "SELECT * FROM ONLY $id;", {"id": self._id(tenant, guild)}
        )
        return row

    async def pages(self, src: Reading) -> AsyncIterator[list[dict[str, Any]]]:
        if row := await self._get(src.db, src.tenant, src.guild):
            yield [row]

    def export(self, row: dict[str, Any], src: Reading) -> Any:
        return to_struct(row, GuildEntry, guild_id=src.guild)

    def check(self, entry: GuildEntry, refs: References) -> None:
        refs.settings += 1
        if refs.settings > 1:
            raise PortabilityError("the archive has more than one settings record")
        if entry.next_number < 0:
            raise PortabilityError("the guild's next ticket number is negative")

    def row(self, entry: GuildEntry, dst: Target) -> dict[str, Any]:
        data = msgspec.structs.asdict(entry)
        if not dst.same_guild:
            data.update(dict.fromkeys(GUILD_PLACES))
            data.update({key: [] for key in (*GUILD_ROLES, *GUILD_PLACE_LISTS)})
        return {**without_none(data), "tenant": dst.tenant, "guild_id": dst.guild}

    async def insert(self, rows: list[dict[str, Any]], dst: Target) -> None:
        for row in rows:
            # Replaced whole, but the counter never goes back: numbers handed out
            # here stay taken.
            await dst.db.run(
                "BEGIN TRANSACTION;"
                "LET $old = (SELECT VALUE next_number FROM ONLY $id) ?? 0;"
                "DELETE $id;"
                "CREATE $id CONTENT $row RETURN NONE;"
                "UPDATE $id SET next_number = math::max([next_number, $old]) RETURN NONE;"
                "COMMIT TRANSACTION;",
                {"id": self._id(dst.tenant, dst.guild), "row": row},
            )

    async def saved(self, dst: Target) -> dict[str, Any] | None:
        """The target's settings record as it is, for putting back after a failure."""
        row = await self._get(dst.db, dst.tenant, dst.guild)
        return None if row is None else {k: v for k, v in row.items() if k != "id"}

    async def occupied(self, dst: Target) -> bool:
        return False

    async def clear(self, dst: Target) -> None:
        await dst.db.run("DELETE $id;", {"id": self._id(dst.tenant, dst.guild)})

    async def put_back(self, dst: Target, row: dict[str, Any] | None) -> None:
        await self.clear(dst)
        if row is not None:
            await dst.db.run(
                "CREATE $id CONTENT $row;", {"id": self._id(dst.tenant, dst.guild), "row": row}
            )


class CategoryTable(FieldTable):
    def __init__(self) -> None:
        super().__init__("category", CategoryEntry)

    def export(self, row: dict[str, Any], src: Reading) -> Any:
        return to_struct(row, CategoryEntry, key=record_key(row["id"]))

    def check(self, entry: CategoryEntry, refs: References) -> None:
        if entry.key in refs.categories:
            raise PortabilityError(f"category {entry.key!r} is listed twice")
        if len(refs.categories) >= MAX_CATEGORIES:
            raise PortabilityError(f"more than {MAX_CATEGORIES} categories")
        refs.categories.add(entry.key)

    def row(self, entry: CategoryEntry, dst: Target) -> dict[str, Any]:
        data = msgspec.structs.asdict(entry)
        data.pop("key")
        if entry.interaction_id is not None:
            data["interaction_id"] = dst.discord_id(entry.interaction_id)
        if not dst.same_guild:
            data.update(dict.fromkeys(CATEGORY_PLACES))
            data.update({key: [] for key in CATEGORY_ROLES})
        return {
            **without_none(data),
            "id": RecordID(self.name, dst.category(entry.key)),
            "tenant": dst.tenant,
            "guild_id": dst.guild,
        }


class QuestionTable(FieldTable):
    def __init__(self) -> None:
        # Not ``category.guild_id = $guild``: beside the tenant, SurrealDB 2 answers none.
        super().__init__(
            "question",
            QuestionEntry,
            where="category IN (SELECT VALUE id FROM category WHERE tenant = $tenant "
            "AND guild_id = $guild)",
        )

    def export(self, row: dict[str, Any], src: Reading) -> Any:
        return to_struct(row, QuestionEntry, category=record_key(row["category"]))

    def check(self, entry: QuestionEntry, refs: References) -> None:
        if entry.category not in refs.categories:
            raise PortabilityError(f"question {entry.key!r} is of a category not in the archive")
        if (entry.category, entry.key) in refs.questions:
            raise PortabilityError(f"question {entry.key!r} is listed twice")
        refs.questions.add((entry.category, entry.key))

    def row(self, entry: QuestionEntry, dst: Target) -> dict[str, Any]:
        category = dst.category(entry.category)
        data = msgspec.structs.asdict(entry)
        return {
            **without_none(data),
            "id": RecordID(self.name, [dst.tenant, category, entry.key]),
            "tenant": dst.tenant,
            "category": RecordID("category", category),
        }


class TicketTable(RangeTable):
    def __init__(self) -> None:
        super().__init__("ticket", Ticket)

    def export(self, row: dict[str, Any], src: Reading) -> Any:
        ticket = to_struct(row, Ticket, category=record_key(row["category"]))
        what = f"ticket {ticket.number}"
        request = ticket.close_request
        if request is not None:
            request = msgspec.structs.replace(request, reason=src.decrypt(request.reason, what))
        transcript = ticket.transcript_key
        src.last_ticket = max(src.last_ticket, ticket.number)
        return msgspec.structs.replace(
            ticket,
            guild_id=src.guild,
            topic=src.decrypt(ticket.topic, what),
            close_reason=src.decrypt(ticket.close_reason, what),
            close_request=request,
            transcript_key=None if transcript is None else to_portable_key(transcript, src.guild),
        )

    def check(self, entry: Ticket, refs: References) -> None:
        if entry.number < 1 or entry.number in refs.tickets:
            raise PortabilityError(f"ticket number {entry.number} is invalid or listed twice")
        if entry.transcript_key is not None and entry.transcript_key not in refs.objects:
            raise PortabilityError(f"the transcript of ticket {entry.number} is not in the archive")
        refs.tickets.add(entry.number)

    def row(self, entry: Ticket, dst: Target) -> dict[str, Any]:
        data = msgspec.structs.asdict(entry)
        request: dict[str, Any] | None = None
        if entry.close_request is not None:
            request = without_none(msgspec.structs.asdict(entry.close_request))
            request["reason"] = dst.encrypt(entry.close_request.reason)
        data.update(
            topic=dst.encrypt(entry.topic),
            close_reason=dst.encrypt(entry.close_reason),
            close_request=request,
            transcript_key=dst.object_key(entry.transcript_key),
            interaction_id=dst.discord_id(entry.interaction_id),
            # Events of the other server's channel must keep finding its own ticket.
            channel_id=None if entry.channel_id is None else dst.discord_id(entry.channel_id),
        )
        if not dst.same_guild and entry.state != "closed":
            # Its channel is in the other server: here it can only be history.
            data.update(
                state="closed",
                closed_at=entry.closed_at or dst.now,
                closed_by=entry.closed_by or "system",
                close_reason=dst.encrypt(
                    entry.close_reason or f"imported from server {dst.source_guild} while open"
                ),
                close_request=None,
            )
        return {
            **without_none(data),
            "id": self._id(dst, entry.number),
            "tenant": dst.tenant,
            "guild_id": dst.guild,
            "category": RecordID("category", dst.category(entry.category)),
        }


def _ticket_link(dst: Target, number: int) -> RecordID:
    return RecordID("ticket", [dst.tenant, dst.guild, number])


def _check_ticket(number: int, refs: References, what: str) -> None:
    if number not in refs.tickets:
        raise PortabilityError(f"{what} of ticket {number}, which is not in the archive")


class AnswerTable(RangeTable):
    def __init__(self) -> None:
        super().__init__("answer", AnswerEntry)

    def export(self, row: dict[str, Any], src: Reading) -> Any:
        number = int(row["id"].id[2])
        if number > src.last_ticket:
            return None
        answer = to_struct(row, Answer)
        value = src.decrypt(answer.value, f"an answer of ticket {number}") or ""
        return AnswerEntry(ticket=number, answer=msgspec.structs.replace(answer, value=value))

    def check(self, entry: AnswerEntry, refs: References) -> None:
        _check_ticket(entry.ticket, refs, "an answer")

    def row(self, entry: AnswerEntry, dst: Target) -> dict[str, Any]:
        answer = entry.answer
        return {
            **without_none(msgspec.structs.asdict(answer)),
            "value": dst.cipher.encrypt(answer.value),
            "id": self._id(dst, entry.ticket, answer.question),
            "tenant": dst.tenant,
            "ticket": _ticket_link(dst, entry.ticket),
        }


class FeedbackTable(RangeTable):
    def __init__(self) -> None:
        super().__init__("feedback", FeedbackEntry)

    def export(self, row: dict[str, Any], src: Reading) -> Any:
        number = int(row["id"].id[2])
        if number > src.last_ticket:
            return None
        feedback = to_struct(row, Feedback)
        comment = src.decrypt(feedback.comment, f"the feedback of ticket {number}")
        return FeedbackEntry(
            ticket=number,
            feedback=msgspec.structs.replace(feedback, guild_id=src.guild, comment=comment),
        )

    def check(self, entry: FeedbackEntry, refs: References) -> None:
        _check_ticket(entry.ticket, refs, "feedback")

    def row(self, entry: FeedbackEntry, dst: Target) -> dict[str, Any]:
        feedback = entry.feedback
        return {
            **without_none(msgspec.structs.asdict(feedback)),
            "comment": dst.encrypt(feedback.comment),
            "id": self._id(dst, entry.ticket),
            "tenant": dst.tenant,
            "guild_id": dst.guild,
            "ticket": _ticket_link(dst, entry.ticket),
        }


class TimerTable(RangeTable):
    occupies = False  # timers belong to tickets, which are checked themselves

    def __init__(self) -> None:
        super().__init__("timer", Timer)

    def export(self, row: dict[str, Any], src: Reading) -> Any:
        timer = to_struct(row, Timer)
        if timer.number > src.last_ticket:
            return None
        return msgspec.structs.replace(timer, guild_id=src.guild)

    def check(self, entry: Timer, refs: References) -> None:
        _check_ticket(entry.number, refs, "a timer")

    def row(self, entry: Timer, dst: Target) -> dict[str, Any] | None:
        if not dst.same_guild:
            return None  # its ticket is imported closed
        return {
            **msgspec.structs.asdict(entry),
            "id": self._id(dst, entry.number, entry.kind),
            "tenant": dst.tenant,
            "guild_id": dst.guild,
        }


class MessageTable(Table):
    """Archived messages, keyed by Discord message id: found ticket by ticket."""

    name = "archived_message"
    entry = MessageEntry
    occupies = False  # they belong to tickets, which are checked themselves

    async def count(self, src: Reading) -> int:
        rows = await src.db.one(
            "SELECT count() FROM archived_message WHERE tenant = $tenant "
            "AND ticket.guild_id = $guild GROUP ALL;",
            src.vars(),
        )
        return int(rows[0]["count"]) if rows else 0

    async def _numbers(self, db: Database, tenant: str, guild: str) -> AsyncIterator[list[int]]:
        after: list[Any] | None = None
        while True:
            ids = await db.one(
                "SELECT VALUE id FROM $r LIMIT $n;",
                {"r": id_range("ticket", [tenant, guild], after), "n": PAGE_ROWS},
            )
            if not ids:
                return
            yield [int(i.id[2]) for i in ids]
            after = ids[-1].id

    async def pages(self, src: Reading) -> AsyncIterator[list[dict[str, Any]]]:
        async for numbers in self._numbers(src.db, src.tenant, src.guild):
            for number in numbers:
                last: Any = None
                while True:
                    after = "" if last is None else "AND id > $last"
                    rows = await src.db.one(
                        "SELECT * FROM archived_message WHERE tenant = $tenant AND ticket = "  # noqa: S608
                        f"type::thing('ticket', [$tenant, $guild, $number]) {after} "
                        "ORDER BY id LIMIT $n;",
                        src.vars(number=number, last=last, n=PAGE_ROWS),
                    )
                    if not rows:
                        break
                    yield rows
                    last = rows[-1]["id"]

    def export(self, row: dict[str, Any], src: Reading) -> Any:
        number = int(row["ticket"].id[2])
        if number > src.last_ticket:
            return None
        message = to_struct(row, ArchivedMessage)
        what = f"message {message.message_id} of ticket {number}"
        try:
            name = src.cipher.decrypt_legacy(message.author_name)
        except CryptoError as exc:
            raise PortabilityError(f"cannot export {what}: {exc}") from None
        edits = [
            Edit(content=src.decrypt(str(e.get("content", "")), what) or "", at=e["at"])
            for e in message.edits
        ]
        return MessageEntry(
            ticket=number,
            message=msgspec.structs.replace(
                message,
                author_name=name,
                content=src.decrypt(message.content, what) or "",
                edits=[],
            ),
            edits=edits,
        )

    def check(self, entry: MessageEntry, refs: References) -> None:
        _check_ticket(entry.ticket, refs, "a message")
        if entry.message.edits:
            raise PortabilityError("a message's edits are in the wrong place")

    def row(self, entry: MessageEntry, dst: Target) -> dict[str, Any]:
        message = entry.message
        return {
            **without_none(msgspec.structs.asdict(message)),
            "author_name": dst.cipher.encrypt(message.author_name),
            "content": dst.cipher.encrypt(message.content),
            "edits": [{"content": dst.cipher.encrypt(e.content), "at": e.at} for e in entry.edits],
            "id": RecordID(self.name, [dst.tenant, dst.discord_id(message.message_id)]),
            "tenant": dst.tenant,
            "ticket": _ticket_link(dst, entry.ticket),
        }

    async def occupied(self, dst: Target) -> bool:
        return False

    async def clear(self, dst: Target) -> None:
        async for numbers in self._numbers(dst.db, dst.tenant, dst.guild):
            await dst.db.run(
                "FOR $n IN $numbers { DELETE archived_message WHERE tenant = $tenant AND "
                "ticket = type::thing('ticket', [$tenant, $guild, $n]); };",
                dst.vars(numbers=numbers),
            )


class PlainTable(FieldTable):
    """A table of settings-like records with ``tenant`` and ``guild_id`` and no secrets.

    Records travel field by field as JSON and get new ids on import; fields
    named in ``datetimes`` are turned back into datetimes (JSON has none).
    A field that refers to another record cannot travel this way: give such a
    table its own class, as categories have.
    """

    entry = dict

    def __init__(self, name: str, *, datetimes: tuple[str, ...] = ("created_at",)) -> None:
        super().__init__(name, dict)
        self._datetimes = datetimes

    def decoder(self) -> msgspec.json.Decoder[Any]:
        return msgspec.json.Decoder(dict[str, Any])

    def export(self, row: dict[str, Any], src: Reading) -> Any:
        data = {k: v for k, v in row.items() if k not in _OWN_FIELDS}
        for name, value in data.items():
            if isinstance(value, RecordID):
                raise PortabilityError(
                    f"{self.name}.{name} refers to another record; this table cannot be exported"
                )
        return data

    def check(self, entry: dict[str, Any], refs: References) -> None:
        for name in entry:
            if not _FIELD.fullmatch(name) or name in _OWN_FIELDS:
                raise PortabilityError(f"{self.name} has a field {name!r} an import cannot set")
        for name in self._datetimes:
            if entry.get(name) is not None:
                _datetime(entry[name], f"{self.name}.{name}")

    def row(self, entry: dict[str, Any], dst: Target) -> dict[str, Any]:
        data = dict(entry)
        for name in self._datetimes:
            if data.get(name) is not None:
                data[name] = _datetime(data[name], f"{self.name}.{name}")
        return {**without_none(data), "tenant": dst.tenant, "guild_id": dst.guild}


def _datetime(value: Any, what: str) -> datetime:
    try:
        return msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        raise PortabilityError(f"{what} is not a date and time: {value!r}") from None


TABLES: list[Table] = [
    GuildTable(),
    CategoryTable(),
    QuestionTable(),
    PlainTable("tag"),
    TicketTable(),
    AnswerTable(),
    FeedbackTable(),
    TimerTable(),
    MessageTable(),
]
"""Every guild-scoped table, each after the tables its records refer to."""

BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}
