"""Reading a guild archive without trusting it.

Every entry is read as a stream and checked against the manifest (size and
SHA-256) when it ends; sizes are checked against limits before anything is
inflated, so a zip bomb is refused unread and a lying entry stops at the size
it declared (zipfile never inflates past it). Entry names are only ever looked
up, never turned into paths, and object keys are checked like every storage key.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import msgspec

from standalone.portability.context import to_store_key
from standalone.portability.format import (
    FORMAT,
    KIND,
    MANIFEST,
    MAX_ENTRIES,
    MAX_LINE_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_OBJECT_BYTES,
    MAX_RATIO,
    OBJECT_INDEX,
    OBJECTS_DIR,
    TABLES_DIR,
    EntryInfo,
    Manifest,
    ObjectEntry,
    PortabilityError,
    object_entry,
    table_entry,
)
from standalone.portability.tables import BY_NAME
from storage.keys import validate_key
from storage.ports import InvalidKey

READ_BYTES = 256 * 1024
_ALLOWED_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
_ENCRYPTED_FLAG = 0x1
# Entries this small cannot hold a bomb worth refusing; their ratio is noise.
_RATIO_FLOOR = 1024 * 1024
# What zipfile and zlib raise for damaged data (a hostile archive may reach any).
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    OSError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    struct.error,
)
_object_index = msgspec.json.Decoder(ObjectEntry)
_manifest = msgspec.json.Decoder(Manifest)


class Archive:
    """An opened archive whose layout and manifest passed the checks; read it with ``rows``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (*_DAMAGED, ValueError) as exc:
            raise PortabilityError(f"{self.path.name} is not a guild export: {exc}") from None
        try:
            self._infos = self._check_layout()
            self.manifest = self._read_manifest()
            self._entries = self._check_entries()
        except BaseException:
            self._zip.close()
            raise

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_layout(self) -> dict[str, zipfile.ZipInfo]:
        infos = self._zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise PortabilityError(f"the archive has {len(infos)} entries (at most {MAX_ENTRIES})")
        by_name: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            if name in by_name:
                raise PortabilityError(f"the archive has two entries named {name!r}")
            if info.flag_bits & _ENCRYPTED_FLAG:
                raise PortabilityError(f"entry {name!r} is encrypted; exports never are")
            if info.compress_type not in _ALLOWED_COMPRESSION:
                raise PortabilityError(f"entry {name!r} uses a compression exports never use")
            if info.file_size > MAX_OBJECT_BYTES and not name.startswith(TABLES_DIR):
                raise PortabilityError(f"entry {name!r} is too large ({info.file_size} bytes)")
            if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(
                info.compress_size, 1
            ):
                raise PortabilityError(f"entry {name!r} inflates too far: a zip bomb?")
            by_name[name] = info
        return by_name

    def _read_manifest(self) -> Manifest:
        info = self._infos.get(MANIFEST)
        if info is None:
            raise PortabilityError("the archive has no manifest.json: it is not a guild export")
        if info.file_size > MAX_MANIFEST_BYTES:
            raise PortabilityError("the archive's manifest is too large")
        try:
            with self._zip.open(info) as raw:
                data = raw.read(MAX_MANIFEST_BYTES + 1)
            manifest = _manifest.decode(data)
        except _DAMAGED as exc:
            raise PortabilityError(f"the archive's manifest is damaged: {exc}") from None
        except msgspec.DecodeError as exc:
            raise PortabilityError(f"the archive's manifest is not valid: {exc}") from None
        if manifest.kind != KIND:
            raise PortabilityError(f"the archive is a {manifest.kind!r}, not a guild export")
        if manifest.format != FORMAT:
            raise PortabilityError(
                f"the archive is export format {manifest.format}; this release reads {FORMAT}"
            )
        unknown = sorted(set(manifest.tables) - set(BY_NAME))
        if unknown:
            raise PortabilityError(
                f"the archive has table(s) this release does not know: {', '.join(unknown)}; "
                "import it with the release that made it or a later one"
            )
        if any(count < 0 for count in manifest.tables.values()) or manifest.objects < 0:
            raise PortabilityError("the archive's manifest has negative counts")
        return manifest

    def _check_entries(self) -> dict[str, EntryInfo]:
        expected = {table_entry(name) for name in self.manifest.tables} | {OBJECT_INDEX}
        entries: dict[str, EntryInfo] = {}
        for entry in self.manifest.entries:
            if entry.name not in expected or entry.name in entries:
                raise PortabilityError(f"the manifest lists an unexpected entry {entry.name!r}")
            info = self._infos.get(entry.name)
            if info is None:
                raise PortabilityError(
                    f"the archive lacks {entry.name!r}, which its manifest lists"
                )
            if info.file_size != entry.size:
                raise PortabilityError(f"{entry.name!r} is not the size its manifest says")
            entries[entry.name] = entry
        if missing := sorted(expected - set(entries)):
            raise PortabilityError(f"the manifest does not vouch for {', '.join(missing)}")
        for name, table in self.manifest.tables.items():
            if entries[table_entry(name)].records != table:
                raise PortabilityError(f"the manifest's counts of {name!r} disagree")
        if entries[OBJECT_INDEX].records != self.manifest.objects:
            raise PortabilityError("the manifest's object counts disagree")
        objects = sum(1 for name in self._infos if name.startswith(OBJECTS_DIR))
        stray = len(self._infos) - objects - len(entries) - 1
        if objects != self.manifest.objects or stray:
            raise PortabilityError("the archive holds entries its manifest does not list")
        return entries

    def _lines(self, name: str) -> Iterator[bytes]:
        """The entry's lines, checked against the manifest once the last one is read."""
        entry = self._entries[name]
        digest = hashlib.sha256()
        size = lines = 0
        try:
            with self._zip.open(self._infos[name]) as raw:
                while line := raw.readline(MAX_LINE_BYTES + 1):
                    digest.update(line)
                    size += len(line)
                    if not line.endswith(b"\n"):
                        if len(line) > MAX_LINE_BYTES:
                            raise PortabilityError(
                                f"{name!r} has a record of over {MAX_LINE_BYTES} bytes"
                            )
                        raise PortabilityError(f"{name!r} is cut short")
                    lines += 1
                    yield line
        except _DAMAGED as exc:
            raise PortabilityError(f"{name!r} is damaged: {exc}") from None
        if size != entry.size or digest.hexdigest() != entry.sha256 or lines != entry.records:
            raise PortabilityError(f"{name!r} does not match its checksum: the archive is damaged")

    def rows(self, table: str) -> Iterator[tuple[Any, int]]:
        """The archived records of a table, decoded and type-checked, each with its size."""
        if table not in self.manifest.tables:
            return
        name = table_entry(table)
        decoder = BY_NAME[table].decoder()
        for number, line in enumerate(self._lines(name), 1):
            try:
                yield decoder.decode(line), len(line)
            except msgspec.DecodeError as exc:
                raise PortabilityError(f"{name!r} line {number} is not valid: {exc}") from None

    def objects(self) -> Iterator[ObjectEntry]:
        """The index of stored objects, each key checked and present in the archive."""
        seen: set[str] = set()
        for number, line in enumerate(self._lines(OBJECT_INDEX), 1):
            try:
                entry = _object_index.decode(line)
            except msgspec.DecodeError as exc:
                raise PortabilityError(
                    f"{OBJECT_INDEX!r} line {number} is not valid: {exc}"
                ) from None
            try:
                # A guild id of digits stands in for the one imported into.
                validate_key(to_store_key(entry.key, "0"))
            except InvalidKey as exc:
                raise PortabilityError(f"object key {entry.key!r} is not allowed: {exc}") from None
            info = self._infos.get(object_entry(entry.key))
            if info is None or entry.key in seen or info.file_size != entry.size:
                raise PortabilityError(f"object {entry.key!r} is missing, repeated or resized")
            if len(entry.content_type) > 255 or not entry.content_type.isprintable():
                raise PortabilityError(f"object {entry.key!r} has an unusable content type")
            seen.add(entry.key)
            yield entry

    def open_object(self, entry: ObjectEntry) -> IO[bytes]:
        return self._zip.open(self._infos[object_entry(entry.key)])

    def object_chunks(self, entry: ObjectEntry) -> Iterator[bytes]:
        """An object's bytes, a chunk at a time; raises at the end if they are not as indexed."""
        digest = hashlib.sha256()
        size = 0
        try:
            with self.open_object(entry) as raw:
                while data := raw.read(READ_BYTES):
                    digest.update(data)
                    size += len(data)
                    yield data
        except _DAMAGED as exc:
            raise PortabilityError(f"object {entry.key!r} is damaged: {exc}") from None
        if size != entry.size or digest.hexdigest() != entry.sha256:
            raise PortabilityError(f"object {entry.key!r} does not match its checksum")
