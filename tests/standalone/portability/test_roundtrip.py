"""An export imports into another guild or deployment with everything a person sees intact."""

from __future__ import annotations

import zipfile
from pathlib import Path

import msgspec
import pytest

from standalone.db.tickets import TicketRepository
from standalone.portability import GuildExport, PortabilityError, export_to_file, import_guild
from tests.standalone.portability.conftest import (
    TAG_TABLE,
    Instance,
    close_instance,
    fill_guild,
    open_instance,
    snapshot,
    state,
)
from tests.storage.conftest import s3_endpoint as s3_endpoint  # the moto server on loopback


async def export(inst: Instance, tenant: str, guild: str, path: Path) -> list[tuple[int, int]]:
    steps: list[tuple[int, int]] = []
    job = GuildExport(
        inst.db,
        inst.store,
        inst.cipher,
        tenant=tenant,
        guild_id=guild,
        progress=lambda d, t: steps.append((d, t)),
    )
    await export_to_file(job, path)
    return steps


def assert_complete(steps: list[tuple[int, int]]) -> None:
    assert steps, "no progress was reported"
    dones = [done for done, _ in steps]
    assert dones == sorted(dones), "progress went backwards"
    assert all(done <= total for done, total in steps)
    assert steps[-1][0] == steps[-1][1] > 0


def moved_copy(view: dict, source_guild: str) -> dict:
    """What the import into another guild makes of the other server's channels and
    roles (cleared) and of tickets that were still open (closed)."""
    view["guild"].update(log_channel=None, blocked_roles=[])
    for category in view["categories"].values():
        category.update(discord_category=None, thread_channel=None)
        category.update(staff_roles=[], ping_roles=[], required_roles=[], blocked_roles=[])
    for ticket in view["tickets"].values():
        ticket["channel_id"] = f"{ticket['channel_id']}@200"
        if ticket["state"] != "closed":
            ticket["state"] = "closed"
            ticket["closed_by"] = ticket["closed_by"] or "system"
            ticket["close_reason"] = (
                ticket["close_reason"] or f"imported from server {source_guild} while open"
            )
            ticket["close_request"] = None
    return view


async def test_round_trip_between_two_guilds_of_one_tenant(
    source: Instance, tmp_path: Path
) -> None:
    await fill_guild(source, "alpha", "100")
    before = await snapshot(source, "alpha", "100")
    before_again = await snapshot(source, "alpha", "100")
    path = tmp_path / "guild.zip"
    steps = await export(source, "alpha", "100", path)
    assert_complete(steps)

    imported: list[tuple[int, int]] = []
    manifest = await import_guild(
        source.db,
        source.store,
        source.cipher,
        path,
        tenant="alpha",
        guild_id="200",
        progress=lambda d, t: imported.append((d, t)),
    )
    assert_complete(imported)
    assert manifest.source.guild_id == "100"
    assert manifest.tables["ticket"] == 6

    after = await snapshot(source, "alpha", "200")
    was_open = [n for n, t in before["tickets"].items() if t["state"] != "closed"]
    assert was_open == [2, 3, 5, 6]
    for number in was_open:
        assert after["tickets"][number]["closed_at"] is not None
        after["tickets"][number]["closed_at"] = None
    assert after == moved_copy(before, "100")
    # The source guild is untouched, and the copy answers to no event of the source's.
    assert await snapshot(source, "alpha", "100") == before_again
    repo = TicketRepository(source.db, "alpha")
    assert (await repo.by_interaction("100-i1")).guild_id == "100"  # type: ignore[union-attr]
    assert (await repo.by_channel("551")).guild_id == "100"  # type: ignore[union-attr]


async def test_round_trip_between_two_deployments_keeps_open_tickets(
    source: Instance, target: Instance, tmp_path: Path
) -> None:
    await fill_guild(source, "alpha", "100")
    before = await snapshot(source, "alpha", "100")
    path = tmp_path / "guild.zip"
    await export(source, "alpha", "100", path)

    # Another deployment, another key, another tenant name: the same server moves over.
    await import_guild(target.db, target.store, target.cipher, path, tenant="beta", guild_id="100")
    assert await snapshot(target, "beta", "100") == before
    timers = await target.db.one("SELECT * FROM timer WHERE tenant = 'beta';")
    assert [t["number"] for t in timers] == [2, 5]
    # The moved tickets keep answering to their channels' events.
    assert await TicketRepository(target.db, "beta").by_channel("551") is not None


async def test_transcripts_survive_byte_for_byte(
    source: Instance, target: Instance, tmp_path: Path
) -> None:
    await fill_guild(source, "alpha", "100")
    path = tmp_path / "guild.zip"
    await export(source, "alpha", "100", path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert "objects/transcripts/1.html" in names
        assert archive.read("objects/transcripts/1.html") == b"<html>ticket 0</html>"
        # Content is in the archive decrypted: it is the server's data, for any key.
        assert b"topic 0 \\u2713" in archive.read("tables/ticket.jsonl") or (
            "topic 0 ✓".encode() in archive.read("tables/ticket.jsonl")
        )
    await import_guild(target.db, target.store, target.cipher, path, tenant="alpha", guild_id="300")
    tickets = (await snapshot(target, "alpha", "300"))["tickets"]
    assert tickets[1]["transcript"] == b"<html>ticket 0</html>"
    assert tickets[4]["transcript_text"] == b"ticket 3\n" * 100


async def test_import_into_a_guild_in_use_is_refused(source: Instance, tmp_path: Path) -> None:
    await fill_guild(source, "alpha", "100")
    await fill_guild(source, "alpha", "200", tickets=1)
    before = await snapshot(source, "alpha", "200")
    path = tmp_path / "guild.zip"
    await export(source, "alpha", "100", path)
    with pytest.raises(PortabilityError, match="already has category"):
        await import_guild(
            source.db, source.store, source.cipher, path, tenant="alpha", guild_id="200"
        )
    assert await snapshot(source, "alpha", "200") == before


async def test_a_guild_with_only_settings_takes_the_archives_and_a_missing_table_exports_empty(
    tmp_path: Path,
) -> None:
    old = await open_instance(tmp_path / "old", tags=False)
    new = await open_instance(tmp_path / "new")
    try:
        await fill_guild_without_tags(old)
        path = tmp_path / "guild.zip"
        await export(old, "alpha", "100", path)
        with zipfile.ZipFile(path) as archive:
            manifest = msgspec.json.decode(archive.read("manifest.json"))
        assert "tag" not in manifest["tables"]
        from standalone.db.settings import SettingsRepository

        await SettingsRepository(new.db, "alpha").update_guild(
            "100", locale="de", log_channel="555"
        )
        await new.db.run("UPDATE guild SET next_number = 40;")
        await import_guild(new.db, new.store, new.cipher, path, tenant="alpha", guild_id="100")
        view = await snapshot(new, "alpha", "100")
        # Replaced, not merged: the archive had no log channel.
        assert view["guild"]["locale"] == "en-GB"
        assert view["guild"]["log_channel"] is None
        number = await new.db.one("SELECT VALUE next_number FROM ONLY guild:['alpha', '100'];")
        assert number == 40  # numbers given out here stay taken
        assert view["guild"]["footer"] == "Our footer"
        assert view["tags"] == []
    finally:
        await close_instance(old)
        await close_instance(new)


async def fill_guild_without_tags(inst: Instance) -> None:
    from standalone.db.settings import SettingsRepository

    settings = SettingsRepository(inst.db, "alpha")
    await settings.update_guild("100", footer="Our footer")
    category = await settings.create_category("100", "Support")
    await TicketRepository(inst.db, "alpha").create("100", category.key, "7", "i1", None)


async def test_empty_guild_exports_and_imports(
    source: Instance, target: Instance, tmp_path: Path
) -> None:
    path = tmp_path / "guild.zip"
    steps = await export(source, "alpha", "999", path)
    assert steps[-1] == (0, 0)
    before = await state(target)
    await import_guild(target.db, target.store, target.cipher, path, tenant="alpha", guild_id="999")
    assert await state(target) == before


async def test_an_export_that_cannot_be_written_says_where_and_leaves_no_file(
    source: Instance, tmp_path: Path
) -> None:
    await fill_guild(source, "alpha", "100", tickets=1)
    job = GuildExport(source.db, source.store, source.cipher, tenant="alpha", guild_id="100")
    with pytest.raises(PortabilityError, match="cannot write"):
        await export_to_file(job, tmp_path / "missing" / "guild.zip")
    assert not (tmp_path / "missing").exists()


async def test_a_deployment_on_s3_takes_and_gives_the_same_guild(
    source: Instance, tmp_path: Path, s3_endpoint: str
) -> None:
    from standalone.db import open_database
    from tests.storage import conftest as s3

    await fill_guild(source, "alpha", "100")
    before = await snapshot(source, "alpha", "100")
    path = tmp_path / "guild.zip"
    await export(source, "alpha", "100", path)
    store = s3.s3_store(s3_endpoint, s3.new_bucket())
    await store.create_bucket()
    cloud = Instance(await open_database("mem://"), store, source.cipher)
    try:
        await cloud.db.run(TAG_TABLE)
        await import_guild(
            cloud.db, cloud.store, cloud.cipher, path, tenant="alpha", guild_id="100"
        )
        assert await snapshot(cloud, "alpha", "100") == before
        again = tmp_path / "again.zip"
        await export(cloud, "alpha", "100", again)
        with zipfile.ZipFile(path) as first, zipfile.ZipFile(again) as second:
            for name in ("objects/transcripts/1.html", "objects/transcripts/4.txt"):
                assert first.read(name) == second.read(name)
    finally:
        await close_instance(cloud)
