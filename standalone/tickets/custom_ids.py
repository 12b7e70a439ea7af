"""Component custom ids: ``<action>:<argument>[.<argument>...]``, checked on the way in.

Discord caps custom ids at 100 characters and hands them back verbatim, so
anything in them is untrusted input. The actions are listed here so no two
features can claim the same one.
"""

from __future__ import annotations

import re

OPEN = "open"  # panel button -> form; argument: category key
PICK = "pick"  # category select menu (panel, /new, DM); argument: context
TOPIC = "topic"  # topic modal -> new ticket; argument: category key
QUESTIONS = "questions"  # questions modal -> new ticket; argument: category key
CREATE_FOR = "createfor"  # staff prompt for a member; argument: category key
CLOSE = "close"  # close button; argument: ticket number
CLOSE_ACCEPT = "closeyes"  # accept a close request; argument: ticket number
CLOSE_REJECT = "closeno"  # reject a close request; argument: ticket number
FEEDBACK = "feedback"  # feedback modal; arguments: ticket number, step
CLAIM = "claim"  # argument: ticket number
RELEASE = "release"  # argument: ticket number
EDIT = "edit"  # edit answers/topic; argument: ticket number
EDITED = "edited"  # edit modal submitted; argument: ticket number
FORCE_YES = "forceyes"  # confirm a bulk force-close; argument: confirmation key
FORCE_NO = "forceno"  # cancel it; argument: confirmation key
REOPEN = "reopen"  # reopen a closed thread ticket; arguments: guild, number
TRANSCRIPT = "transcript"  # send a ticket's transcript; argument: guild.number

ACTIONS = frozenset(
    {
        OPEN,
        PICK,
        TOPIC,
        QUESTIONS,
        CREATE_FOR,
        CLOSE,
        CLOSE_ACCEPT,
        CLOSE_REJECT,
        FEEDBACK,
        CLAIM,
        RELEASE,
        EDIT,
        EDITED,
        FORCE_YES,
        FORCE_NO,
        REOPEN,
        TRANSCRIPT,
    }
)

TOPIC_FIELD = "topic"

_PART = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BadCustomId(ValueError):
    """A custom id this bot did not make."""


def is_part(text: str) -> bool:
    """Whether ``text`` has the shape of a custom id argument (a category key, a number)."""
    return _PART.fullmatch(text) is not None


def make(action: str, *arguments: str | int) -> str:
    """Build a custom id."""
    parts = [str(a) for a in arguments]
    custom_id = f"{action}:{'.'.join(parts)}"
    if (
        action not in ACTIONS
        or not parts
        or not all(_PART.fullmatch(p) for p in parts)
        or len(custom_id) > 100
    ):
        raise BadCustomId(f"cannot build custom id from {action!r}, {arguments!r}")
    return custom_id


def parse(custom_id: str) -> tuple[str, list[str]]:
    """Split into action and arguments; raises BadCustomId."""
    action, sep, rest = custom_id.partition(":")
    parts = rest.split(".")
    if (
        not sep
        or action not in ACTIONS
        or len(custom_id) > 100
        or not all(_PART.fullmatch(p) for p in parts)
    ):
        raise BadCustomId(f"unknown custom id {custom_id[:100]!r}")
    return action, parts


def number(arguments: list[str]) -> int:
    """The ticket number a custom id carries as its first argument."""
    if not arguments[0].isdigit() or len(arguments[0]) > 9:
        raise BadCustomId(f"not a ticket number: {arguments[0]!r}")
    return int(arguments[0])
