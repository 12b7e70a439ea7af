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
    (
        2,
        # The ticket lifecycle: every setting Discord Tickets v4 has, plus per-category
        # overrides of its guild-wide ones, questions, claims, close requests and timers.
        """
        DEFINE FIELD log_channel ON guild TYPE option<string>;
        DEFINE FIELD archive ON guild TYPE bool DEFAULT true;
        DEFINE FIELD claim_button ON guild TYPE bool DEFAULT true;
        DEFINE FIELD close_button ON guild TYPE bool DEFAULT true;
        DEFINE FIELD blocked_roles ON guild TYPE array<string> DEFAULT [];
        DEFINE FIELD footer ON guild TYPE option<string>;
        DEFINE FIELD colour ON guild TYPE int DEFAULT 5793266;
        DEFINE FIELD auto_close_ms ON guild TYPE option<int> DEFAULT 43200000;
        DEFINE FIELD stale_after_ms ON guild TYPE option<int>;

        DEFINE FIELD description ON category TYPE option<string>;
        DEFINE FIELD emoji ON category TYPE option<string>;
        DEFINE FIELD image ON category TYPE option<string>;
        DEFINE FIELD mode ON category TYPE string DEFAULT 'channel'
            ASSERT $value IN ['channel', 'thread'];
        DEFINE FIELD thread_channel ON category TYPE option<string>;
        DEFINE FIELD ping_roles ON category TYPE array<string> DEFAULT [];
        DEFINE FIELD required_roles ON category TYPE array<string> DEFAULT [];
        DEFINE FIELD blocked_roles ON category TYPE array<string> DEFAULT [];
        DEFINE FIELD claiming ON category TYPE bool DEFAULT true;
        DEFINE FIELD feedback ON category TYPE bool DEFAULT false;
        DEFINE FIELD total_limit ON category TYPE int DEFAULT 50 ASSERT $value >= 1;
        DEFINE FIELD cooldown_ms ON category TYPE option<int>;
        DEFINE FIELD slowmode_s ON category TYPE option<int>;
        DEFINE FIELD require_topic ON category TYPE bool DEFAULT true;
        DEFINE FIELD custom_topic ON category TYPE option<string>;
        DEFINE FIELD auto_close_ms ON category TYPE option<int>;
        DEFINE FIELD stale_after_ms ON category TYPE option<int>;
        DEFINE FIELD archive ON category TYPE option<bool>;
        DEFINE FIELD position ON category TYPE int DEFAULT 0;

        DEFINE TABLE question SCHEMAFULL;
        DEFINE FIELD tenant ON question TYPE string;
        DEFINE FIELD category ON question TYPE record<category>;
        DEFINE FIELD key ON question TYPE string;
        DEFINE FIELD position ON question TYPE int DEFAULT 0;
        DEFINE FIELD label ON question TYPE string;
        DEFINE FIELD kind ON question TYPE string DEFAULT 'text'
            ASSERT $value IN ['text', 'select'];
        DEFINE FIELD style ON question TYPE int DEFAULT 1 ASSERT $value IN [1, 2];
        DEFINE FIELD placeholder ON question TYPE option<string>;
        DEFINE FIELD value ON question TYPE option<string>;
        DEFINE FIELD required ON question TYPE bool DEFAULT true;
        DEFINE FIELD min_length ON question TYPE int DEFAULT 0;
        DEFINE FIELD max_length ON question TYPE int DEFAULT 1000;
        DEFINE FIELD options ON question TYPE array<string> DEFAULT [];
        DEFINE FIELD created_at ON question TYPE datetime DEFAULT time::now();
        DEFINE INDEX question_category ON question FIELDS tenant, category, key UNIQUE;

        DEFINE TABLE answer SCHEMAFULL;
        DEFINE FIELD tenant ON answer TYPE string;
        DEFINE FIELD ticket ON answer TYPE record<ticket>;
        DEFINE FIELD question ON answer TYPE string;
        DEFINE FIELD label ON answer TYPE string;
        DEFINE FIELD position ON answer TYPE int DEFAULT 0;
        DEFINE FIELD value ON answer TYPE string;
        DEFINE FIELD updated_at ON answer TYPE datetime DEFAULT time::now();
        DEFINE INDEX answer_ticket ON answer FIELDS tenant, ticket;

        DEFINE FIELD thread ON ticket TYPE bool DEFAULT false;
        DEFINE FIELD claimed_by ON ticket TYPE option<string>;
        DEFINE FIELD priority ON ticket TYPE option<string>;
        DEFINE FIELD added_members ON ticket TYPE array<string> DEFAULT [];
        DEFINE FIELD last_message_at ON ticket TYPE option<datetime>;
        DEFINE FIELD last_author_staff ON ticket TYPE option<bool>;
        DEFINE FIELD first_response_at ON ticket TYPE option<datetime>;
        DEFINE FIELD references_ticket ON ticket TYPE option<int>;
        DEFINE FIELD references_message ON ticket TYPE option<string>;
        DEFINE FIELD pinned_message_ids ON ticket TYPE array<string> DEFAULT [];
        DEFINE FIELD close_request ON ticket TYPE option<object> FLEXIBLE;
        DEFINE FIELD stale_message_id ON ticket TYPE option<string>;
        DEFINE FIELD reopened ON ticket TYPE int DEFAULT 0;
        DEFINE INDEX ticket_open ON ticket FIELDS tenant, guild_id, state;

        DEFINE FIELD edits ON archived_message TYPE array<object> FLEXIBLE DEFAULT [];
        DEFINE FIELD external ON archived_message TYPE bool DEFAULT false;

        DEFINE TABLE timer SCHEMAFULL;
        DEFINE FIELD tenant ON timer TYPE string;
        DEFINE FIELD guild_id ON timer TYPE string;
        DEFINE FIELD number ON timer TYPE int;
        DEFINE FIELD kind ON timer TYPE string
            ASSERT $value IN ['stale', 'auto_close', 'close_request'];
        DEFINE FIELD due_at ON timer TYPE datetime;
        DEFINE FIELD attempt_until ON timer TYPE option<datetime>;
        DEFINE FIELD created_at ON timer TYPE datetime DEFAULT time::now();
        DEFINE INDEX timer_due ON timer FIELDS tenant, due_at;
        """,
    ),
    (
        3,
        # The dashboard: each tenant's OAuth2 client secret (encrypted), login
        # sessions kept server-side so logging out ends them, and tags.
        """
        DEFINE FIELD oauth_secret ON tenant TYPE option<string>;

        DEFINE TABLE web_session SCHEMAFULL;
        DEFINE FIELD tenant ON web_session TYPE string;
        DEFINE FIELD user_id ON web_session TYPE string;
        DEFINE FIELD username ON web_session TYPE string;
        DEFINE FIELD global_name ON web_session TYPE option<string>;
        DEFINE FIELD avatar ON web_session TYPE option<string>;
        DEFINE FIELD access_token ON web_session TYPE string;
        DEFINE FIELD scopes ON web_session TYPE array<string> DEFAULT [];
        DEFINE FIELD guilds ON web_session TYPE array<object> FLEXIBLE DEFAULT [];
        DEFINE FIELD csrf ON web_session TYPE string;
        DEFINE FIELD created_at ON web_session TYPE datetime DEFAULT time::now();
        DEFINE FIELD expires_at ON web_session TYPE datetime;
        DEFINE INDEX web_session_user ON web_session FIELDS tenant, user_id;

        DEFINE TABLE tag SCHEMAFULL;
        DEFINE FIELD tenant ON tag TYPE string;
        DEFINE FIELD guild_id ON tag TYPE string;
        DEFINE FIELD name ON tag TYPE string;
        DEFINE FIELD content ON tag TYPE string;
        DEFINE FIELD regex ON tag TYPE option<string>;
        DEFINE FIELD created_at ON tag TYPE datetime DEFAULT time::now();
        DEFINE INDEX tag_name ON tag FIELDS tenant, guild_id, name UNIQUE;
        """,
    ),
    (
        4,
        # Working hours (standalone/tickets/hours.py), per guild and per category.
        """
        DEFINE FIELD working_hours ON guild TYPE option<string>;
        DEFINE FIELD working_hours ON category TYPE option<string>;
        """,
    ),
    (
        5,
        # Tags whose pattern auto-replies: in which channels a guild wants that.
        """
        DEFINE FIELD auto_tag_tickets ON guild TYPE bool DEFAULT true;
        DEFINE FIELD auto_tag_channels ON guild TYPE array<string> DEFAULT [];
        """,
    ),
    (
        6,
        # Statistics: the staff member who answered a ticket first, and indexes
        # for the time windows statistics look at.
        """
        DEFINE FIELD first_responder ON ticket TYPE option<string>;
        DEFINE INDEX ticket_created ON ticket FIELDS tenant, guild_id, created_at;
        DEFINE INDEX ticket_closed ON ticket FIELDS tenant, guild_id, closed_at;
        """,
    ),
    (
        7,
        # A category's open tickets, counted at every click and form of a panel: by
        # guild and state alone the count read every open ticket of the guild
        # (19 ms with 1,000 of them, against 1.4 ms with this index).
        """
        DEFINE INDEX ticket_category ON ticket FIELDS tenant, guild_id, category, state;
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
