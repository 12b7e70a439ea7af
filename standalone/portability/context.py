"""Both ends of a move: the guild being read, and where (and how) it is written."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from standalone import keys
from standalone.crypto import Cipher, CryptoError
from standalone.db.connection import Database
from standalone.portability.format import PortabilityError


@dataclass
class Reading:
    """One guild being exported, and what the export learnt so far."""

    db: Database
    tenant: str
    guild: str
    cipher: Cipher
    # The highest ticket number exported: a record of a ticket opened after the
    # tickets were read is left out, so the archive never refers to a missing one.
    last_ticket: int = 0

    def vars(self, **values: Any) -> dict[str, Any]:
        return {"tenant": self.tenant, "guild": self.guild, **values}

    def decrypt(self, value: str | None, what: str) -> str | None:
        if value is None:
            return None
        try:
            return self.cipher.decrypt(value)
        except CryptoError as exc:
            raise PortabilityError(f"cannot export {what}: {exc}") from None


@dataclass
class Target:
    """Where an import goes, and how archived keys map to this deployment's."""

    db: Database
    tenant: str
    guild: str
    source_guild: str
    cipher: Cipher
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    categories: dict[str, str] = field(default_factory=dict)

    @property
    def same_guild(self) -> bool:
        return self.guild == self.source_guild

    def vars(self, **values: Any) -> dict[str, Any]:
        return {"tenant": self.tenant, "guild": self.guild, **values}

    def category(self, old: str) -> str:
        """The new key of an archived category (fresh keys: the old may be taken here)."""
        if old not in self.categories:
            self.categories[old] = secrets.token_hex(6)
        return self.categories[old]

    def discord_id(self, value: str) -> str:
        """An id that must be unique in the tenant, made so in another guild.

        Interaction and message ids are Discord's, unique across guilds; the
        same ids imported into a second guild of the tenant would clash with
        the first's, and events of the first guild must not reach the copy.
        """
        return value if self.same_guild else f"{value}@{self.guild}"

    def encrypt(self, value: str | None) -> str | None:
        return None if value is None else self.cipher.encrypt(value)

    def object_key(self, portable: str | None) -> str | None:
        return None if portable is None else to_store_key(portable, self.guild)


def to_portable_key(key: str, guild: str) -> str | None:
    """``transcripts/<guild>/7.html`` as ``transcripts/7.html``; None outside the guild."""
    for area in keys.GUILD_OBJECT_AREAS:
        prefix = keys.guild_objects(area, guild)
        if key.startswith(prefix) and len(key) > len(prefix):
            return f"{area}/{key[len(prefix) :]}"
    return None


def to_store_key(portable: str, guild: str) -> str:
    """The storage key of an archived object in ``guild``; PortabilityError if it has none."""
    area, _, name = portable.partition("/")
    if area not in keys.GUILD_OBJECT_AREAS or not name:
        raise PortabilityError(f"object {portable!r} is not in a known area")
    return keys.guild_objects(area, guild) + name


@dataclass
class References:
    """What an import's check has seen so far, to check references against."""

    categories: set[str] = field(default_factory=set)
    questions: set[tuple[str, str]] = field(default_factory=set)
    tickets: set[int] = field(default_factory=set)
    objects: set[str] = field(default_factory=set)
    settings: int = 0
