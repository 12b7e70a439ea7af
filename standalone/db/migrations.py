"""Versioned schema, applied in order at start; each version in one transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from standalone.db.connection import Database

# Discord snowflakes are stored as strings: they are identifiers, never numbers to add.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        DEFINE TABLE tenant SCHEMAFULL;
        DEFINE FIELD name ON tenant TYPE string;
        DEFINE FIELD application_id ON tenant TYPE string;
        DEFINE FIELD token ON tenant TYPE string;
        DEFINE FIELD created_at ON tenant TYPE datetime DEFAULT time::now();

        DEFINE TABLE guild SCHEMAFULL;
        DEFINE FIELD tenant ON guild TYPE string;
        DEFINE FIELD guild_id ON guild TYPE string;
        DEFINE FIELD locale ON guild TYPE string DEFAULT 'en-GB';
        DEFINE FIELD next_number ON guild TYPE int DEFAULT 0;
        DEFINE FIELD created_at ON guild TYPE datetime DEFAULT time::now();
        DEFINE INDEX guild_tenant ON guild FIELDS tenant, guild_id UNIQUE;

        DEFINE TABLE category SCHEMAFULL;
        DEFINE FIELD tenant ON category TYPE string;
        DEFINE FIELD guild_id ON category TYPE string;
        DEFINE FIELD name ON category TYPE string;
        DEFINE FIELD discord_category ON category TYPE option<string>;
        DEFINE FIELD interaction_id ON category TYPE option<string>;
        DEFINE FIELD staff_roles ON category TYPE array<string> DEFAULT [];
        DEFINE FIELD channel_name ON category TYPE string DEFAULT 'ticket-{num}';
        DEFINE FIELD opening_message ON category TYPE string
            DEFAULT 'Thanks for opening a ticket, {username}. Staff will be with you soon.';
        DEFINE FIELD member_limit ON category TYPE int DEFAULT 1 ASSERT $value >= 1;
        DEFINE FIELD created_at ON category TYPE datetime DEFAULT time::now();
        DEFINE INDEX category_guild ON category FIELDS tenant, guild_id, name UNIQUE;
        DEFINE INDEX category_interaction ON category FIELDS tenant, interaction_id;

        DEFINE TABLE ticket SCHEMAFULL;
        DEFINE FIELD tenant ON ticket TYPE string;
        DEFINE FIELD guild_id ON ticket TYPE string;
        DEFINE FIELD number ON ticket TYPE int ASSERT $value >= 1;
        DEFINE FIELD category ON ticket TYPE record<category>;
        DEFINE FIELD creator_id ON ticket TYPE string;
        DEFINE FIELD topic ON ticket TYPE option<string>;
        DEFINE FIELD state ON ticket TYPE string
            ASSERT $value IN ['opening', 'open', 'closing', 'closed'];
        DEFINE FIELD channel_id ON ticket TYPE option<string>;
        DEFINE FIELD channel_requested ON ticket TYPE bool DEFAULT false;
        DEFINE FIELD opening_message_id ON ticket TYPE option<string>;
        DEFINE FIELD interaction_id ON ticket TYPE string;
        DEFINE FIELD created_at ON ticket TYPE datetime DEFAULT time::now();
        DEFINE FIELD closed_at ON ticket TYPE option<datetime>;
        DEFINE FIELD closed_by ON ticket TYPE option<string>;
        DEFINE FIELD close_reason ON ticket TYPE option<string>;
        DEFINE FIELD transcript_key ON ticket TYPE option<string>;
        DEFINE FIELD message_count ON ticket TYPE int DEFAULT 0;
        DEFINE INDEX ticket_number ON ticket FIELDS tenant, guild_id, number UNIQUE;
        DEFINE INDEX ticket_interaction ON ticket FIELDS tenant, interaction_id UNIQUE;
        DEFINE INDEX ticket_channel ON ticket FIELDS tenant, channel_id;
        DEFINE INDEX ticket_creator ON ticket FIELDS tenant, guild_id, creator_id, state;

        DEFINE TABLE archived_message SCHEMAFULL;
        DEFINE FIELD tenant ON archived_message TYPE string;
        DEFINE FIELD ticket ON archived_message TYPE record<ticket>;
        DEFINE FIELD message_id ON archived_message TYPE string;
        DEFINE FIELD author_id ON archived_message TYPE string;
        DEFINE FIELD author_name ON archived_message TYPE string;
        DEFINE FIELD author_bot ON archived_message TYPE bool DEFAULT false;
        DEFINE FIELD content ON archived_message TYPE string;
        DEFINE FIELD created_at ON archived_message TYPE datetime;
        DEFINE FIELD edited ON archived_message TYPE bool DEFAULT false;
        DEFINE FIELD deleted ON archived_message TYPE bool DEFAULT false;
        DEFINE INDEX archived_ticket ON archived_message FIELDS tenant, ticket;

        DEFINE TABLE feedback SCHEMAFULL;
        DEFINE FIELD tenant ON feedback TYPE string;
        DEFINE FIELD ticket ON feedback TYPE record<ticket>;
        DEFINE FIELD guild_id ON feedback TYPE string;
        DEFINE FIELD user_id ON feedback TYPE string;
        DEFINE FIELD rating ON feedback TYPE int ASSERT $value >= 1 AND $value <= 5;
        DEFINE FIELD comment ON feedback TYPE option<string>;
        DEFINE FIELD created_at ON feedback TYPE datetime DEFAULT time::now();
        DEFINE INDEX feedback_ticket ON feedback FIELDS tenant, ticket UNIQUE;
        """,
    ),
]

LATEST = MIGRATIONS[-1][0]


async def schema_version(db: Database) -> int:
    """The version the database is at; 0 when it is new."""
    version = await db.one("RETURN (SELECT VALUE version FROM ONLY schema_version:current);")
    return int(version) if version is not None else 0


async def migrate(db: Database, up_to: int | None = None) -> int:
    """Apply the migrations newer than the database (up to ``up_to``); returns the new version."""
    await db.run(
        "DEFINE TABLE IF NOT EXISTS schema_version SCHEMAFULL;"
        "DEFINE FIELD IF NOT EXISTS version ON schema_version TYPE int;"
    )
    current = await schema_version(db)
    for version, statements in MIGRATIONS:
        if version <= current or (up_to is not None and version > up_to):
            continue
        await db.run(
            f"BEGIN TRANSACTION; {statements}; "
            "UPSERT schema_version:current SET version = $version; COMMIT TRANSACTION;",
            {"version": version},
        )
        current = version
    return current
