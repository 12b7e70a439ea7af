"""Each tenant's bot reaches only its own objects, however it names a key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from emulation.memory.cache import MemoryCache
from standalone.crypto import Cipher
from standalone.db import open_database
from standalone.tenant_app import TenantApp
from storage import FileStore, InvalidKey, ObjectNotFound


async def test_one_tenants_code_path_cannot_reach_another_tenants_objects(tmp_path: Path):
    shared = FileStore(tmp_path / "objects")
    db = await open_database("mem://")
    apps = {
        name: TenantApp(
            tenant=name,
            application_id=i + 1,
            token="unused",
            db=db,
            store=shared,
            cache=MemoryCache(),
            cipher=Cipher(Fernet.generate_key()),
        )
        for i, name in enumerate(["alpha", "alphabet"])
    }
    try:
        mine, theirs = apps["alpha"].ctx.store, apps["alphabet"].ctx.store
        await theirs.put("transcripts/1/1.html", b"<p>private</p>", content_type="text/html")
        await mine.put("transcripts/1/1.html", b"<p>alpha's</p>", content_type="text/html")
        assert await shared.list() == [
            "alpha/transcripts/1/1.html",
            "alphabet/transcripts/1/1.html",
        ]

        assert await mine.list() == ["transcripts/1/1.html"]
        assert await mine.list("", start_after="transcripts/1/1.html") == []
        assert await mine.get("transcripts/1/1.html") == b"<p>alpha's</p>"
        for key in ("../alphabet/transcripts/1/1.html", "/alphabet/transcripts/1/1.html"):
            with pytest.raises(InvalidKey):
                await mine.get(key)
            with pytest.raises(InvalidKey):
                await mine.head(key)
            with pytest.raises(InvalidKey):
                await mine.delete(key)
        # "alpha" + "bet/…" would be the neighbour's key if scopes were plain prefixes.
        with pytest.raises(ObjectNotFound):
            await mine.get("bet/transcripts/1/1.html")
        assert await mine.list("bet") == []
        assert await theirs.get("transcripts/1/1.html") == b"<p>private</p>"
    finally:
        for app in apps.values():
            await app.close()
        await db.close()
