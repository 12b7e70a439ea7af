"""Errors that are the person's to fix, shown to them as a plain message."""

from __future__ import annotations

from standalone.i18n import DEFAULT, Text


class TicketError(Exception):
    """A refusal with a message for the member or staff who caused it.

    Give a ``Text`` (a catalogue key and values) so the person reads it in their
    language; a plain string is shown as is.
    """

    def __init__(self, message: str | Text) -> None:
        self.text = message
        self.message = message.render(DEFAULT) if isinstance(message, Text) else message
        super().__init__(self.message)

    def render(self, locale: str | None) -> str:
        """The message in ``locale``."""
        return self.text.render(locale) if isinstance(self.text, Text) else self.text
