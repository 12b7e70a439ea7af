"""Component custom ids: ``<action>:<argument>``, checked on the way in.

Discord caps custom ids at 100 characters and hands them back verbatim, so
anything in them is untrusted input.
"""

from __future__ import annotations

import re

OPEN = "open"  # panel button -> topic modal; argument: category key
TOPIC = "topic"  # topic modal -> new ticket; argument: category key
CLOSE = "close"  # close button on the opening message; argument: ticket number

TOPIC_FIELD = "topic"

_ARGUMENT = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BadCustomId(ValueError):
    """A custom id this bot did not make."""


def make(action: str, argument: str | int) -> str:
    """Build a custom id."""
    custom_id = f"{action}:{argument}"
    if not _ARGUMENT.fullmatch(str(argument)) or len(custom_id) > 100:
        raise BadCustomId(f"cannot build custom id from {action!r}, {argument!r}")
    return custom_id


def parse(custom_id: str) -> tuple[str, str]:
    """Split into action and argument; raises BadCustomId."""
    action, sep, argument = custom_id.partition(":")
    if not sep or action not in {OPEN, TOPIC, CLOSE} or not _ARGUMENT.fullmatch(argument):
        raise BadCustomId(f"unknown custom id {custom_id[:100]!r}")
    return action, argument
