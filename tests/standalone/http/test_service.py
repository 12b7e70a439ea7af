"""The http service hosted by the all-in-one runner when ``http.enabled`` is set."""

from __future__ import annotations

import aiohttp
import pytest

from standalone.db.tenants import TenantRepository
from standalone.services.aio import AioRunner, open_backends

from .conftest import http_config


@pytest.mark.parametrize("enabled", [True, False])
async def test_the_aio_runner_hosts_http_when_enabled(tmp_path, discord, enabled):
    config = http_config(tmp_path, discord, TICKETS__HTTP__ENABLED=str(enabled).lower())
    backends = await open_backends(config)
    runner = AioRunner(config, backends, services=())
    try:
        await runner.start()
        if not enabled:
            assert runner.http is None
            return
        assert runner.http is not None
        url = runner.http.url
        async with aiohttp.ClientSession() as session, session.get(f"{url}/healthz") as resp:
            assert resp.status == 200
        await runner.stop()
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectionError):
                async with session.get(f"{url}/healthz"):
                    pass
    finally:
        await runner.stop()
        await backends.close()


async def test_the_http_service_is_a_valid_interactions_endpoint(tmp_path, discord):
    """Discord checks the URL with a signed PING (PONG) and a forged one (401)."""
    config = http_config(tmp_path, discord, TICKETS__HTTP__ENABLED="true")
    backends = await open_backends(config)
    app = discord.add_application("Web")
    await TenantRepository(backends.db, backends.cipher).add("web", app.token, str(app.id))
    runner = AioRunner(config, backends, services=())
    try:
        await runner.start()
        assert runner.http is not None
        await discord.set_interactions_endpoint(app.id, f"{runner.http.url}/interactions/web")
        assert app.interactions_endpoint_url == f"{runner.http.url}/interactions/web"
    finally:
        await runner.stop()
        await backends.close()
