"""The database contract runs on every engine the URL can pick that runs here."""

from __future__ import annotations

import pytest

from standalone.db import open_database


@pytest.fixture(params=["mem", "surrealkv"])
async def db(request, tmp_path):
    url = "mem://" if request.param == "mem" else f"surrealkv://{tmp_path / 'db'}"
    database = await open_database(url)
    yield database
    await database.close()
