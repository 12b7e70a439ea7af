"""What the composition root does with the backends it opens, besides opening them."""

from __future__ import annotations

from pathlib import Path

from standalone.config import load_config
from standalone.services.aio import open_backends
from tests.storage.test_file_store import leftover


async def test_the_bot_sweeps_crash_leftovers_from_its_file_store_at_start(
    tmp_path: Path,
) -> None:
    objects = tmp_path / "objects"
    old = leftover(objects / "t" / ".tmp-0011223344556677", 7200)
    fresh = leftover(objects / "t" / ".tmp-8899aabbccddeeff", 1)
    config = load_config(
        environ={
            "TICKETS__DATABASE__URL": "mem://",
            "TICKETS__STORAGE__URL": f"file://{objects}",
            "TICKETS__SECURITY__KEY_FILE": str(tmp_path / "secret.key"),
        }
    )
    backends = await open_backends(config)
    try:
        assert not old.exists()
        assert fresh.exists()  # possibly another process's write in progress
        assert await backends.store.list() == []
    finally:
        await backends.close()
