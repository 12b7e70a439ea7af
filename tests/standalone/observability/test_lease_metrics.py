"""Shard lease changes in the metrics: taken, handed over, lost to another instance."""

from __future__ import annotations

import asyncio

from emulation.discord import FakeDiscord
from emulation.memory import MemoryCoordination
from standalone import keys
from standalone.config import GatewayConfig
from standalone.observability import metrics
from standalone.services.gateway import GatewayService
from tests.e2e.conftest import eventually

TENANT = "lease-metrics"
SETTINGS = GatewayConfig(lease_ttl_ms=1_500, acquire_interval_ms=50)


def changes(change: str) -> float:
    labels = {"tenant": TENANT, "change": change}
    return metrics.registry.get_sample_value("tickets_shard_lease_changes_total", labels) or 0.0


def events(kind: str) -> float:
    labels = {"tenant": TENANT, "type": kind}
    return metrics.registry.get_sample_value("tickets_gateway_events_total", labels) or 0.0


async def test_lease_changes_and_received_events_are_counted():
    async with FakeDiscord() as discord:
        app = discord.add_application()
        guild = discord.add_guild()
        discord.install(app.id, guild.id)
        coord = MemoryCoordination()
        lease = keys.shard_lease(TENANT, 0)
        before = {c: changes(c) for c in ("acquired", "released", "lost")}
        ready_before = events("READY")
        gateway = GatewayService(
            tenant=TENANT,
            token=app.token,
            api_base=discord.api_base,
            coordination=coord,
            instance="gw-1",
            settings=SETTINGS,
        )
        task = asyncio.create_task(gateway.run())
        try:
            await eventually(lambda: _running(gateway, before["acquired"] + 1))
            assert changes("acquired") == before["acquired"] + 1
            # READY is counted though it is not forwarded to workers.
            await eventually(lambda: _counted(lambda: events("READY") == ready_before + 1))
            # Another instance takes the lease (as after a pause longer than the TTL).
            await coord.leases.release(lease, "gw-1")
            assert await coord.leases.acquire(lease, "intruder", ttl_ms=60_000) is not None
            await eventually(lambda: _counted(lambda: changes("lost") == before["lost"] + 1))
            await coord.leases.release(lease, "intruder")
            await eventually(lambda: _running(gateway, before["acquired"] + 2))
            await gateway.stop()
            await asyncio.wait_for(task, 30)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        assert changes("acquired") == before["acquired"] + 2
        assert changes("released") == before["released"] + 1  # the hand-over on stop
        assert changes("lost") == before["lost"] + 1


async def _running(gateway: GatewayService, acquired: float) -> bool:
    return bool(gateway.held) and changes("acquired") == acquired


async def _counted(check) -> bool:
    return bool(check())
