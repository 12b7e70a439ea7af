"""``tickets run`` with ``database.serve``: one command runs the bot and shares its database."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

import pytest

from emulation.discord import FakeDiscord
from tests.e2e.conftest import TIMEOUT
from tests.test_cli import ROOT, command_line, tickets

CREDENTIALS = {
    "TICKETS__DATABASE__USERNAME": "bot",
    "TICKETS__DATABASE__PASSWORD": "s3cret-enough",
}


@pytest.mark.timeout(120)
async def test_another_process_joins_the_database_tickets_run_serves(tmp_path: Path) -> None:
    async with FakeDiscord() as discord:
        app = discord.add_application()
        guild = discord.add_guild()
        discord.install(app.id, guild.id)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS")}
        env.update(
            CREDENTIALS,
            PYTHONPATH=str(ROOT),
            DISCORD_TOKEN=app.token,
            TICKETS__DISCORD__API_BASE=discord.api_base,
            TICKETS__DATABASE__SERVE="true",
            TICKETS__DATABASE__LISTEN="127.0.0.1:0",
        )
        process = await asyncio.create_subprocess_exec(
            *command_line(),
            "run",
            cwd=tmp_path,
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        lines: list[str] = []
        served = asyncio.get_running_loop().create_future()

        async def read_log() -> None:
            # Drained to the end, so a chatty log never blocks the bot on a full pipe.
            assert process.stderr is not None
            async for raw in process.stderr:
                line = raw.decode(errors="replace")
                lines.append(line)
                # A JSON log line (stderr is a pipe): the URL ends at its closing quote.
                found = re.search(r"serving the database at (ws://[^\s\"]+)", line)
                if found and not served.done():
                    served.set_result(found[1])

        reader = asyncio.create_task(read_log())
        try:
            async with asyncio.timeout(TIMEOUT):
                url = await served
            joined = {**CREDENTIALS, "TICKETS__DATABASE__URL": url}
            # The tenant `tickets run` adopted from DISCORD_TOKEN, read by another process.
            listed = await asyncio.to_thread(tickets, "tenants", "list", cwd=tmp_path, env=joined)
            assert listed.returncode == 0, listed.stderr
            assert listed.stdout.startswith(f"default\tapplication {app.id}")
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(TIMEOUT):
                await process.wait()
                await reader
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            reader.cancel()
        log = "".join(lines)
        assert process.returncode == 0, log
        assert "Traceback" not in log
