"""A posted form: its raw values for re-display and a message per field that failed.

Parsers record what is wrong next to the field instead of raising, so one post
reports every bad field at once and the page shows each message beside its input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Protocol

from standalone.http.pages.errors import PageError
from standalone.tickets.durations import BadDuration, format_ms, parse_ms

FORM_ERROR = ""  # the key of a message about the form as a whole
_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")


class MultiValues(Protocol):
    """What aiohttp's posted data offers: every value of a repeated field."""

    def getall(self, key: str, default: list[str]) -> list[str]:
        """Every value posted under ``key``."""
        ...


class Form:
    """Raw values by field (lists, as checkboxes repeat) and the errors found in them."""

    def __init__(self, form_id: str, values: Mapping[str, list[str]] | None = None) -> None:
        self.id = form_id
        self._values: dict[str, list[str]] = {k: list(v) for k, v in (values or {}).items()}
        self.errors: dict[str, str] = {}

    @classmethod
    def posted(cls, form_id: str, data: MultiValues, names: Iterable[str]) -> Form:
        """The fields ``names`` of a post; anything else posted is ignored."""
        return cls(form_id, {name: [str(v) for v in data.getall(name, [])] for name in names})

    @classmethod
    def filled(cls, form_id: str, values: Mapping[str, str | list[str]]) -> Form:
        """A form showing stored values, for a page's first view."""
        return cls(form_id, {k: v if isinstance(v, list) else [v] for k, v in values.items()})

    # What the templates read

    def value(self, name: str) -> str:
        """The last value given for ``name`` (a checkbox posts a hidden ``off`` first)."""
        found = self._values.get(name) or [""]
        return found[-1]

    def values(self, name: str) -> list[str]:
        return [v for v in self._values.get(name, []) if v]

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, name: str, message: str) -> None:
        """Record a message for a field (the first one wins: it is the one to fix first)."""
        self.errors.setdefault(name, message)

    def fail_from(self, message: str, fields: Iterable[str], rename: Mapping[str, str]) -> None:
        """Place a domain error (``"field: what is wrong"``) next to its field if shown."""
        head, sep, rest = message.partition(":")
        field = rename.get(head.strip(), head.strip())
        if sep and field in set(fields):
            self.fail(field, rest.strip().capitalize() or message)
        else:
            self.fail(FORM_ERROR, message[:1].upper() + message[1:])

    def refused(self, exc: PageError, fields: Iterable[str], rename: Mapping[str, str]) -> None:
        """Show why the services refused a change, next to its field when it names one."""
        self.fail_from(f"{exc.field}: {exc}" if exc.field else str(exc), fields, rename)

    # Parsers: each returns the value, or None after recording why it cannot be used

    def text(self, name: str, *, required: bool = False, max_len: int = 4000) -> str | None:
        value = self.value(name).strip()
        if required and not value:
            self.fail(name, "Required.")
            return None
        if len(value) > max_len:
            self.fail(name, f"At most {max_len} characters (this has {len(value)}).")
            return None
        return value or None

    def integer(self, name: str, low: int, high: int) -> int | None:
        raw = self.value(name).strip()
        if not re.fullmatch(r"-?\d{1,9}", raw):
            self.fail(name, f"A whole number from {low} to {high}.")
            return None
        number = int(raw)
        if not low <= number <= high:
            self.fail(name, f"A whole number from {low} to {high}.")
            return None
        return number

    def duration(self, name: str) -> tuple[bool, int | None]:
        """(parsed, milliseconds or None for off)."""
        try:
            return True, parse_ms(self.value(name) or "off")
        except BadDuration as exc:
            self.fail(name, str(exc)[:1].upper() + str(exc)[1:] + ".")
            return False, None

    def choice(self, name: str, allowed: Iterable[str], *, blank: bool = False) -> str | None:
        value = self.value(name)
        if blank and not value:
            return None
        if value not in set(allowed):
            self.fail(name, "Choose one of the listed options." if value else "Choose one.")
            return None
        return value

    def subset(self, name: str, allowed: Iterable[str]) -> list[str]:
        known = set(allowed)
        chosen = list(dict.fromkeys(self.values(name)))
        unknown = [v for v in chosen if v not in known]
        if unknown:
            self.fail(name, "Not an option here: " + ", ".join(unknown[:5]) + ".")
            return []
        return chosen

    def flag(self, name: str) -> bool:
        return self.value(name) == "on"

    def colour(self, name: str) -> int | None:
        match = _COLOUR.fullmatch(self.value(name).strip())
        if match is None:
            self.fail(name, "A colour like #5865F2.")
            return None
        return int(match[1], 16)


def shown_duration(ms: int | None) -> str:
    """A stored duration as the form shows it (``2d``, ``1h 30m`` or ``off``)."""
    return format_ms(ms).replace(" ", "")


def shown_colour(value: int) -> str:
    return f"#{value:06X}"
