"""Two gateway and two worker processes: drain and kill -9 a gateway under load.

Select with ``-m scaleout``. The coordination backend is a ``tickets emulation
serve`` process (Unix socket) or, marked ``valkey``, the Redis at VALKEY_URL.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emulation.discord import FakeDiscord
from tests.e2e.conftest import eventually
from tests.e2e.scale_out import LEASE_TTL_MS, SHARDS, Deployment, child_env
from tests.emulation.unix_procs import ServerProcess

pytestmark = [pytest.mark.scaleout, pytest.mark.timeout(180)]
VALKEY_REQUIRED = os.environ.get("TICKETS_REQUIRE_VALKEY") == "1"


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


async def _unix(tmp_path: Path) -> AsyncIterator[str]:
    server = ServerProcess(tmp_path / "coord.sock")
    await server.start()
    try:
        yield f"unix://{tmp_path / 'coord.sock'}"
    finally:
        await server.stop()


async def _valkey(tmp_path: Path) -> AsyncIterator[str]:
    url = os.environ.get("VALKEY_URL", "")
    if not url:
        if VALKEY_REQUIRED:
            pytest.fail("VALKEY_URL is not set, and CI requires the valkey tests to run")
        pytest.skip("VALKEY_URL is not set")
    yield url


@pytest.fixture(params=["unix", pytest.param("valkey", marks=pytest.mark.valkey)])
async def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, discord: FakeDiscord
) -> AsyncIterator[Deployment]:
    backend = _unix if request.param == "unix" else _valkey
    async for url in backend(tmp_path):
        # A fresh tenant keeps a shared Redis's other runs out of this one.
        built = Deployment(discord, tmp_path, url, f"t{uuid.uuid4().hex[:8]}")
        try:
            await built.prepare()
            yield built
        finally:
            await built.close()


async def start_two_and_two(deployment: Deployment) -> tuple[str, str]:
    """gw-a holds every shard before gw-b starts, so there is something to hand over."""
    suffix = uuid.uuid4().hex[:6]
    first, second = f"gw-a-{suffix}", f"gw-b-{suffix}"
    await deployment.start("worker", f"wk-a-{suffix}")
    await deployment.start("worker", f"wk-b-{suffix}")
    await deployment.start("gateway", first)
    await deployment.until_held_by(first)
    await deployment.start("gateway", second)
    await deployment.until_commands()
    probe = await deployment.send(0)
    await deployment.until_all_answered([probe])
    return first, second


async def drain(deployment: Deployment, instance: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "gateway",
        "drain",
        "--instance",
        instance,
        "--config",
        str(deployment.config),
        env=child_env({}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, output.decode()


async def under_load(deployment: Deployment, interactions: int) -> asyncio.Event:
    """Start the steady stream; returns once ``interactions`` more were sent."""
    stop = asyncio.Event()
    before = len(deployment.sent)
    task = asyncio.create_task(deployment.steady_load(stop))
    deployment.load_task = task  # type: ignore[attr-defined]

    async def sent_enough() -> bool:
        if task.done():
            task.result()
        return len(deployment.sent) >= before + interactions

    await eventually(sent_enough)
    return stop


async def under_load_more(deployment: Deployment, more: int) -> None:
    """Wait until the running stream sent ``more`` interactions."""
    target = len(deployment.sent) + more

    async def sent_enough() -> bool:
        return len(deployment.sent) >= target

    await eventually(sent_enough)


async def settle(deployment: Deployment, stop: asyncio.Event, more: int) -> None:
    """Let ``more`` interactions through after the fault, then stop the stream."""
    target = len(deployment.sent) + more

    async def sent_enough() -> bool:
        return len(deployment.sent) >= target

    await eventually(sent_enough)
    stop.set()
    await deployment.load_task  # type: ignore[attr-defined]


async def test_draining_a_gateway_hands_its_shards_over_without_loss(
    deployment: Deployment,
) -> None:
    first, second = await start_two_and_two(deployment)
    identifies = deployment.identifies()
    stop = await under_load(deployment, 20)

    code, output = await drain(deployment, first)
    assert code == 0, output
    drained = next(p for p in deployment.processes if p.instance == first)
    assert await drained.wait(30) == 0, drained.log()[-4000:]
    await deployment.until_held_by(second)
    await settle(deployment, stop, 20)

    await deployment.until_all_answered(deployment.sent)
    assert all(inter.delivered for inter in deployment.sent)
    deployment.assert_each_handled_once(deployment.sent)
    # The sessions moved: RESUMEd by the other instance, never IDENTIFYd again.
    assert deployment.identifies() == identifies == SHARDS
    assert deployment.resumes() >= SHARDS
    deployment.assert_limits_kept()
    assert "handed over" in drained.log()

    # SIGTERM: the others finish what they hold, hand their shards over and exit cleanly.
    for process in deployment.processes:
        if process.running:
            assert await process.terminate() == 0, process.log()[-4000:]
    assert not deployment.connected_shards()
    assert await deployment.holders() == [None] * SHARDS
    # Closed with 4000, not 1000: the sessions stay for whoever starts next to RESUME.
    assert len(deployment.discord.gateway.sessions_of(deployment.app.id)) == SHARDS


async def test_drain_names_an_instance_that_is_not_there(deployment: Deployment) -> None:
    code, output = await drain(deployment, f"nobody-{uuid.uuid4().hex[:6]}")
    assert code == 1
    assert "no gateway instance named" in output


async def test_a_killed_gateway_s_shards_resume_on_the_other(deployment: Deployment) -> None:
    first, second = await start_two_and_two(deployment)
    identifies = deployment.identifies()
    resumes = deployment.resumes()
    stop = await under_load(deployment, 20)

    killed = next(p for p in deployment.processes if p.instance == first)
    await killed.kill()
    # Within the lease TTL and 5 s, the other instance RESUMEs every shard.
    await deployment.until_held_by(second, timeout=LEASE_TTL_MS / 1000 + 5)
    assert deployment.resumes() >= resumes + SHARDS
    await settle(deployment, stop, 20)

    await deployment.until_all_answered(deployment.sent)
    assert all(inter.delivered for inter in deployment.sent)
    deployment.assert_each_handled_once(deployment.sent)
    assert deployment.identifies() == identifies == SHARDS
    deployment.assert_limits_kept()


async def test_socket_drops_reconnects_and_invalid_sessions_under_load_lose_nothing(
    deployment: Deployment,
) -> None:
    await start_two_and_two(deployment)
    app = deployment.app.id
    discord = deployment.discord
    stop = await under_load(deployment, 10)

    async def resumed_after(before: int) -> None:
        async def check() -> bool:
            deployment.fail_if_exited()
            return deployment.resumes() >= before + SHARDS and deployment.connected_shards() == set(
                range(SHARDS)
            )

        await eventually(check)
        await under_load_more(deployment, 10)

    before = deployment.resumes()
    assert discord.drop_socket(app) == SHARDS
    await resumed_after(before)

    before = deployment.resumes()
    assert await discord.reconnect(app) == SHARDS
    await resumed_after(before)

    before = deployment.resumes()
    assert discord.invalidate_session(app, resumable=True) == SHARDS
    await resumed_after(before)

    # Not resumable: the sessions end, and what Discord sends meanwhile goes to no
    # session at all (``delivered`` 0), as it would on Discord; a new IDENTIFY per shard.
    identifies = deployment.identifies()
    assert discord.invalidate_session(app, resumable=False) == SHARDS

    async def identified() -> bool:
        deployment.fail_if_exited()
        return deployment.identifies() >= identifies + SHARDS and deployment.connected_shards() == (
            set(range(SHARDS))
        )

    await eventually(identified)
    await settle(deployment, stop, 20)

    delivered = [inter for inter in deployment.sent if inter.delivered]
    assert len(delivered) >= 60
    await deployment.until_all_answered(delivered)
    deployment.assert_each_handled_once(delivered)
    deployment.assert_limits_kept()
