"""The whole bot in aio mode with its http service, in front of the Discord stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulation.discord import FakeDiscord
from standalone.config import Config, load_config
from standalone.db.tenants import TenantRepository
from standalone.services.aio import AioRunner, Backends, open_backends
from tests.e2e.conftest import World, make_world


def dashboard_config(tmp_path: Path, discord: FakeDiscord) -> Config:
    return load_config(
        environ={
            "TICKETS__DISCORD__API_BASE": discord.api_base,
            "TICKETS__DATABASE__URL": "mem://",
            "TICKETS__STORAGE__URL": f"file://{tmp_path / 'objects'}",
            "TICKETS__SECURITY__KEY_FILE": str(tmp_path / "secret.key"),
            "TICKETS__WORKER__CLAIM_INTERVAL_MS": "50",
            "TICKETS__SCHEDULER__INTERVAL_MS": "30",
            "TICKETS__HTTP__ENABLED": "true",
            "TICKETS__HTTP__LISTEN": "127.0.0.1:0",
        }
    )


@dataclass
class Dashboard:
    """A running bot with one tenant, its world in the stand-in, and the dashboard's URL."""

    discord: FakeDiscord
    world: World
    backends: Backends
    runner: AioRunner

    @property
    def url(self) -> str:
        assert self.runner.http is not None
        return f"{self.runner.http.url}/t/{self.world.tenant}"

    def guild_url(self, section: str) -> str:
        return f"{self.url}/guilds/{self.world.guild.id}/{section}"


@asynccontextmanager
async def running_dashboard(tmp_path: Path, discord: FakeDiscord) -> AsyncIterator[Dashboard]:
    world = make_world(discord, "web")
    config = dashboard_config(tmp_path, discord)
    backends = await open_backends(config)
    runner: AioRunner | None = None
    try:
        tenants = TenantRepository(backends.db, backends.cipher)
        await tenants.add(world.tenant, world.app.token, str(world.app.id))
        await tenants.set_oauth_secret(world.tenant, discord.oauth.client_secret(world.app.id))
        runner = AioRunner(config, backends, instance="browser")
        await runner.start()
        yield Dashboard(discord, world, backends, runner)
    finally:
        if runner is not None:
            await runner.stop()
        await backends.close()


async def log_in(page: Any, dashboard: Dashboard, user: Any) -> None:
    """Click through the stand-in's consent page as ``user``, back to the server list."""
    await page.goto(dashboard.url + "/")
    await page.click("#login")
    await page.click(f'button[data-user="{user.username}"]')
    await page.wait_for_url(dashboard.url + "/")
