"""``tickets db serve`` as people run it: real processes sharing one embedded database."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from standalone.db import open_database
from tests.e2e.conftest import TIMEOUT
from tests.test_cli import ROOT, command_line, tickets

CREDENTIALS = {
    "TICKETS__DATABASE__USERNAME": "bot",
    "TICKETS__DATABASE__PASSWORD": "s3cret-enough",
}

# Writes its note, then waits until the other process's note shows up.
WRITER = """
import asyncio, sys
from standalone.db import open_database

async def main():
    url, me, other = sys.argv[1:4]
    db = await open_database(url, username="bot", password="s3cret-enough")
    await db.run("CREATE type::thing('note', $me) SET by = $me;", {"me": me})
    async with asyncio.timeout(30):
        while not await db.one("SELECT * FROM type::thing('note', $o);", {"o": other}):
            await asyncio.sleep(0.02)
    print("saw", other, flush=True)
    await db.close()

asyncio.run(main())
"""


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS")}
    environ["PYTHONPATH"] = str(ROOT)
    environ.update(extra or {})
    return environ


@asynccontextmanager
async def db_serve(cwd: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """``tickets db serve`` on a free loopback port; yields the process and its ws:// URL."""
    process = await asyncio.create_subprocess_exec(
        *command_line(),
        "db",
        "serve",
        "--listen",
        "127.0.0.1:0",
        cwd=cwd,
        env=environment(CREDENTIALS),
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        async with asyncio.timeout(TIMEOUT):
            while not (line := (await process.stderr.readline()).decode()).startswith("serving"):
                assert line, "the server stopped before serving"
        yield process, line.rsplit(" at ", 1)[1].strip()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_processes_share_one_database_through_db_serve(tmp_path: Path) -> None:
    async with db_serve(tmp_path) as (server, url):
        writers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                WRITER,
                url,
                me,
                other,
                env=environment(),
                stdout=asyncio.subprocess.PIPE,
            )
            for me, other in (("a", "b"), ("b", "a"))
        ]
        outputs = [await writer.communicate() for writer in writers]
        assert [writer.returncode for writer in writers] == [0, 0]
        assert [out.decode().strip() for out, _ in outputs] == ["saw b", "saw a"]

        # The folder stays locked to the server: no second engine on it.
        second = await asyncio.to_thread(
            tickets, "db", "serve", "--listen", "127.0.0.1:0", cwd=tmp_path, env=CREDENTIALS
        )
        assert second.returncode == 2
        assert f"is open in process {server.pid}" in second.stderr

        # Backup and restore go through the server while it serves.
        served = {**CREDENTIALS, "TICKETS__DATABASE__URL": url}
        made = await asyncio.to_thread(
            tickets, "db", "backup", "--key", "_backups/s.tkb", cwd=tmp_path, env=served
        )
        assert made.returncode == 0, made.stderr
        assert "per-record" in made.stdout and "stop the bot" in made.stderr
        copy = {**served, "TICKETS__DATABASE__DATABASE": "copy"}
        restored = await asyncio.to_thread(
            tickets, "db", "restore", "_backups/s.tkb", cwd=tmp_path, env=copy
        )
        assert restored.returncode == 0, restored.stderr
        backed_up = made.stdout.split("backed up ", 1)[1].split(" records", 1)[0]
        assert f"restored {backed_up} records" in restored.stdout
        reader = await open_database(url, database="copy", username="bot", password="s3cret-enough")
        try:
            assert await reader.one("SELECT VALUE by FROM note ORDER BY by;") == ["a", "b"]
        finally:
            await reader.close()

        server.send_signal(signal.SIGTERM)
        assert await server.wait() == 0
    # Stopped, the server let the folder go: an embedded open works again.
    listed = await asyncio.to_thread(tickets, "tenants", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr


def test_db_serve_refuses_to_run_open_to_anyone(tmp_path: Path) -> None:
    cases = [
        ({}, "set database.username and database.password"),
        ({"TICKETS__DATABASE__USERNAME": "bot"}, "set database.username and database.password"),
        ({**CREDENTIALS, "TICKETS__DATABASE__URL": "ws://127.0.0.1:9"}, "a server already"),
    ]
    for env, message in cases:
        result = tickets("db", "serve", "--listen", "127.0.0.1:0", cwd=tmp_path, env=env)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
    unsaid = tickets("db", "serve", cwd=tmp_path, env=CREDENTIALS)
    assert unsaid.returncode == 2 and "--listen" in unsaid.stderr
    bad = tickets("db", "serve", "--listen", "127.0.0.1", cwd=tmp_path, env=CREDENTIALS)
    assert bad.returncode == 2 and "host:port" in bad.stderr
    assert not (tmp_path / "data").exists()  # refused before opening anything
