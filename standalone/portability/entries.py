"""How records look in the archive where their database shape has references or secrets.

References are plain keys (a category's old key, a ticket's number) and
ticket content is in plain text; other tables' records are the domain's own
structs (``standalone/db/records.py``), so the two shapes evolve together.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from standalone.db.feedback import Feedback
from standalone.db.records import Answer, ArchivedMessage, Category, GuildSettings, Question


class GuildEntry(GuildSettings, frozen=True, kw_only=True):
    next_number: int = 0
    created_at: datetime | None = None


class QuestionEntry(Question, frozen=True, kw_only=True):
    created_at: datetime | None = None


class CategoryEntry(Category, frozen=True, kw_only=True):
    created_at: datetime | None = None


class AnswerEntry(msgspec.Struct, frozen=True, kw_only=True):
    ticket: int
    answer: Answer


class FeedbackEntry(msgspec.Struct, frozen=True, kw_only=True):
    ticket: int
    feedback: Feedback


class Edit(msgspec.Struct, frozen=True, kw_only=True):
    content: str
    at: datetime


class MessageEntry(msgspec.Struct, frozen=True, kw_only=True):
    ticket: int
    message: ArchivedMessage  # its ``edits`` empty: they are below, decrypted
    edits: list[Edit] = []
