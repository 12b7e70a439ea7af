"""Errors that are the person's to fix, shown to them as a plain message."""

from __future__ import annotations


class TicketError(Exception):
    """A refusal with a message for the member or staff who caused it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
