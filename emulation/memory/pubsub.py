"""In-process publish/subscribe with channel and glob-pattern subscriptions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from emulation import arguments
from emulation.mailbox import Mailbox
from emulation.memory.glob import glob_match
from emulation.ports import Message

# A subscriber that stops reading must not grow memory without bound; like a
# Valkey client over its output buffer limit, it loses messages instead.
DEFAULT_QUEUE_SIZE = 10_000


class MemorySubscription:
    """One subscriber's queue; iteration ends once it is closed."""

    def __init__(
        self,
        hub: MemoryPubSub,
        channels: Sequence[str],
        patterns: Sequence[str],
        queue_size: int,
    ) -> None:
        self._hub = hub
        self.channels = frozenset(channels)
        self.patterns = tuple(dict.fromkeys(patterns))
        self._mailbox = Mailbox(queue_size)

    @property
    def closed(self) -> bool:
        return self._mailbox.closed

    def offer(self, message: Message) -> bool:
        return self._mailbox.offer(message)

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._mailbox.messages()

    async def close(self) -> None:
        if self.closed:
            return
        self._mailbox.end()
        self._hub.forget(self)


class MemoryPubSub:
    """Fire-and-forget delivery to the subscriptions open at publish time."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._subscriptions: set[MemorySubscription] = set()
        self._queue_size = queue_size

    async def publish(self, channel: str, data: bytes) -> int:
        # Counted like PUBLISH: one per channel match plus one per matching pattern.
        received = 0
        for sub in list(self._subscriptions):
            if channel in sub.channels and sub.offer(Message(channel, bytes(data))):
                received += 1
            for pattern in sub.patterns:
                if glob_match(pattern, channel) and sub.offer(
                    Message(channel, bytes(data), pattern)
                ):
                    received += 1
        return received

    async def subscribe(
        self, channels: Sequence[str] = (), patterns: Sequence[str] = ()
    ) -> MemorySubscription:
        arguments.subscription(channels, patterns)
        sub = MemorySubscription(self, channels, patterns, self._queue_size)
        self._subscriptions.add(sub)
        return sub

    def forget(self, sub: MemorySubscription) -> None:
        self._subscriptions.discard(sub)

    async def close(self) -> None:
        for sub in list(self._subscriptions):
            await sub.close()
