"""Damaged, hostile and cancelled imports change nothing, and say why."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from standalone.db.settings import SettingsRepository
from standalone.portability import GuildExport, PortabilityError, export_to_file, import_guild
from standalone.portability.format import MAX_LINE_BYTES
from tests.standalone.portability.conftest import Instance, fill_guild, state

Change = Callable[[str, bytes], bytes | None]


@pytest.fixture
async def archive(source: Instance, tmp_path: Path) -> Path:
    await fill_guild(source, "alpha", "100")
    path = tmp_path / "guild.zip"
    await export_to_file(
        GuildExport(source.db, source.store, source.cipher, tenant="alpha", guild_id="100"), path
    )
    return path


def rewrite(
    path: Path,
    out: Path,
    change: Change = lambda name, data: data,
    *,
    extra: dict[str, bytes] | None = None,
    vouch: bool = True,
) -> Path:
    """A copy of the archive with entries changed (None drops one); with ``vouch`` the
    manifest's sizes and checksums are made to match, so only deeper checks can tell."""
    with zipfile.ZipFile(path) as old:
        entries = {name: old.read(name) for name in old.namelist()}
    manifest = msgspec.json.decode(entries.pop("manifest.json"))
    changed = {n: d for n, data in entries.items() if (d := change(n, data)) is not None}
    changed.update(extra or {})
    if vouch:
        for entry in manifest["entries"]:
            data = changed.get(entry["name"], b"")
            entry["size"] = len(data)
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            entry["records"] = data.count(b"\n")
            table = entry["name"].removeprefix("tables/").removesuffix(".jsonl")
            if table in manifest["tables"]:
                manifest["tables"][table] = entry["records"]
    changed["manifest.json"] = change("manifest.json", msgspec.json.encode(manifest)) or b""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in changed.items():
            new.writestr(name, data)
    return out


def read(path: Path) -> bytes:
    return path.read_bytes()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def found(folder: Path, name: str) -> list[Path]:
    return list(folder.rglob(name))


def lines(data: bytes) -> list[dict[str, Any]]:
    return [msgspec.json.decode(line) for line in data.splitlines()]


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(msgspec.json.encode(row) + b"\n" for row in rows)


def edit_table(table: str, edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Change:
    def change(name: str, data: bytes) -> bytes:
        return jsonl(edit(lines(data))) if name == f"tables/{table}.jsonl" else data

    return change


async def refused(target: Instance, path: Path, match: str, guild: str = "200") -> None:
    before = await state(target)
    with pytest.raises(PortabilityError, match=match):
        await import_guild(
            target.db, target.store, target.cipher, path, tenant="alpha", guild_id=guild
        )
    assert await state(target) == before


async def test_a_file_that_is_no_zip_or_cut_short(
    target: Instance, archive: Path, tmp_path: Path
) -> None:
    junk = write(tmp_path / "junk.zip", b"PK\x03\x04 nothing useful")
    await refused(target, junk, "not a guild export")
    whole = read(archive)
    cut = write(tmp_path / "cut.zip", whole[: len(whole) // 2])
    await refused(target, cut, "not a guild export")


async def test_a_damaged_byte_is_found_before_anything_is_written(
    target: Instance, archive: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("tables/ticket.jsonl")
    data = bytearray(read(archive))
    # Inside the ticket table's deflated bytes, past its local header.
    spot = info.header_offset + 30 + len(info.filename) + 20 + info.compress_size // 2
    data[spot] ^= 0xFF
    damaged = write(tmp_path / "damaged.zip", bytes(data))
    await refused(target, damaged, "damaged|not valid|checksum")


async def test_records_changed_behind_the_manifests_back(
    target: Instance, archive: Path, tmp_path: Path
) -> None:
    def topic(name: str, data: bytes) -> bytes:
        # The same size, so only the checksum can tell.
        return data.replace(b"topic 1", b"topic 9") if name == "tables/ticket.jsonl" else data

    changed = rewrite(archive, tmp_path / "changed.zip", topic, vouch=False)
    await refused(target, changed, "checksum")


async def test_a_newer_format_or_an_unknown_table(
    target: Instance, archive: Path, tmp_path: Path
) -> None:
    def newer(name: str, data: bytes) -> bytes:
        return data.replace(b'"format":1', b'"format":99') if name == "manifest.json" else data

    await refused(target, rewrite(archive, tmp_path / "newer.zip", newer), "format 99")

    def unknown(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            return data.replace(b'"tables":{', b'"tables":{"wormhole":0,')
        return data

    await refused(target, rewrite(archive, tmp_path / "unknown.zip", unknown), "wormhole")


async def test_paths_that_climb_out_are_refused(
    target: Instance, archive: Path, tmp_path: Path
) -> None:
    def climb(name: str, data: bytes) -> bytes | None:
        if name == "objects.jsonl":
            rows = lines(data)
            first = next(row for row in rows if row["key"] == "transcripts/1.html")
            first["key"] = "transcripts/../../../escaped"
            return jsonl(rows)
        return None if name == "objects/transcripts/1.html" else data

    evil = rewrite(
        archive,
        tmp_path / "climb.zip",
        climb,
        extra={"objects/transcripts/../../../escaped": b"<html>ticket 0</html>"},
    )
    await refused(target, evil, "not allowed")
    assert not found(tmp_path, "escaped")


async def test_entries_the_manifest_does_not_list(
    target: Instance, archive: Path, tmp_path: Path
) -> None:
    stray = rewrite(archive, tmp_path / "stray.zip", extra={"objects/transcripts/99.html": b"x"})
    await refused(target, stray, "does not list")


async def test_a_zip_bomb_is_refused_unread(
    target: Instance, archive: Path, tmp_path: Path
) -> None:
    bomb = rewrite(
        archive, tmp_path / "bomb.zip", extra={"objects/transcripts/9.html": bytes(64 * 2**20)}
    )
    await refused(target, bomb, "zip bomb")


async def test_an_endless_line_is_refused(target: Instance, archive: Path, tmp_path: Path) -> None:
    def endless(name: str, data: bytes) -> bytes:
        if name == "tables/tag.jsonl":
            # Random, so it does not look like a zip bomb and is read until the limit.
            return b'{"name":"' + base64.b64encode(os.urandom(MAX_LINE_BYTES)) + b'"}\n'
        return data

    await refused(target, rewrite(archive, tmp_path / "long.zip", endless), "over")


async def test_wrong_types_and_broken_references(
    target: Instance, archive: Path, tmp_path: Path
) -> None:
    def wrong_type(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[0]["number"] = "one"
        return rows

    typed = rewrite(archive, tmp_path / "typed.zip", edit_table("ticket", wrong_type))
    await refused(target, typed, r"ticket.jsonl' line 1 is not valid")

    def orphan(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[0]["ticket"] = 404
        return rows

    orphaned = rewrite(archive, tmp_path / "orphan.zip", edit_table("answer", orphan))
    await refused(target, orphaned, "ticket 404, which is not in the archive")

    def twice(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return rows + rows[:1]

    doubled = rewrite(archive, tmp_path / "twice.zip", edit_table("category", twice))
    await refused(target, doubled, "listed twice")
    settings = rewrite(archive, tmp_path / "settings.zip", edit_table("guild", twice))
    await refused(target, settings, "more than one settings record")

    def own_fields(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[0]["tenant"] = "beta"  # would put the record in another tenant
        return rows

    hijack = rewrite(archive, tmp_path / "hijack.zip", edit_table("tag", own_fields))
    await refused(target, hijack, "cannot set")


async def test_a_record_the_database_refuses_undoes_everything_before_it(
    target: Instance, archive: Path, tmp_path: Path
) -> None:
    def bad_state(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[-1]["state"] = "exploded"  # a string, as the archive's type says; the schema says no
        return rows

    path = rewrite(archive, tmp_path / "state.zip", edit_table("ticket", bad_state))
    # The settings the import replaces come back as they were.
    await SettingsRepository(target.db, "alpha").update_guild("100", log_channel="555")
    # Into the same guild id, so tickets keep their state and reach the schema's check.
    await refused(target, path, "nothing was changed", guild="100")


async def test_an_invalid_guild_id_is_refused(target: Instance, archive: Path) -> None:
    await refused(target, archive, "not a Discord id", guild="../100")


@pytest.mark.parametrize("phase", ["records", "objects"])
async def test_a_cancelled_import_leaves_nothing(
    target: Instance, archive: Path, phase: str
) -> None:
    before = await state(target)
    with zipfile.ZipFile(archive) as zf:
        manifest = msgspec.json.decode(zf.read("manifest.json"))
    records, objects = sum(manifest["tables"].values()), manifest["objects"]
    total = 2 * (records + objects)
    # Half the steps are checks; the writes come after, records first, then objects.
    stop_at = total // 2 + (records // 2 if phase == "records" else records + objects // 2)
    task: asyncio.Task[Any] | None = None
    seen: list[int] = []

    def progress(done: int, _total: int) -> None:
        seen.append(done)
        if done >= stop_at and task is not None:
            task.cancel()

    task = asyncio.create_task(
        import_guild(
            target.db,
            target.store,
            target.cipher,
            archive,
            tenant="alpha",
            guild_id="200",
            progress=progress,
        )
    )
    with pytest.raises(asyncio.CancelledError):
        await task
    assert max(seen) >= stop_at  # it was cancelled while writing, not before
    assert await state(target) == before
