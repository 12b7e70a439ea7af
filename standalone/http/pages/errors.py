"""A change the services refused, as the pages show it: next to the field it names."""

from __future__ import annotations


class PageError(Exception):
    """``field`` names the input the message is about; empty for the form as a whole."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field
