"""The worker service: consumes a tenant's event stream in a consumer group.

At-least-once: an entry is acknowledged only after its handler finished, so the
entries a dead worker held are claimed by another one and handled again; the
handlers are idempotent, so that costs nothing but time. While a worker handles
entries it touches them every third of ``redeliver_after_ms``, so a slow handler's
entries never look idle and are not run a second time by another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

import msgspec

from emulation.ports import StreamEntry, Streams
from standalone import keys
from standalone.config import WorkerConfig
from standalone.discord_bridge import MalformedEvent
from standalone.observability import context, metrics, otel
from standalone.wire import Envelope, decode_envelope

log = logging.getLogger(__name__)


class _Channel(msgspec.Struct):
    channel_id: str | None = None


class _Guild(msgspec.Struct):
    guild_id: str | None = None
    id: str | None = None  # GUILD_CREATE and GUILD_DELETE carry the guild itself


_channel_decoder = msgspec.json.Decoder(_Channel)
_guild_decoder = msgspec.json.Decoder(_Guild)


def _guild_of(envelope: Envelope) -> str:
    try:
        found = _guild_decoder.decode(envelope.data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""
    if envelope.type.startswith("GUILD_") and "MEMBER" not in envelope.type:
        return found.id or ""
    return found.guild_id or ""


def entered_at(entry_id: str) -> float:
    """When an entry entered the stream (Unix seconds), from its ``<ms>-<seq>`` id."""
    ms, _, _ = entry_id.partition("-")
    return int(ms) / 1000 if ms.isdigit() else 0.0


def _decode(entry: StreamEntry) -> Envelope | None:
    try:
        return decode_envelope(entry.data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _partition(entry: StreamEntry, envelope: Envelope | None) -> str:
    try:
        channel = _channel_decoder.decode(envelope.data).channel_id if envelope else None
    except (msgspec.DecodeError, msgspec.ValidationError):
        channel = None
    return channel or entry.id


class EventHandler(Protocol):
    """Whatever handles one tenant's events."""

    tenant: str

    async def handle(self, envelope: Envelope) -> None:
        """Handle one event; raise to have it retried, MalformedEvent to drop it."""


class Worker:
    """One consumer of one tenant's stream."""

    def __init__(
        self,
        *,
        handler: EventHandler,
        streams: Streams,
        consumer: str,
        settings: WorkerConfig,
        after_handle: Callable[[Envelope], Awaitable[None]] | None = None,
    ) -> None:
        self.handler = handler
        self.streams = streams
        self.consumer = consumer
        self.settings = settings
        # Test seam: runs between a handler's success and the acknowledgement,
        # the window in which a dying worker leaves an entry for redelivery.
        self.after_handle = after_handle
        self.stream = keys.events(handler.tenant)
        self.handled = 0
        # Entries of the batch in hand. They are touched while handled, but a pause
        # longer than redeliver_after_ms (a stalled loop) can still leave them idle,
        # and the claim loop must not run them a second time alongside (or, for the
        # ones waiting behind it, ahead of) this one.
        self._in_hand: set[str] = set()
        self._stopping = asyncio.Event()
        self._leaving = False

    async def run(self) -> None:
        """Consume until cancelled."""
        await self.streams.create_group(self.stream, keys.WORKER_GROUP, start="0")
        claimer = asyncio.create_task(self._claim_loop())
        try:
            while True:
                entries = await self.streams.read_group(
                    self.stream,
                    keys.WORKER_GROUP,
                    self.consumer,
                    count=self.settings.batch,
                    block_ms=100 if self._stopping.is_set() else 1000,
                )
                metrics.stream_lag.labels(self.handler.tenant).set(
                    max(0.0, time.time() - entered_at(entries[-1].id)) if entries else 0.0
                )
                if entries:
                    await self.process_batch(entries)
                elif self._stopping.is_set():
                    break
                if self._leaving:
                    break
        finally:
            claimer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await claimer

    def stop(self) -> None:
        """Handle what is already in the stream, then return from ``run``.

        Call it once nothing appends any more (the gateways stopped): with the
        in-process stream, what is left unread when the process ends is lost.
        """
        self._stopping.set()

    def leave(self) -> None:
        """Finish the batch in hand, then return from ``run``; the rest is for others.

        For a worker process among several: the stream goes on filling while the
        other workers run, so waiting for it to empty could take forever.
        """
        self._leaving = True
        self._stopping.set()

    async def _claim_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.claim_interval_ms / 1000)
            entries = await self.streams.claim_idle(
                self.stream,
                keys.WORKER_GROUP,
                self.consumer,
                min_idle_ms=self.settings.redeliver_after_ms,
                count=self.settings.batch,
            )
            entries = [entry for entry in entries if entry.id not in self._in_hand]
            if not entries:
                continue
            # The ones waiting behind the first are held too, or another worker
            # would claim them meanwhile and run them ahead of it.
            async with self._holding([entry.id for entry in entries]):
                for entry in entries:
                    if self._stopping.is_set():
                        return
                    log.info("redelivering %s (delivery %s)", entry.id, entry.deliveries)
                    if not await self.process(entry):
                        break  # keep the order: what follows waits for this one

    @contextlib.asynccontextmanager
    async def _holding(self, ids: Sequence[str]) -> AsyncIterator[None]:
        """Keep ``ids`` from going idle (and being claimed elsewhere) while inside."""
        toucher = asyncio.create_task(self._touch_loop(ids))
        try:
            yield
        finally:
            toucher.cancel()
            # Not awaited with suppress(CancelledError): that would swallow a
            # cancellation of this task arriving meanwhile.
            await asyncio.wait([toucher])

    async def _touch_loop(self, ids: Sequence[str]) -> None:
        held = list(ids)
        interval = self.settings.redeliver_after_ms / 3 / 1000
        while held:
            await asyncio.sleep(interval)
            try:
                # What is not returned was acknowledged, dead-lettered, trimmed or
                # (after a pause longer than redeliver_after_ms) claimed by another
                # worker: touching it again could not help.
                held = await self.streams.touch(self.stream, keys.WORKER_GROUP, self.consumer, held)
            except Exception:
                # A backend that fails now may answer by the next touch, in time.
                log.exception("could not hold %d entries in hand; trying again", len(held))

    async def process_batch(self, entries: list[StreamEntry]) -> None:
        """Handle entries of one channel in stream order, different channels at once.

        Order matters within a channel: a message sent just before "close" must be
        archived before the transcript is written.
        """
        # Each envelope is decoded once here and handed on with its entry.
        groups: dict[str, list[tuple[StreamEntry, Envelope | None]]] = {}
        for entry in entries:
            envelope = _decode(entry)
            groups.setdefault(_partition(entry, envelope), []).append((entry, envelope))
        ids = [entry.id for entry in entries]
        self._in_hand.update(ids)
        try:
            async with self._holding(ids), asyncio.TaskGroup() as group_tasks:
                for group in groups.values():
                    group_tasks.create_task(self._in_order(group))
        finally:
            # What failed, or waited behind a failure, is left to the claim loop.
            self._in_hand.difference_update(ids)

    async def _in_order(self, entries: list[tuple[StreamEntry, Envelope | None]]) -> None:
        for entry, envelope in entries:
            if not await self.process(entry, envelope):
                # Later entries of this channel wait too, so that they are claimed and
                # handled after this one, in order.
                return

    async def process(self, entry: StreamEntry, envelope: Envelope | None = None) -> bool:
        """Handle one entry and acknowledge it; False when it stays pending for a retry.

        ``envelope`` is the entry already decoded, when the caller has it.
        """
        if entry.deliveries > self.settings.max_deliveries:
            await self._dead_letter(entry, f"failed {entry.deliveries - 1} times")
            return True
        if envelope is None:
            try:
                envelope = decode_envelope(entry.data)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                await self._dead_letter(entry, f"not an event envelope: {exc}")
                return True
        tenant = self.handler.tenant
        with (
            context.bound(
                tenant_name=tenant,
                guild_id=_guild_of(envelope),
                ticket_id="",
                traceparent=envelope.trace,
            ),
            otel.span(
                "worker.handle",
                parent=envelope.trace,
                kind="consumer",
                attributes={"tickets.tenant": tenant, "tickets.event": envelope.type},
            ) as span,
            context.bound(traceparent=span.traceparent or None),
        ):
            entered = context.event_entered.set(entered_at(entry.id))
            log.debug("event %s (%s) taken", entry.id, envelope.type)
            try:
                await self.handler.handle(envelope)
            except MalformedEvent as exc:
                metrics.worker_events.labels(tenant, envelope.type, "dead_lettered").inc()
                await self._dead_letter(entry, str(exc))
                return True
            except Exception as exc:
                span.fail(exc)
                metrics.worker_events.labels(tenant, envelope.type, "retried").inc()
                log.exception("event %s failed; it will be retried", entry.id)
                return False
            finally:
                context.event_entered.reset(entered)
            log.debug("event %s (%s) handled", entry.id, envelope.type)
        metrics.worker_events.labels(tenant, envelope.type, "handled").inc()
        if self.after_handle is not None:
            await self.after_handle(envelope)
        await self.streams.ack(self.stream, keys.WORKER_GROUP, [entry.id])
        self.handled += 1
        return True

    async def _dead_letter(self, entry: StreamEntry, reason: str) -> None:
        # Kept, not dropped, so an operator can look at what the bot could not use.
        log.error("dropping event %s of tenant %s: %s", entry.id, self.handler.tenant, reason)
        dead = keys.dead_letters(self.handler.tenant)
        # Moved and acknowledged in one step, so a crash cannot keep it in both places.
        moved = await self.streams.dead_letter(self.stream, keys.WORKER_GROUP, entry.id, dead)
        if moved is None:
            # Trimmed from the stream or no longer ours: keep the copy we hold.
            await self.streams.append(dead, entry.data)
            await self.streams.ack(self.stream, keys.WORKER_GROUP, [entry.id])
