"""``tickets run`` as its own process, against the stand-in, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from emulation.discord import FakeDiscord
from tests.test_cli import ROOT, command_line


async def wait_for(check, timeout=30.0):
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


@pytest.mark.timeout(90)
async def test_run_serves_a_command_and_stops_cleanly_on_sigterm(tmp_path: Path):
    async with FakeDiscord() as discord:
        app = discord.add_application()
        guild = discord.add_guild()
        role = discord.add_role(guild.id, name="Staff", permissions=1 << 5)
        staff = discord.add_member(guild.id, username="sam", roles=[role.id])
        channel = discord.add_channel(guild.id, name="support")
        discord.install(app.id, guild.id)

        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS")}
        env.update(
            PYTHONPATH=str(ROOT),
            DISCORD_TOKEN=app.token,
            TICKETS__DISCORD__API_BASE=discord.api_base,
        )
        process = await asyncio.create_subprocess_exec(
            *command_line(),
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await wait_for(
                lambda: (
                    any(s.conn for s in discord.gateway.sessions_of(app.id))
                    and discord.commands(app.id)
                )
            )
            inter = await discord.actor(app.id, guild.id, staff.id).slash(
                "panel", {"staff_role": str(role.id)}, channel_id=channel.id
            )
            answer = await inter.followups(count=1, timeout=15)
            assert "Panel posted" in answer[-1]["content"]
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr
        assert not any(s.conn for s in discord.gateway.sessions_of(app.id))
        assert (tmp_path / "data" / "db").exists() and (tmp_path / "data" / "secret.key").exists()
