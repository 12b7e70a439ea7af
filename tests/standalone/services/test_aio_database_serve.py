"""``database.serve``: ``tickets run`` shares its embedded database with other processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from standalone.config import load_config
from standalone.db import open_database
from standalone.services.aio import open_backends
from standalone.services.errors import StartupError


async def test_the_bot_serves_its_database_while_it_runs(tmp_path: Path) -> None:
    config = load_config(
        environ={
            "TICKETS__DATABASE__URL": f"surrealkv://{tmp_path / 'db'}",
            "TICKETS__DATABASE__SERVE": "true",
            "TICKETS__DATABASE__LISTEN": "127.0.0.1:0",
            "TICKETS__DATABASE__USERNAME": "bot",
            "TICKETS__DATABASE__PASSWORD": "s3cret-enough",
            "TICKETS__STORAGE__URL": "memory://",
            "TICKETS__SECURITY__KEY_FILE": str(tmp_path / "secret.key"),
        }
    )
    backends = await open_backends(config)
    try:
        assert backends.db_server is not None
        joined = await open_database(
            backends.db_server.url, username="bot", password="s3cret-enough"
        )
        try:
            await backends.db.run("CREATE note:host SET by = 'host';")
            await joined.run("CREATE note:joined SET by = 'joined';")
            for db in (backends.db, joined):
                assert await db.one("SELECT VALUE by FROM note ORDER BY by;") == ["host", "joined"]
        finally:
            await joined.close()
    finally:
        await backends.close()
    # Closed with the bot: the folder is free and holds both writes.
    reopened = await open_database(f"surrealkv://{tmp_path / 'db'}")
    try:
        assert await reopened.one("SELECT VALUE by FROM note ORDER BY by;") == ["host", "joined"]
    finally:
        await reopened.close()


async def test_a_taken_port_stops_start_up_and_frees_the_database(tmp_path: Path) -> None:
    first = load_config(
        environ={
            "TICKETS__DATABASE__URL": "mem://",
            "TICKETS__DATABASE__SERVE": "true",
            "TICKETS__DATABASE__LISTEN": "127.0.0.1:0",
            "TICKETS__DATABASE__USERNAME": "bot",
            "TICKETS__DATABASE__PASSWORD": "s3cret-enough",
            "TICKETS__STORAGE__URL": "memory://",
            "TICKETS__SECURITY__KEY_FILE": str(tmp_path / "secret.key"),
        }
    )
    running = await open_backends(first)
    try:
        assert running.db_server is not None
        taken = load_config(
            environ={
                "TICKETS__DATABASE__URL": f"surrealkv://{tmp_path / 'db'}",
                "TICKETS__DATABASE__SERVE": "true",
                "TICKETS__DATABASE__LISTEN": f"127.0.0.1:{running.db_server.port}",
                "TICKETS__DATABASE__USERNAME": "bot",
                "TICKETS__DATABASE__PASSWORD": "s3cret-enough",
                "TICKETS__STORAGE__URL": "memory://",
                "TICKETS__SECURITY__KEY_FILE": str(tmp_path / "secret.key"),
            }
        )
        with pytest.raises(StartupError, match=r"database\.serve: cannot listen"):
            await open_backends(taken)
    finally:
        await running.close()
    db = await open_database(f"surrealkv://{tmp_path / 'db'}")  # not left locked
    await db.close()
