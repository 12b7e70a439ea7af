"""The embedded engine's settings that the bot chooses for it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from standalone.db import open_database
from standalone.db.connection import VALUE_CACHE_BYTES, VALUE_CACHE_ENV


async def test_an_embedded_folder_bounds_the_engines_value_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Unset, the engine sizes it from the machine's memory (gigabytes on a server).
    monkeypatch.delenv(VALUE_CACHE_ENV, raising=False)
    db = await open_database(f"surrealkv://{tmp_path / 'db'}")
    await db.close()
    assert os.environ[VALUE_CACHE_ENV] == str(VALUE_CACHE_BYTES)


async def test_the_operators_value_cache_size_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VALUE_CACHE_ENV, "268435456")
    db = await open_database(f"surrealkv://{tmp_path / 'db'}")
    await db.close()
    assert os.environ[VALUE_CACHE_ENV] == "268435456"


async def test_a_database_in_memory_leaves_the_environment_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(VALUE_CACHE_ENV, raising=False)
    db = await open_database("mem://")
    await db.close()
    assert VALUE_CACHE_ENV not in os.environ
