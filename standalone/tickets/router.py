"""Buttons and modals, routed by custom id and awaited, so workers ack after they finish."""

from __future__ import annotations

from typing import Any

import disnake
from disnake.interactions.message import MessageInteraction
from disnake.interactions.modal import ModalInteraction

from standalone.tickets import custom_ids
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import forbidden_message, reply
from standalone.tickets.service import TicketService


class ComponentRouter:
    """Dispatches component clicks and modal submits to the ticket service."""

    def __init__(self, service: TicketService) -> None:
        self.service = service

    async def dispatch(self, inter: MessageInteraction[Any] | ModalInteraction[Any]) -> None:
        """Handle one interaction; a refusal is answered, anything else raised."""
        try:
            await self._route(inter)
        except TicketError as refusal:
            await reply(inter, refusal.message)
        except custom_ids.BadCustomId:
            await reply(inter, "This button is not from this bot any more. Try a new panel.")
        except disnake.Forbidden as exc:
            await reply(inter, forbidden_message(exc))

    async def _route(self, inter: MessageInteraction[Any] | ModalInteraction[Any]) -> None:
        action, argument = custom_ids.parse(inter.data.custom_id)
        if isinstance(inter, ModalInteraction):
            if action != custom_ids.TOPIC:
                raise custom_ids.BadCustomId(inter.data.custom_id)
            topic = inter.text_values.get(custom_ids.TOPIC_FIELD, "")
            await self.service.finish_open(inter, argument, topic)
        elif action == custom_ids.OPEN:
            await self.service.start_open(inter, argument)
        elif action == custom_ids.CLOSE:
            await self.service.close(inter, None)
        else:
            raise custom_ids.BadCustomId(inter.data.custom_id)
