"""The feedback form a member fills in when closing their own ticket."""

from __future__ import annotations

from typing import Any

import disnake
from disnake.interactions.modal import ModalInteraction
from disnake.ui.select.string import StringSelect

from standalone.i18n import DEFAULT, Text, t
from standalone.tickets import custom_ids
from standalone.tickets.errors import TicketError

RATING_FIELD = "rating"
COMMENT_FIELD = "comment"
COMMENT_MIN, COMMENT_MAX = 4, 1000
# What the member was doing when the form was shown, continued once it is sent.
REQUEST, ACCEPT = "request", "accept"


def modal(number: int, step: str, locale: str = DEFAULT) -> dict[str, Any]:
    """The form: a 1-5 rating picked from a menu, and an optional comment."""
    options = [
        disnake.SelectOption(label=f"{'★' * n}{'☆' * (5 - n)}  {n}/5", value=str(n))
        for n in range(5, 0, -1)
    ]
    return {
        "title": t(locale, "feedback.title"),
        "custom_id": custom_ids.make(custom_ids.FEEDBACK, number, step),
        "components": [
            disnake.ui.Label(
                t(locale, "feedback.rating"),
                StringSelect(custom_id=RATING_FIELD, options=options, min_values=1, max_values=1),
            ),
            disnake.ui.Label(
                t(locale, "feedback.comment"),
                disnake.ui.TextInput(
                    custom_id=COMMENT_FIELD,
                    style=disnake.TextInputStyle.paragraph,
                    min_length=COMMENT_MIN,
                    max_length=COMMENT_MAX,
                    required=False,
                ),
            ),
        ],
    }


def answers(inter: ModalInteraction[Any]) -> tuple[int, str | None]:
    """The rating and comment submitted; refuses values the form could not have sent."""
    raw = inter.values.get(RATING_FIELD)
    chosen = raw[0] if isinstance(raw, list) and raw else raw
    if not isinstance(chosen, str) or chosen not in {"1", "2", "3", "4", "5"}:
        raise TicketError(Text("feedback.pick_rating"))
    comment = (inter.text_values.get(COMMENT_FIELD) or "").strip() or None
    if comment is not None and not COMMENT_MIN <= len(comment) <= COMMENT_MAX:
        raise TicketError(Text("feedback.comment_length", min=COMMENT_MIN, max=COMMENT_MAX))
    return int(chosen), comment
