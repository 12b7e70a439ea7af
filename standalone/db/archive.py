"""Edits and deletions of archived ticket messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from standalone.db.connection import Database
from standalone.db.records import ArchivedMessage, to_struct


class ArchiveRepository:
    """Archived messages by Discord message id, within one tenant."""

    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self.tenant = tenant

    def _vars(self, **values: Any) -> dict[str, Any]:
        return {"tenant": self.tenant, **values}

    async def get(self, message_id: str) -> ArchivedMessage | None:
        """An archived message, if it was archived."""
        row = await self._db.one(
            "SELECT * FROM ONLY type::thing('archived_message', [$tenant, $mid]) "
            "WHERE tenant = $tenant;",
            self._vars(mid=message_id),
        )
        return to_struct(row, ArchivedMessage) if row else None

    async def edit(self, message_id: str, content: str, at: datetime) -> None:
        """Keep the current version among the edits and store ``content`` (both encrypted)."""
        await self._db.one(
            # edits first: it takes the content as it was before this statement.
            "UPDATE type::thing('archived_message', [$tenant, $mid]) "
            "SET edits += {content: content, at: $at}, content = $content, edited = true "
            "WHERE tenant = $tenant;",
            self._vars(mid=message_id, content=content, at=at),
        )

    async def mark_deleted(self, message_ids: list[str]) -> None:
        """Flag messages deleted in Discord; their content stays for the transcript."""
        await self._db.one(
            "FOR $mid IN $ids { UPDATE type::thing('archived_message', [$tenant, $mid]) "
            "SET deleted = true WHERE tenant = $tenant; };",
            self._vars(ids=message_ids),
        )
