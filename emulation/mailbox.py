"""A subscriber's bounded queue of pub/sub messages, shared by every adapter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from emulation.ports import Message


class Mailbox:
    """Pub/sub is fire-and-forget: a full mailbox drops new messages, never blocks a sender."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue(maxsize=size)
        self.closed = False

    def offer(self, message: Message) -> bool:
        """Queue a message; False when closed or full."""
        if self.closed:
            return False
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            return False
        return True

    def end(self) -> None:
        """Stop taking messages and wake a reader blocked on an empty mailbox."""
        self.closed = True
        while True:
            try:
                self._queue.put_nowait(None)
            except asyncio.QueueFull:
                # The end marker must get in; the oldest message makes room.
                self._queue.get_nowait()
            else:
                return

    async def messages(self) -> AsyncIterator[Message]:
        """What was queued, in order, until the end marker."""
        while True:
            message = await self._queue.get()
            if message is None:
                return
            yield message
