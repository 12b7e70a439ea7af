"""Open-loop load against the bot: interactions, ticket opens, messages to archive.

Each action starts when the clock says (``rate`` per second), whether or not the
earlier ones were answered, so a slow bot shows as latency rather than as a
politely lower rate. Latency runs from the member's action at the stand-in to the
stand-in receiving the bot's answer; both ends are in this process.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from surrealdb import RecordID

from emulation.discord.member_actions import ActorError
from standalone.bench.procs import load_average
from standalone.bench.stats import Latencies
from standalone.bench.world import PER_CATEGORY, BenchWorld, Place
from standalone.db import Database

ANSWER_TIMEOUT_S = 30.0
ARCHIVE_TIMEOUT_S = 300.0
# A member may start one open per 5 s (v4's anti-spam pause): each clicker (who
# clicks the panel but never submits) gets this long between two clicks.
CLICK_GAP_S = 6.0
MESSAGE_CHANNELS = 200  # ticket channels the archive load is spread over
TICK_S = 0.01  # messages are sent in slices this long apart
DEFERRED = 5  # the callback type of a deferred answer
MODAL = 9


@dataclass
class Ticket:
    channel_id: int
    place: Place
    member: Any


@dataclass
class Throughput:
    name: str
    count: int
    seconds: float
    done: int

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


@dataclass
class LoadResult:
    interactions: dict[str, Latencies] = field(default_factory=dict)
    opens: Latencies = field(default_factory=lambda: Latencies("ticket open"))
    archive: Throughput | None = None
    # phase: (gateway events, seconds, CPU seconds the bot's processes used)
    events: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    message_failures: list[str] = field(default_factory=list)
    slip_ms: float = 0.0  # the generator's worst lateness against its schedule
    loadavg: dict[str, str] = field(default_factory=dict)
    tickets: list[Ticket] = field(default_factory=list)


async def open_loop(
    rate: float, duration: float, action: Callable[[int], Coroutine[Any, Any, None]]
) -> float:
    """Start ``action(i)`` at ``i / rate`` seconds for ``duration``; the worst slip (ms)."""
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[None]] = set()
    start = loop.time()
    slip = 0.0
    i = 0
    while (due := start + i / rate) < start + duration:
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        slip = max(slip, loop.time() - due)
        task = asyncio.create_task(action(i))
        running.add(task)
        task.add_done_callback(running.discard)
        i += 1
    if running:
        await asyncio.gather(*running)
    return slip * 1000


async def timed_answer(samples: Latencies, send: Callable[[], Awaitable[Any]]) -> Any:
    """Send, wait for the callback, record the latency; None when unanswered."""
    samples.sent += 1
    started = time.perf_counter()
    try:
        inter = await send()
        answer = await inter.response(timeout=ANSWER_TIMEOUT_S)
    except Exception as exc:  # every failure is counted and reported, never raised
        samples.failures.append(f"{type(exc).__name__}: {exc}")
        return None
    samples.samples.append((time.perf_counter() - started) * 1000)
    return answer


class Load:
    """The phases of one run against one deployment's world."""

    def __init__(self, world: BenchWorld, cpu: Callable[[], float]) -> None:
        self.world = world
        # CPU seconds used by the bot so far: its cost per event does not depend on
        # how many other jobs share the machine, unlike its latency.
        self.cpu = cpu
        self.discord = world.discord
        self.result = LoadResult()
        self._clickers: dict[int, list[Any]] = {}
        self._opened_in: dict[int, int] = {}

    async def post_panels(self, clicks_per_s: float) -> None:
        """Staff posts a panel in every guild; its buttons are the categories."""
        places = self.world.places
        clickers = math.ceil(clicks_per_s * CLICK_GAP_S / len(places)) + 1
        for place in places:
            actor = self.discord.actor(place.app.id, place.guild.id, place.staff.id)
            inter = await actor.slash("panel", {}, channel_id=place.channel.id)
            await inter.followups(count=1, timeout=ANSWER_TIMEOUT_S)
            place.panel = next(m for m in self.discord.messages(place.channel.id) if m.components)
            place.buttons = [
                c["custom_id"] for row in place.panel.components for c in row["components"]
            ]
            self._clickers[place.guild.id] = [
                self.discord.add_member(place.guild.id, username=f"clicker{place.guild.id}-{n}")
                for n in range(clickers)
            ]

    async def _phase(self, name: str, run: Callable[[], Awaitable[float]]) -> None:
        events = self.world.events_sent()
        started = time.perf_counter()
        cpu = self.cpu()
        self.result.slip_ms = max(self.result.slip_ms, await run())
        self.result.events[name] = (
            self.world.events_sent() - events,
            time.perf_counter() - started,
            self.cpu() - cpu,
        )
        self.result.loadavg[name] = load_average()

    async def interactions(self, rate: float, duration: float) -> None:
        """Slash commands (staff) and panel buttons (members), alternately, at ``rate``/s."""
        commands = self.result.interactions.setdefault(
            "command", Latencies("/category list → reply")
        )
        buttons = self.result.interactions.setdefault("button", Latencies("panel button → form"))
        places = self.world.places

        async def one(i: int) -> None:
            place = places[(i // 2) % len(places)]
            if i % 2 == 0:
                actor = self.discord.actor(place.app.id, place.guild.id, place.staff.id)
                await timed_answer(
                    commands, lambda: actor.slash("category list", channel_id=place.channel.id)
                )
                return
            clickers = self._clickers[place.guild.id]
            member = clickers[(i // 2 // len(places)) % len(clickers)]
            actor = self.discord.actor(place.app.id, place.guild.id, member.id)
            answer = await timed_answer(
                buttons, lambda: actor.click(place.panel.id, place.buttons[0])
            )
            if answer is not None and answer.get("type") != MODAL:
                buttons.failures.append(f"no form: {answer}")

        await self._phase("interactions", lambda: open_loop(rate, duration, one))

    async def opens(self, rate: float, duration: float) -> None:
        """New members click a panel button and submit the form, ``rate`` times a second."""
        clicks = self.result.interactions.setdefault(
            "open-click", Latencies("panel button → form (opens)")
        )
        submits = self.result.interactions.setdefault("submit", Latencies("form submit → callback"))
        opens = self.result.opens
        places = self.world.places

        async def one(i: int) -> None:
            place = places[i % len(places)]
            nth = self._opened_in.get(place.guild.id, 0)
            self._opened_in[place.guild.id] = nth + 1
            if nth // PER_CATEGORY >= len(place.buttons):
                opens.sent += 1
                opens.failures.append("no room left: raise the guilds for this many opens")
                return
            member = self.discord.add_member(place.guild.id, username=f"m{place.guild.id}-{nth}")
            actor = self.discord.actor(place.app.id, place.guild.id, member.id)
            button = place.buttons[nth // PER_CATEGORY]
            form = await timed_answer(clicks, lambda: actor.click(place.panel.id, button))
            if form is None:
                return
            opens.sent += 1
            started = time.perf_counter()
            submitted: list[Any] = []

            async def submit() -> Any:
                inter = await actor.submit_modal(
                    form["data"]["custom_id"],
                    {"topic": "benchmark ticket"},
                    channel_id=place.channel.id,
                )
                submitted.append(inter)
                return inter

            callback = await timed_answer(submits, submit)
            if callback is None:
                opens.failures.append("the form submit was not answered")
                return
            if callback.get("type") != DEFERRED:
                # Refused at once (the answer is the callback itself).
                opens.failures.append(str(callback.get("data", {}).get("content")))
                return
            try:
                answer = await submitted[0].followups(count=1, timeout=ANSWER_TIMEOUT_S)
            except TimeoutError as exc:
                opens.failures.append(str(exc))
                return
            content = str(answer[-1]["content"])
            if not content.startswith("Your ticket is open: <#"):
                # A refusal is quick and would flatter the figure.
                opens.failures.append(content)
                return
            opens.samples.append((time.perf_counter() - started) * 1000)
            channel_id = int(content.split("<#")[1].rstrip(">"))
            self.result.tickets.append(Ticket(channel_id=channel_id, place=place, member=member))

        await self._phase("opens", lambda: open_loop(rate, duration, one))

    async def messages(self, count: int, rate: float, db: Database) -> None:
        """Members write ``count`` messages in their tickets; time until all are archived."""
        tickets = self.result.tickets[:MESSAGE_CHANNELS]
        if not tickets:
            await self.opens(rate=5, duration=2)
            tickets = self.result.tickets[:MESSAGE_CHANNELS]
        if not tickets:
            raise RuntimeError("no ticket could be opened to write messages in")
        actors = [
            self.discord.actor(t.place.app.id, t.place.guild.id, t.member.id) for t in tickets
        ]
        last: dict[int, tuple[str, str]] = {}

        async def run() -> float:
            loop = asyncio.get_running_loop()
            start = loop.time()
            sent = 0
            slip = 0.0
            while sent < count:
                due = min(count, int((loop.time() - start) * rate) + 1)
                while sent < due:
                    n = sent % len(tickets)
                    sent += 1
                    try:
                        message = await actors[n].send_message(
                            tickets[n].channel_id, f"load message {sent}"
                        )
                    except ActorError as exc:  # the stand-in refused: counted, not fatal
                        self.result.message_failures.append(str(exc))
                        continue
                    last[tickets[n].channel_id] = (tickets[n].place.tenant, str(message.id))
                slip = max(slip, loop.time() - (start + sent / rate))
                await asyncio.sleep(TICK_S)
            await _until_archived(db, list(last.values()))
            seconds = loop.time() - start
            stored = sum([await _archived_count(db, t.name) for t in self.world.loads])
            written = count - len(self.result.message_failures)
            self.result.archive = Throughput("archived messages", written, seconds, stored)
            return slip * 1000

        await self._phase("messages", run)


async def _until_archived(db: Database, messages: list[tuple[str, str]]) -> None:
    """Wait until each channel's last message (tenant, message id) is archived.

    The worker keeps each channel's messages in order, so when a channel's last
    one is stored, so are the ones before it (counted afterwards to be sure).
    """
    waiting = list(messages)
    async with asyncio.timeout(ARCHIVE_TIMEOUT_S):
        while waiting:
            ids = [RecordID("archived_message", [tenant, mid]) for tenant, mid in waiting]
            found = await db.one("SELECT VALUE message_id FROM $ids;", {"ids": ids})
            stored = set(found or [])
            waiting = [(tenant, mid) for tenant, mid in waiting if mid not in stored]
            if waiting:
                await asyncio.sleep(0.02)


async def _archived_count(db: Database, tenant: str) -> int:
    """Members' messages the bot archived (its own messages in tickets left out)."""
    rows = await db.one(
        "SELECT count() FROM archived_message WHERE tenant = $tenant AND author_bot = false "
        "GROUP ALL;",
        {"tenant": tenant},
    )
    return int(rows[0]["count"]) if rows else 0
