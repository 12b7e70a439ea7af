"""The stand-in's side of a benchmark: bots, guilds, staff, categories, and the config file.

One tenant (the first) carries the load; the others only stand idle, for the memory
figures. The load tenant's guilds each get as many ticket categories as a panel
holds, each in its own Discord category, so thousands of opens fit under Discord's
50 channels per category.
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
    """One guild of the load tenant: staff, a support channel, its panel once posted."""

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
    """Bots and guilds at the stand-in; ``tenants[0]`` carries the load."""

    discord: FakeDiscord
    tenants: list[Tenant]
    categories_per_guild: int = MAX_CATEGORIES

    @property
    def load(self) -> Tenant:
        return self.tenants[0]

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
        """Gateway events the stand-in has dispatched to the load bot so far."""
        return sum(s.seq for s in self.discord.gateway.sessions_of(self.load.app.id))


def build_world(
    discord: FakeDiscord, *, tenants: int, guilds: int, prefix: str, with_categories: bool
) -> BenchWorld:
    """``tenants`` bots with one guild each; the first gets ``guilds`` guilds."""
    made = []
    for n in range(tenants):
        app = discord.add_application(name=f"Bench {n}")
        tenant = Tenant(name=f"{prefix}{n}", app=app)
        for g in range(guilds if n == 0 else 1):
            guild = discord.add_guild(name=f"Server {n}-{g}")
            role = discord.add_role(guild.id, name="Staff", permissions=MANAGE_GUILD)
            staff = discord.add_member(guild.id, username=f"staff{n}-{g}", roles=[role.id])
            channel = discord.add_channel(guild.id, name="support")
            discord.install(app.id, guild.id)
            tenant.places.append(Place(guild=guild, role=role, staff=staff, channel=channel))
        made.append(tenant)
    world = BenchWorld(discord=discord, tenants=made)
    if not with_categories:
        world.categories_per_guild = 0
    return world


async def seed(db: Database, key_file: Path, world: BenchWorld) -> None:
    """Add every bot as a tenant, and the load tenant's categories, straight to the database."""
    cipher = load_cipher(key_file)
    tenants = TenantRepository(db, cipher)
    for tenant in world.tenants:
        await tenants.add(tenant.name, tenant.app.token, str(tenant.app.id))
    settings = SettingsRepository(db, world.load.name)
    for place in world.load.places:
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
