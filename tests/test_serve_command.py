"""``tickets serve …`` and ``tickets gateway drain`` as commands: usage errors and SIGTERM.

The scale-out behaviour itself is in tests/e2e/test_scale_out.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from emulation.discord import FakeDiscord
from tests.test_cli import ROOT, command_line, tickets


@pytest.mark.parametrize("service", ["gateway", "worker", "scheduler"])
def test_serve_without_a_bot_exits_2_and_says_what_to_set(tmp_path: Path, service: str) -> None:
    result = tickets("serve", service, cwd=tmp_path, env={"TICKETS__DATABASE__URL": "mem://"})
    assert result.returncode == 2, result.stderr
    assert "no bot token" in result.stderr


def test_serve_lists_its_services(tmp_path: Path) -> None:
    result = tickets("serve", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for service in ("gateway", "worker", "scheduler"):
        assert service in result.stdout


def test_drain_needs_a_shared_coordination_backend(tmp_path: Path) -> None:
    result = tickets("gateway", "drain", "--instance", "gw-1", cwd=tmp_path)
    assert result.returncode == 2
    assert "memory://" in result.stderr


def test_drain_refuses_a_bad_config(tmp_path: Path) -> None:
    (tmp_path / "tickets.toml").write_text("[gateway]\nlease_ttl_ms = 0\n", encoding="utf-8")
    result = tickets("gateway", "drain", "--instance", "gw-1", cwd=tmp_path)
    assert result.returncode == 2
    assert "gateway.lease_ttl_ms must be greater than 0" in result.stderr


@pytest.mark.timeout(90)
async def test_serve_scheduler_runs_until_sigterm_and_exits_0(tmp_path: Path) -> None:
    async with FakeDiscord() as discord:
        app = discord.add_application()
        guild = discord.add_guild()
        discord.install(app.id, guild.id)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS")}
        env.update(
            PYTHONPATH=str(ROOT),
            DISCORD_TOKEN=app.token,
            TICKETS__DISCORD__API_BASE=discord.api_base,
            TICKETS__DATABASE__URL="mem://",
        )
        process = await asyncio.create_subprocess_exec(
            *command_line(),
            "serve",
            "scheduler",
            "--instance",
            "sched-1",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(60):
                # The scheduler's bot logged in and registered the commands.
                while not discord.commands(app.id):
                    assert process.returncode is None
                    await asyncio.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 0, stderr.decode()
        assert b"scheduler sched-1 starting" in stderr
        assert b"Traceback" not in stderr
        # A scheduler alone opens no gateway session.
        assert not discord.gateway.sessions_of(app.id)
