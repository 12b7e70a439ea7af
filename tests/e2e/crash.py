"""Crash-safety load: members and staff keep working while the bot is killed with SIGKILL.

The Discord stand-in lives in the test process, so its state (channels, messages,
DMs, every interaction's answers) survives the bot's deaths and is the witness
the final invariants are checked against, together with the database's records
read once the last bot process has stopped.

``Load`` plays seeded random operations from several members at once: open a ticket
(panel click, form, answer), write in one's ticket, staff write or force-close.
A ``Killer`` SIGKILLs the bot process at seeded operation counts and starts it again
after a seeded pause, during which stale timers and auto-closes come due.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulation.discord import FakeDiscord
from emulation.discord.member_actions import ActorError
from standalone.crypto import Cipher, load_cipher
from standalone.db import open_database
from standalone.db.records import Ticket
from standalone.db.tickets import TicketRepository
from tests.e2e.child import ChildProcess
from tests.e2e.conftest import MANAGE_GUILD
from tests.e2e.flow import button, components

ROOT = Path(__file__).resolve().parent.parent.parent
TENANT = "default"  # the tenant ``tickets run`` makes of DISCORD_TOKEN
MEMBERS = 12
# Short enough that many tickets go stale and auto-close during (and between) the kills.
STALE_AFTER = "2s"
AUTO_CLOSE = "2s"
# How long one step of an operation waits for the bot; a dead bot answers nothing.
STEP_S = 8.0
OPEN_PREFIX = "Your ticket is open: <#"
TICKET_TOPIC = "Ticket #"
# Once nobody writes, every ticket goes stale and auto-closes within seconds.
SETTLE_S = 90.0


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TICKETS") and k != "DISCORD_TOKEN"
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


@dataclass
class Witness:
    """What members and staff saw, and every channel the stand-in ever created."""

    confirmed: dict[str, int] = field(default_factory=dict)  # topic -> channel id
    created: dict[int, Any] = field(default_factory=dict)  # channel id -> channel at creation
    ops: Counter[str] = field(default_factory=Counter)

    def listen(self, event: str, guild_id: int | None, record: Any, app_id: int | None) -> None:
        if event == "CHANNEL_CREATE":
            self.created[record.id] = record

    def ticket_channels(self) -> dict[int, Any]:
        """Every ticket channel ever created: its topic names the ticket."""
        return {i: c for i, c in self.created.items() if (c.topic or "").startswith(TICKET_TOPIC)}


@dataclass
class Place:
    """The guild the load runs in."""

    discord: FakeDiscord
    app: Any
    guild: Any
    staff_role: Any
    staff: Any
    members: list[Any]
    support: Any
    logs: Any

    @classmethod
    def build(cls, discord: FakeDiscord) -> Place:
        app = discord.add_application(name="Tickets")
        guild = discord.add_guild(name="Crash server")
        role = discord.add_role(guild.id, name="Staff", permissions=MANAGE_GUILD)
        staff = discord.add_member(guild.id, username="sam", roles=[role.id])
        members = [discord.add_member(guild.id, username=f"m{n}") for n in range(MEMBERS)]
        support = discord.add_channel(guild.id, name="support")
        logs = discord.add_channel(guild.id, name="ticket-log")
        discord.install(app.id, guild.id)
        return cls(discord, app, guild, role, staff, members, support, logs)

    def actor(self, user: Any) -> Any:
        return self.discord.actor(self.app.id, self.guild.id, user.id)

    def connected(self) -> bool:
        return any(s.conn for s in self.discord.gateway.sessions_of(self.app.id))


class BotProcess(ChildProcess):
    """A ``tickets run`` (or ``tickets serve SERVICE``) process; output to a log file."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], name: str) -> None:
        self.args = args
        self.cwd = cwd
        self.env = env
        self.log_path = cwd / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "cli",
                *self.args,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    async def stop(self, timeout: float = 30) -> int:
        """SIGTERM (SIGKILL if that is not enough); the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        assert self.process.returncode is not None
        return self.process.returncode


async def poll(check: Callable[[], bool], timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise TimeoutError(f"waited {timeout:.0f} s for {what}") from None


class Load:
    """Seeded random operations by members and staff, several at once."""

    def __init__(self, place: Place, witness: Witness, rng: random.Random) -> None:
        self.place = place
        self.witness = witness
        self.rng = rng
        self.done = 0
        self._panel: Any = None
        self._topics = 0

    def panel(self) -> Any:
        if self._panel is None:
            self._panel = next(
                m
                for m in self.place.discord.messages(self.place.support.id)
                if m.author_id == self.place.app.bot_user.id and m.components
            )
        return self._panel

    def live_channels(self, user: Any | None = None) -> list[int]:
        """Confirmed ticket channels that still exist (of ``user`` when given)."""
        found = []
        for channel_id in self.witness.confirmed.values():
            channel = self.place.discord.channel(channel_id)
            if channel is None:
                continue
            if user is None or f"<@{user.id}>" in (channel.topic or ""):
                found.append(channel_id)
        return found

    async def run(self, total: int, workers: int, on_op: Callable[[int], Awaitable[None]]) -> None:
        counter = iter(range(total))

        async def worker() -> None:
            for index in counter:
                await on_op(index)
                await self.one()
                self.done += 1

        await asyncio.gather(*(worker() for _ in range(workers)))

    async def one(self) -> None:
        roll = self.rng.random()
        member = self.rng.choice(self.place.members)
        try:
            if roll < 0.45:
                await self.open(member)
            elif roll < 0.8:
                await self.talk(member)
            elif roll < 0.92:
                await self.staff_talk()
            else:
                await self.force_close()
        except (TimeoutError, ActorError) as exc:
            # The bot died under the operation, or the channel went away meanwhile.
            self.witness.ops[f"cut short: {type(exc).__name__}"] += 1

    async def open(self, member: Any) -> None:
        self.witness.ops["open"] += 1
        actor = self.place.actor(member)
        click = await actor.click(self.panel().id, button(self.panel(), "open:"))
        if not click.delivered:
            return
        form = await click.response(timeout=STEP_S)
        if form["type"] != 9:
            return  # a refusal: a limit, the anti-spam pause
        self._topics += 1
        topic = f"crash topic {self._topics}-{member.id}"
        submit = await actor.submit_modal(
            form["data"]["custom_id"], {"topic": topic}, channel_id=self.place.support.id
        )
        if not submit.delivered:
            return
        answer = await submit.followups(count=1, timeout=STEP_S)
        content = str(answer[-1].get("content", ""))
        if content.startswith(OPEN_PREFIX):
            self.witness.confirmed[topic] = int(content.split("<#")[1].rstrip(">"))
            self.witness.ops["open confirmed"] += 1

    async def talk(self, member: Any) -> None:
        self.witness.ops["talk"] += 1
        mine = self.live_channels(member)
        if mine:
            channel_id = self.rng.choice(mine)
            await self.place.actor(member).send_message(channel_id, "still here")

    async def staff_talk(self) -> None:
        self.witness.ops["staff talk"] += 1
        live = self.live_channels()
        if live:
            channel_id = self.rng.choice(live)
            await self.place.actor(self.place.staff).send_message(channel_id, "looking into it")

    async def force_close(self) -> None:
        self.witness.ops["force close"] += 1
        live = self.live_channels()
        if not live:
            return
        inter = await self.place.actor(self.place.staff).slash(
            "force-close", {"reason": "done"}, channel_id=self.rng.choice(live)
        )
        if inter.delivered:
            await inter.response(timeout=STEP_S)


async def settle(place: Place, witness: Witness) -> None:
    """Wait for every ticket channel to be gone; a timeout is left to the invariants."""
    channels = witness.ticket_channels

    with contextlib.suppress(TimeoutError):
        await poll(
            lambda: all(place.discord.channel(c) is None for c in channels()),
            SETTLE_S,
            "every ticket channel to close",
        )


async def setup_guild(place: Place) -> None:
    """Panel, log channel and short stale/auto-close timings, through the bot's commands."""
    staff = place.actor(place.staff)
    inter = await staff.slash(
        "panel", {"staff_role": str(place.staff_role.id)}, channel_id=place.support.id
    )
    answer = await inter.followups(count=1, timeout=30)
    assert "Panel posted" in answer[-1]["content"], answer
    inter = await staff.slash(
        "settings",
        {
            "stale_after": STALE_AFTER,
            "auto_close": AUTO_CLOSE,
            "log_channel": str(place.logs.id),
        },
        channel_id=place.support.id,
    )
    answer = await inter.response(timeout=30)
    text = str(answer["data"].get("content", "")) if answer["type"] == 4 else ""
    if answer["type"] != 4:
        text = str((await inter.followups(count=1, timeout=30))[-1]["content"])
    assert text.startswith("Saved."), text


async def read_tickets(
    database_url: str, key_file: Path, username: str = "", password: str = ""
) -> tuple[list[Ticket], Cipher]:
    """Every ticket record, read once no bot holds the embedded database."""
    db = await open_database(
        database_url,
        namespace="tickets",
        database="main",
        username=username,
        password=password,
    )
    try:
        return await TicketRepository(db, TENANT).tickets(), load_cipher(key_file)
    finally:
        await db.close()


def closing_summaries(place: Place, channel_id: int) -> Counter[int]:
    """Close summaries (by ticket number) among a channel's messages from the bot."""
    seen: Counter[int] = Counter()
    for message in place.discord.messages(channel_id):
        if message.author_id != place.app.bot_user.id:
            continue
        for component in components(message):
            custom_id = str(component.get("custom_id", ""))
            # transcript:<guild>.<number>: one per close summary
            if custom_id.startswith("transcript:"):
                seen[int(custom_id.rsplit(".", 1)[1])] += 1
    return seen


def check_invariants(place: Place, witness: Witness, tickets: list[Ticket], cipher: Cipher) -> None:
    """The four promises of issue 9, against the stand-in and the database."""
    problems: list[str] = []
    by_channel = {t.channel_id: t for t in tickets if t.channel_id is not None}
    topics = Counter(cipher.decrypt(t.topic) for t in tickets if t.topic)

    # 1. Every ticket a member saw confirmed exists, with the channel they were shown.
    for topic, channel_id in witness.confirmed.items():
        ticket = by_channel.get(str(channel_id))
        if ticket is None:
            problems.append(f"confirmed ticket {topic!r} (<#{channel_id}>) has no record")
        elif cipher.decrypt(ticket.topic) != topic if ticket.topic else True:
            problems.append(f"<#{channel_id}> belongs to another ticket than {topic!r}")

    # 2. No ticket exists twice: one record per request, one channel per record.
    problems += [f"{n} records for topic {topic!r}" for topic, n in topics.items() if n > 1]
    channel_topics = Counter(c.topic for c in witness.ticket_channels().values())
    problems += [f"{n} channels for {topic!r}" for topic, n in channel_topics.items() if n > 1]

    # 3. No ticket channel without its record, no live record without its channel.
    for channel_id, channel in witness.ticket_channels().items():
        ticket = by_channel.get(str(channel_id))
        alive = place.discord.channel(channel_id) is not None
        if ticket is None:
            problems.append(f"channel {channel_id} ({channel.topic}) has no ticket record")
        elif alive and ticket.state == "closed":
            problems.append(f"ticket #{ticket.number} is closed but its channel is still there")
    for ticket in tickets:
        if ticket.state in {"opening", "open", "closing"}:
            problems.append(f"ticket #{ticket.number} left {ticket.state} ({ticket.channel_id})")

    # 4. Every due auto-close fired once: one summary to the member, one log entry.
    dms: Counter[int] = Counter()
    for member in place.members:
        dm = place.discord.world.find_dm(place.app.bot_user.id, member.id)
        if dm is not None:
            dms += closing_summaries(place, dm.id)
    logged = closing_summaries(place, place.logs.id)
    for ticket in tickets:
        if ticket.state != "closed" or ticket.channel_id is None:
            continue
        if dms[ticket.number] != 1 or logged[ticket.number] != 1:
            problems.append(
                f"ticket #{ticket.number} closed ({ticket.closed_by}) with "
                f"{dms[ticket.number]} DM summaries and {logged[ticket.number]} log entries"
            )
    assert not problems, "\n".join(problems)


def seed_from_env(default: int | None = None) -> int:
    """TICKETS_CRASH_SEED replays a run; otherwise a fresh seed, printed by the caller."""
    raw = os.environ.get("TICKETS_CRASH_SEED")
    if raw:
        return int(raw)
    return default if default is not None else random.SystemRandom().randrange(1 << 32)


@dataclass
class Scenario:
    """How much load, how many kills."""

    ops: int
    kills: int
    workers: int = 6
    # A seeded pause before each restart, in which timers come due with no bot.
    max_down_s: float = 3.0


class Killer:
    """Kills a process at seeded operation counts and starts it again."""

    def __init__(
        self,
        kill: Callable[[], Awaitable[None]],
        restart: Callable[[], Awaitable[None]],
        scenario: Scenario,
        rng: random.Random,
    ) -> None:
        self.kill = kill
        self.restart = restart
        self.kills = 0
        # Past the first few operations, so every kill lands under load.
        self.at = sorted(rng.sample(range(10, scenario.ops), scenario.kills))
        self.pauses = [rng.uniform(0, scenario.max_down_s) for _ in self.at]
        # How far into the operations in flight the kill lands: not only between them.
        self.delays = [rng.uniform(0, 0.5) for _ in self.at]
        self._lock = asyncio.Lock()

    async def on_op(self, index: int) -> None:
        """Called before operation ``index``; the other workers carry on meanwhile."""
        if index not in self.at:
            return
        n = self.at.index(index)
        async with self._lock:
            await asyncio.sleep(self.delays[n])
            await self.kill()
            self.kills += 1
            await asyncio.sleep(self.pauses[n])
            await self.restart()
