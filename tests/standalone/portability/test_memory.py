"""Export and import hold a page of records and a chunk of an object, not the guild."""

from __future__ import annotations

import tracemalloc
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from standalone.portability import GuildExport, export_to_file, import_guild
from tests.standalone.portability.conftest import Instance, fill_large


async def peak(action: Awaitable[Any]) -> int:
    """Bytes Python allocated at most while ``action`` ran."""
    tracemalloc.start()
    try:
        await action
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_memory_does_not_grow_with_the_guild(
    source: Instance, target: Instance, tmp_path: Path
) -> None:
    # About 11 MB of content (messages and transcripts); export traced 1.5 MiB here
    # and import 2.3 MiB. bench/portability.py shows them flat as the guild grows.
    data = await fill_large(source, "alpha", "100", tickets=60, messages=40, message_bytes=4000)
    path = tmp_path / "guild.zip"
    job = GuildExport(source.db, source.store, source.cipher, tenant="alpha", guild_id="100")
    exported = await peak(export_to_file(job, path))
    imported = await peak(
        import_guild(target.db, target.store, target.cipher, path, tenant="alpha", guild_id="100")
    )
    assert data > 10 * 2**20
    assert exported < data / 3, f"export peaked at {exported / 2**20:.1f} MiB"
    assert imported < data / 3, f"import peaked at {imported / 2**20:.1f} MiB"
    counted = await target.db.one("SELECT count() FROM archived_message GROUP ALL;")
    assert counted[0]["count"] == 60 * 40
