"""Buttons, menus, modals and gateway events, routed to the features that handle them.

Handlers are awaited, so a worker acknowledges an event only after it finished.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import disnake
from disnake.interactions.message import MessageInteraction
from disnake.interactions.modal import ModalInteraction

from standalone.db.records import Timer
from standalone.db.shared_reads import shared_reads
from standalone.i18n import Text
from standalone.tickets import custom_ids
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import forbidden_message, reply

ComponentInteraction = MessageInteraction[Any] | ModalInteraction[Any]
ComponentHandler = Callable[[Any, list[str]], Awaitable[None]]
EventHandler = Callable[[bytes], Awaitable[None]]


class ComponentRouter:
    """Dispatches component clicks and modal submits by the action of their custom id."""

    def __init__(self) -> None:
        self._buttons: dict[str, ComponentHandler] = {}
        self._modals: dict[str, ComponentHandler] = {}

    def button(self, action: str, handler: ComponentHandler) -> None:
        """Handle clicks and menu choices on components with this action."""
        self._claim(self._buttons, action, handler)

    def modal(self, action: str, handler: ComponentHandler) -> None:
        """Handle submits of modals with this action."""
        self._claim(self._modals, action, handler)

    @staticmethod
    def _claim(table: dict[str, ComponentHandler], action: str, handler: ComponentHandler) -> None:
        if action not in custom_ids.ACTIONS or action in table:
            raise ValueError(f"action {action!r} is unknown or taken")
        table[action] = handler

    async def dispatch(self, inter: ComponentInteraction) -> None:
        """Handle one interaction; a refusal is answered, anything else raised."""
        try:
            action, arguments = custom_ids.parse(inter.data.custom_id)
            table = self._modals if isinstance(inter, ModalInteraction) else self._buttons
            handler = table.get(action)
            if handler is None:
                raise custom_ids.BadCustomId(inter.data.custom_id)
            await handler(inter, arguments)
        except TicketError as refusal:
            await reply(inter, refusal.text)
        except custom_ids.BadCustomId:
            await reply(inter, Text("router.stale_button"))
        except disnake.Forbidden as exc:
            await reply(inter, forbidden_message(exc))


class EventRouter:
    """Gateway events (other than interactions) to the features that want them."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[EventHandler]] = {}

    def on(self, event: str, handler: EventHandler) -> None:
        """Call ``handler`` with the raw data of every ``event``."""
        self._handlers.setdefault(event, []).append(handler)

    async def dispatch(self, event: str, data: bytes) -> None:
        """Run each handler of ``event`` in registration order.

        They share their lookups of the ticket, category and guild settings
        (``shared_reads``): a message in a ticket costs one read of each, not three.
        """
        with shared_reads():
            for handler in self._handlers.get(event, ()):
                await handler(data)


TimerHandler = Callable[[Timer], Awaitable[None]]


class TimerRouter:
    """Due timers (stale, auto-close, close requests) to the feature that owns each kind."""

    def __init__(self) -> None:
        self._handlers: dict[str, TimerHandler] = {}

    def on(self, kind: str, handler: TimerHandler) -> None:
        """Run ``handler`` when a timer of ``kind`` is due; one handler per kind."""
        if kind in self._handlers:
            raise ValueError(f"timer kind {kind!r} is taken")
        self._handlers[kind] = handler

    async def fire(self, timer: Timer) -> bool:
        """Run the timer's job; False when no feature handles its kind."""
        handler = self._handlers.get(timer.kind)
        if handler is None:
            return False
        await handler(timer)
        return True
