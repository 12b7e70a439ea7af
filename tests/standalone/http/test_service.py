"""The http service hosted by the all-in-one runner when ``http.enabled`` is set."""

from __future__ import annotations

import aiohttp
import pytest

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
