"""``tickets guild export`` and ``import`` as a person runs them, between two data folders."""

from __future__ import annotations

from pathlib import Path

from standalone.crypto import load_cipher
from standalone.db import open_database
from storage import FileStore
from tests.standalone.portability.conftest import TAG_TABLE, Instance, fill_guild, snapshot
from tests.test_cli import tickets

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.abc.def"  # base64 of 123456789012345678


async def opened(folder: Path) -> Instance:
    db = await open_database(f"surrealkv://{folder / 'data' / 'db'}")
    await db.run(TAG_TABLE)
    return Instance(
        db, FileStore(folder / "data" / "objects"), load_cipher(folder / "data" / "secret.key")
    )


async def view(folder: Path, tenant: str, guild: str) -> dict:
    inst = await opened(folder)
    try:
        return await snapshot(inst, tenant, guild)
    finally:
        await inst.db.close()


def add_tenant(folder: Path, name: str) -> None:
    added = tickets("tenants", "add", name, "--token", TOKEN, cwd=folder)
    assert added.returncode == 0, added.stderr


async def test_export_from_one_data_folder_and_import_into_another(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    add_tenant(old, "support")
    inst = await opened(old)
    try:
        await fill_guild(inst, "support", "100")
    finally:
        await inst.db.close()
    before = await view(old, "support", "100")

    exported = tickets("guild", "export", "100", "--tenant", "support", "-o", "g.zip", cwd=old)
    assert exported.returncode == 0, exported.stderr
    assert "exported" in exported.stdout and "guild 100" in exported.stdout
    assert "decrypted" in exported.stderr  # the person is told what the file holds

    add_tenant(new, "helpdesk")
    await (await opened(new)).db.close()  # the tag table, until its migration lands
    archive = str(old / "g.zip")
    imported = tickets(
        "guild", "import", archive, "--tenant", "helpdesk", "--guild", "100", cwd=new
    )
    assert imported.returncode == 0, imported.stderr
    assert "imported" in imported.stdout
    assert await view(new, "helpdesk", "100") == before

    again = tickets("guild", "import", archive, "--tenant", "helpdesk", "--guild", "100", cwd=new)
    assert again.returncode == 1
    assert "already has" in again.stderr and "Traceback" not in again.stderr
    assert await view(new, "helpdesk", "100") == before


def test_bad_input_gets_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    add_tenant(tmp_path, "support")
    (tmp_path / "not.zip").write_bytes(b"this is not a zip")
    bad = tickets(
        "guild", "import", "not.zip", "--tenant", "support", "--guild", "100", cwd=tmp_path
    )
    assert bad.returncode == 1
    assert "not a guild export" in bad.stderr and "Traceback" not in bad.stderr

    unknown = tickets("guild", "export", "100", "--tenant", "nobody", "-o", "g.zip", cwd=tmp_path)
    assert unknown.returncode == 1 and "no tenant named 'nobody'" in unknown.stderr
    assert not (tmp_path / "g.zip").exists()

    wrong_id = tickets(
        "guild", "export", "../1", "--tenant", "support", "-o", "g.zip", cwd=tmp_path
    )
    assert wrong_id.returncode == 2 and "not a Discord id" in wrong_id.stderr
    assert not list(tmp_path.glob("*g.zip*"))
