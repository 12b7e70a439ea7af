"""An import killed mid-way is refused until cleaned up, and the clean-up leaves nothing."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from standalone.crypto import Cipher
from standalone.db import open_database
from standalone.portability import (
    GuildExport,
    PortabilityError,
    clean_up,
    export_to_file,
    import_guild,
)
from storage import FileStore
from tests.standalone.portability.conftest import TAG_TABLE, Instance, fill_guild, snapshot, state

ROOT = Path(__file__).resolve().parents[3]

# Killed by itself once half of the records are written: a real SIGKILL at a known step.
KILLED_IMPORT = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    from standalone.crypto import load_cipher
    from standalone.db import open_database
    from standalone.portability import import_guild
    from storage import FileStore

    async def main():
        folder = Path(sys.argv[1])
        db = await open_database(f"surrealkv://{folder / 'db'}")
        store = FileStore(folder / "objects")

        def progress(done, total):
            if done >= total // 2 + total // 4:
                os.kill(os.getpid(), signal.SIGKILL)

        await import_guild(db, store, load_cipher(folder / "key"), Path(sys.argv[2]),
                           tenant="alpha", guild_id="200", progress=progress)

    asyncio.run(main())
    """
)


async def test_an_import_killed_mid_way_is_cleaned_up(source: Instance, tmp_path: Path) -> None:
    await fill_guild(source, "alpha", "100")
    archive = tmp_path / "guild.zip"
    job = GuildExport(source.db, source.store, source.cipher, tenant="alpha", guild_id="100")
    await export_to_file(job, archive)
    folder = tmp_path / "target"
    key = Fernet.generate_key()
    db = await open_database(f"surrealkv://{folder / 'db'}")
    await db.run(TAG_TABLE)
    target = Instance(db, FileStore(folder / "objects"), Cipher(key))
    empty = await state(target)
    await db.close()
    (folder / "key").write_bytes(key)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TICKETS_SECRET_KEY", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        KILLED_IMPORT,
        str(folder),
        str(archive),
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == -9, stderr.decode()

    target.db = await open_database(f"surrealkv://{folder / 'db'}")
    try:
        assert (await state(target))["records"] != empty["records"]  # it left records behind
        with pytest.raises(PortabilityError, match="did not finish"):
            await import_guild(
                target.db, target.store, target.cipher, archive, tenant="alpha", guild_id="200"
            )
        assert await clean_up(
            target.db, target.store, target.cipher, tenant="alpha", guild_id="200"
        )
        assert await state(target) == empty
        assert not await clean_up(
            target.db, target.store, target.cipher, tenant="alpha", guild_id="200"
        )
        await import_guild(
            target.db, target.store, target.cipher, archive, tenant="alpha", guild_id="200"
        )
        assert len((await snapshot(target, "alpha", "200"))["tickets"]) == 6
    finally:
        await target.db.close()
