"""The database contract runs on every engine the URL can pick that runs here.

``served`` is a ``ws://`` client of ``tickets db serve``'s server, sharing an
embedded ``surrealkv://`` folder: what the bot's other processes use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from standalone.db import Database, open_database
from standalone.db.server import Credentials, DatabaseServer

USER = "tickets"
PASSWORD = "correct horse battery staple"


@asynccontextmanager
async def serving(folder: Path, **options: int) -> AsyncIterator[DatabaseServer]:
    """A database server on a free loopback port, over an embedded folder."""
    host = await open_database(f"surrealkv://{folder}")
    assert host.engine is not None
    server = DatabaseServer(
        host.engine,
        namespace="tickets",
        database="main",
        credentials=Credentials(username=USER, password=PASSWORD),
        **options,
    )
    try:
        await server.start("127.0.0.1", 0)
        yield server
    finally:
        await server.close()
        await host.close()


@pytest.fixture(params=["mem", "surrealkv", "served"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "served":
        async with serving(tmp_path / "db") as server:
            database = await open_database(server.url, username=USER, password=PASSWORD)
            yield database
            await database.close()
        return
    url = "mem://" if request.param == "mem" else f"surrealkv://{tmp_path / 'db'}"
    database = await open_database(url)
    yield database
    await database.close()
