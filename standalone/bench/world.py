"""The stand-in's side of a benchmark: bots, guilds, staff, categories, and the config file.

The first ``bots`` tenants carry the load; the others only stand idle, for the
memory figures. Each load tenant's guilds get as many ticket categories as a panel
holds, each in its own Discord category, so thousands of opens fit under Discord's
50 channels per category. Several load bots share the load the way a deployment of
several bots does: each has Discord's global limit of 50 requests a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulation.discord import FakeDiscord
from standalone.crypto import load_cipher
from standalone.db import Database
from standalone.db.settings import MAX_CATEGORIES, SettingsRepository
from standalone.db.tenants import TenantRepository

MANAGE_GUILD = 1 << 5
PER_CATEGORY = 45  # tickets per category, below Discord's 50 channels per category
DB_USER = "bench"
DB_PASSWORD = "bench-local-password"  # noqa: S105  # loopback only, thrown away after


@dataclass
class Place:
    """One guild of a load tenant: staff, a support channel, its panel once posted."""

    tenant: str
    app: Any
    guild: Any
    role: Any
    staff: Any
    channel: Any
    panel: Any = None
    buttons: list[str] = field(default_factory=list)


@dataclass
class Tenant:
    name: str
    app: Any
    places: list[Place] = field(default_factory=list)


@dataclass
class BenchWorld:
    """Bots and guilds at the stand-in; the first ``bots`` tenants carry the load."""

    discord: FakeDiscord
    tenants: list[Tenant]
    categories_per_guild: int = MAX_CATEGORIES
    bots: int = 1

    @property
    def loads(self) -> list[Tenant]:
        return self.tenants[: self.bots]

    @property
    def places(self) -> list[Place]:
        """Every load tenant's guilds, taking turns, so consecutive actions go to different bots."""
        per_bot = [tenant.places for tenant in self.loads]
        return [
            places[n]
            for n in range(max(map(len, per_bot)))
            for places in per_bot
            if n < len(places)
        ]

    def ready(self) -> bool:
        """Every bot's gateway sessions connected and its commands registered."""
        for tenant in self.tenants:
            sessions = self.discord.gateway.sessions_of(tenant.app.id)
            if not sessions or not all(s.conn for s in sessions):
                return False
            if not self.discord.commands(tenant.app.id):
                return False
        return True

    def events_sent(self) -> int:
        """Gateway events the stand-in has dispatched to the load bots so far."""
        return sum(self.events_per_bot())

    def events_per_bot(self) -> list[int]:
        """The same, for each load bot."""
        return [
            sum(s.seq for s in self.discord.gateway.sessions_of(tenant.app.id))
            for tenant in self.loads
        ]


def build_world(
    discord: FakeDiscord,
    *,
    tenants: int,
    guilds: int,
    prefix: str,
    with_categories: bool,
    bots: int = 1,
) -> BenchWorld:
    """``tenants`` bots with one guild each; the first ``bots`` get ``guilds`` guilds each."""
    made = []
    for n in range(tenants):
        app = discord.add_application(name=f"Bench {n}")
        tenant = Tenant(name=f"{prefix}{n}", app=app)
        for g in range(guilds if n < bots else 1):
            guild = discord.add_guild(name=f"Server {n}-{g}")
            role = discord.add_role(guild.id, name="Staff", permissions=MANAGE_GUILD)
            staff = discord.add_member(guild.id, username=f"staff{n}-{g}", roles=[role.id])
            channel = discord.add_channel(guild.id, name="support")
            discord.install(app.id, guild.id)
            tenant.places.append(
                Place(tenant.name, app, guild=guild, role=role, staff=staff, channel=channel)
            )
        made.append(tenant)
    world = BenchWorld(discord=discord, tenants=made, bots=bots)
    if not with_categories:
        world.categories_per_guild = 0
    return world


async def seed(db: Database, key_file: Path, world: BenchWorld) -> None:
    """Add every bot as a tenant, and the load tenants' categories, straight to the database."""
    cipher = load_cipher(key_file)
    tenants = TenantRepository(db, cipher)
    for tenant in world.tenants:
        await tenants.add(tenant.name, tenant.app.token, str(tenant.app.id))
    for place in world.places:
        settings = SettingsRepository(db, place.tenant)
        for n in range(world.categories_per_guild):
            parent = world.discord.add_channel(place.guild.id, name=f"tickets-{n}", type=4)
            await settings.create_category(
                str(place.guild.id),
                f"Kind {n}",
                staff_roles=[str(place.role.id)],
                discord_category=str(parent.id),
            )


def write_config(
    path: Path,
    *,
    api_base: str,
    database_url: str,
    coordination_url: str,
    serve_database_on: int | None = None,
) -> None:
    """The TOML every bot process of the benchmark reads."""
    serve = (
        f'serve = true\nlisten = "127.0.0.1:{serve_database_on}"\n'
        if serve_database_on is not None
        else ""
    )
    folder = path.parent
    path.write_text(
        f"""
[discord]
api_base = "{api_base}"

[database]
url = "{database_url}"
username = "{DB_USER}"
password = "{DB_PASSWORD}"
{serve}
[storage]
url = "file://{folder / "objects"}"

[coordination]
url = "{coordination_url}"

[security]
key_file = "{folder / "secret.key"}"

[logging]
level = "WARNING"
""",
        encoding="utf-8",
    )
