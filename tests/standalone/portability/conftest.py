"""A guild with every kind of record, written through the bot's own repositories."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.fernet import Fernet

from standalone import keys
from standalone.crypto import Cipher
from standalone.db import Database, open_database
from standalone.db.archive import ArchiveRepository
from standalone.db.feedback import FeedbackRepository
from standalone.db.records import Answer, Ticket
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from standalone.db.timers import TimerRepository
from storage import FileStore
from storage.ports import ObjectStore
from storage.scoped import ScopedStore

START = datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
# What the dashboard's tag table looks like; made here until its migration lands.
TAG_TABLE = """
DEFINE TABLE IF NOT EXISTS tag SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS tenant ON tag TYPE string;
DEFINE FIELD IF NOT EXISTS guild_id ON tag TYPE string;
DEFINE FIELD IF NOT EXISTS name ON tag TYPE string;
DEFINE FIELD IF NOT EXISTS content ON tag TYPE string;
DEFINE FIELD IF NOT EXISTS created_at ON tag TYPE datetime DEFAULT time::now();
"""


@dataclass
class Instance:
    """One deployment: its database, object store and key."""

    db: Database
    store: ObjectStore
    cipher: Cipher


async def open_instance(folder: Path, *, tags: bool = True) -> Instance:
    db = await open_database(f"surrealkv://{folder / 'db'}")
    if tags:
        await db.run(TAG_TABLE)
    else:
        # As a deployment from before tags (schema version 3) has it.
        await db.run("REMOVE TABLE IF EXISTS tag;")
    return Instance(db, FileStore(folder / "objects"), Cipher(Fernet.generate_key()))


async def close_instance(instance: Instance) -> None:
    await instance.db.close()
    await instance.store.close()


@pytest.fixture
async def source(tmp_path: Path) -> Any:
    instance = await open_instance(tmp_path / "source")
    yield instance
    await close_instance(instance)


@pytest.fixture
async def target(tmp_path: Path) -> Any:
    instance = await open_instance(tmp_path / "target")
    yield instance
    await close_instance(instance)


async def fill_guild(inst: Instance, tenant: str, guild: str, tickets: int = 6) -> None:
    """Settings, two categories with questions, a tag, tickets in every state with
    answers, archived messages (edited, deleted, an old plain-text name), feedback,
    timers, a close request and transcripts."""
    cipher = inst.cipher
    settings = SettingsRepository(inst.db, tenant)
    repo = TicketRepository(inst.db, tenant)
    store = ScopedStore(inst.store, tenant)
    await settings.update_guild(
        guild,
        footer="Our footer",
        auto_close_ms=None,
        colour=0x123456,
        log_channel="900",
        blocked_roles=["13"],
    )
    support = await settings.create_category(
        guild,
        "Support",
        staff_roles=["11", "12"],
        description="Help",
        custom_topic="what",
        discord_category="88",
    )
    billing = await settings.create_category(guild, "Billing", mode="thread", thread_channel="77")
    await settings.save_question(support.key, "What happened?", key="what", style=2)
    await settings.save_question(
        support.key, "Which product?", key="product", kind="select", options=["A", "B"]
    )
    await settings.save_question(billing.key, "Invoice number", key="invoice")
    await inst.db.run(
        "CREATE tag CONTENT {tenant: $t, guild_id: $g, name: 'hello', content: 'Hi there', "
        "created_at: $at};",
        {"t": tenant, "g": guild, "at": START},
    )
    for n in range(tickets):
        category = support if n % 2 == 0 else billing
        ticket = await repo.create(
            guild, category.key, f"70{n}", f"{guild}-i{n}", cipher.encrypt(f"topic {n} ✓")
        )
        await repo.save_answers(
            ticket,
            [Answer(question="what", label="What happened?", value=cipher.encrypt(f"answer {n}"))],
        )
        ticket = await repo.mark_open(guild, ticket.number, f"55{n}", f"66{n}")
        for m in range(3):
            await repo.archive_message(
                ticket,
                message_id=f"{guild}{n}{m}",
                author_id="700",
                # Rows of older releases kept the name in plain text.
                author_name="Old Name" if m == 2 else cipher.encrypt(f"Member {m}"),
                author_bot=m == 1,
                content=cipher.encrypt(f"message {m} of {n}"),
                created_at=START + timedelta(minutes=m),
            )
        archive = ArchiveRepository(inst.db, tenant)
        await archive.edit(
            f"{guild}{n}0", cipher.encrypt(f"edited {n}"), START + timedelta(hours=1)
        )
        await archive.mark_deleted([f"{guild}{n}1"])
        if n % 3 == 0:
            await _close(inst, tenant, ticket, store, cipher, n)
            await FeedbackRepository(inst.db, tenant).save(
                guild, ticket.number, "700", 4, cipher.encrypt(f"thanks {n}")
            )
        elif n % 3 == 1:
            await repo.set_close_request(
                ticket,
                {
                    "requested_by": "700",
                    "expect": "staff",
                    "at": START,
                    "reason": cipher.encrypt("done"),
                },
            )
            await TimerRepository(inst.db, tenant).schedule(
                guild, ticket.number, "close_request", START + timedelta(days=1)
            )


async def _close(
    inst: Instance, tenant: str, ticket: Ticket, store: ObjectStore, cipher: Cipher, n: int
) -> None:
    repo = TicketRepository(inst.db, tenant)
    ticket = await repo.mark_closing(ticket, "800", cipher.encrypt(f"solved {n}"))
    key = keys.transcript(ticket.guild_id, ticket.number)
    await store.put(key, f"<html>ticket {n}</html>".encode(), content_type="text/html")
    await store.put(
        keys.transcript_text(ticket.guild_id, ticket.number),
        f"ticket {n}\n".encode() * 100,
        content_type="text/plain",
    )
    await repo.mark_closed(ticket, key)


async def snapshot(inst: Instance, tenant: str, guild: str) -> dict[str, Any]:
    """The guild as a person sees it: decrypted, by names and numbers, without keys."""
    cipher = inst.cipher
    settings = SettingsRepository(inst.db, tenant)
    repo = TicketRepository(inst.db, tenant)
    store = ScopedStore(inst.store, tenant)
    guild_row = msgspec.structs.asdict(await settings.guild(guild))
    guild_row.pop("guild_id")
    categories = await settings.categories(guild)
    names = {c.key: c.name for c in categories}
    out: dict[str, Any] = {"guild": guild_row, "categories": {}, "tickets": {}}
    for category in categories:
        data = msgspec.structs.asdict(category)
        for own in ("key", "guild_id", "interaction_id"):
            data.pop(own)
        questions = [
            {k: v for k, v in msgspec.structs.asdict(q).items() if k != "category"}
            for q in await settings.questions(category.key)
        ]
        out["categories"][category.name] = {**data, "questions": questions}
    tags = await inst.db.one(
        "SELECT name, content, created_at FROM tag WHERE tenant = $t AND guild_id = $g;",
        {"t": tenant, "g": guild},
    )
    out["tags"] = tags
    feedback = FeedbackRepository(inst.db, tenant)
    for ticket in await repo.tickets(guild):
        data = msgspec.structs.asdict(ticket)
        for own in ("guild_id", "interaction_id", "category", "transcript_key", "close_request"):
            data.pop(own)
        data["category"] = names.get(ticket.category, "(deleted)")
        data["topic"] = cipher.decrypt(ticket.topic) if ticket.topic else None
        data["close_reason"] = cipher.decrypt(ticket.close_reason) if ticket.close_reason else None
        request = ticket.close_request
        data["close_request"] = (
            None if request is None else cipher.decrypt(request.reason or cipher.encrypt(""))
        )
        data["answers"] = [
            (a.question, a.label, cipher.decrypt(a.value)) for a in await repo.answers(ticket)
        ]
        data["messages"] = [
            (
                m.message_id,
                cipher.decrypt_legacy(m.author_name),
                cipher.decrypt(m.content),
                m.created_at,
                m.edited,
                m.deleted,
                [(cipher.decrypt(e["content"]), e["at"]) for e in m.edits],
            )
            for m in await repo.archived(ticket)
        ]
        given = await feedback.get(guild, ticket.number)
        data["feedback"] = (
            None
            if given is None
            else (given.rating, given.user_id, cipher.decrypt(given.comment or cipher.encrypt("")))
        )
        data["transcript"] = (
            None if ticket.transcript_key is None else await store.get(ticket.transcript_key)
        )
        data["transcript_text"] = (
            await store.get(keys.transcript_text(guild, ticket.number))
            if ticket.transcript_key
            else None
        )
        out["tickets"][ticket.number] = data
    return out


async def state(inst: Instance) -> dict[str, Any]:
    """Every record of every table and every stored object: what "nothing changed" compares."""
    info = await inst.db.one("INFO FOR DB;")
    records = {
        table: await inst.db.one(f"SELECT * FROM {table} ORDER BY id;")
        for table in sorted(info["tables"])
    }
    # An import's marker table stays defined once made; only records count.
    records = {table: rows for table, rows in records.items() if rows}
    objects = {key: await inst.store.get(key) for key in await inst.store.list("")}
    return {"records": records, "objects": objects}


async def fill_large(
    inst: Instance,
    tenant: str,
    guild: str,
    *,
    tickets: int,
    messages: int,
    message_bytes: int = 2000,
    transcript_bytes: int = 20_000,
) -> int:
    """A big closed-ticket history, inserted a page at a time; returns its bytes of content.

    Content is random text, so neither the records nor the ZIP shrink much.
    """
    from surrealdb import RecordID

    cipher = inst.cipher
    category = await SettingsRepository(inst.db, tenant).create_category(guild, "Support")
    store = ScopedStore(inst.store, tenant)
    page = 50
    for start in range(1, tickets + 1, page):
        numbers = range(start, min(start + page, tickets + 1))
        await inst.db.run(
            "INSERT INTO ticket $rows;",
            {
                "rows": [
                    {
                        "id": RecordID("ticket", [tenant, guild, n]),
                        "tenant": tenant,
                        "guild_id": guild,
                        "number": n,
                        "category": RecordID("category", category.key),
                        "creator_id": "700",
                        "topic": cipher.encrypt(f"topic {n}"),
                        "state": "closed",
                        "interaction_id": f"i{n}",
                        "closed_at": START,
                        "transcript_key": keys.transcript(guild, n),
                        "message_count": messages,
                    }
                    for n in numbers
                ]
            },
        )
        for n in numbers:
            await inst.db.run(
                "INSERT INTO archived_message $rows;",
                {
                    "rows": [
                        {
                            "id": RecordID("archived_message", [tenant, f"{n}-{m}"]),
                            "tenant": tenant,
                            "ticket": RecordID("ticket", [tenant, guild, n]),
                            "message_id": f"{n}-{m}",
                            "author_id": "700",
                            "author_name": cipher.encrypt("Member"),
                            "content": cipher.encrypt(os.urandom(message_bytes // 2).hex()),
                            "created_at": START + timedelta(seconds=m),
                        }
                        for m in range(messages)
                    ]
                },
            )
            await store.put(
                keys.transcript(guild, n),
                os.urandom(transcript_bytes // 2).hex().encode(),
                content_type="text/html",
            )
    await inst.db.run(
        "UPSERT type::thing('guild', [$t, $g]) MERGE {tenant: $t, guild_id: $g, next_number: $n};",
        {"t": tenant, "g": guild, "n": tickets},
    )
    return tickets * (messages * message_bytes + transcript_bytes)
