"""``tickets guild export`` and ``tickets guild import``: one server's data as a ZIP.

The portability code is imported when a command runs, not when ``cli`` registers
this module: every ``tickets run`` would otherwise carry it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from standalone.cli_progress import progress_bar
from standalone.config import Config, ConfigError, load_config
from standalone.crypto import Cipher, CryptoError, load_cipher
from standalone.db import Database, DatabaseError, open_database
from standalone.db.tenants import TenantRepository
from storage.ports import ObjectStore, StorageError

if TYPE_CHECKING:
    from standalone.portability import Manifest

app = typer.Typer(
    help="Export a server's tickets and settings, or import them.", no_args_is_help=True
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML config file (default: ./tickets.toml if present)."),
]
TenantOption = Annotated[str, typer.Option("--tenant", help="The bot (tenant) the server uses.")]
T = TypeVar("T")
EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise _fail(f"invalid configuration: {exc}") from None


def _with_backends(
    settings: Config, tenant: str, action: Callable[[Database, ObjectStore, Cipher], Awaitable[T]]
) -> T:
    """Run ``action`` with the configured database, store and key, for an existing tenant."""
    from standalone.portability import PortabilityError
    from standalone.services.aio import open_configured_store

    async def main() -> T:
        cipher = load_cipher(settings.security.key_file)
        store = open_configured_store(settings)
        try:
            db = await open_database(
                settings.database.url,
                namespace=settings.database.namespace,
                database=settings.database.database,
                username=settings.database.username,
                password=settings.database.password,
            )
            try:
                if await TenantRepository(db, cipher).get(tenant) is None:
                    raise PortabilityError(
                        f"no tenant named {tenant!r} (see 'tickets tenants list')"
                    )
                return await action(db, store, cipher)
            finally:
                await db.close()
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except (PortabilityError, CryptoError, DatabaseError, StorageError) as exc:
        raise _fail(str(exc), code=1) from None


def _guild_id(value: str) -> str:
    if not value.isdigit() or len(value) > 20:
        raise _fail(f"guild id {value!r} is not a Discord id (digits)")
    return value


def _summary(manifest: Manifest) -> str:
    return (
        f"{manifest.records} records and {manifest.objects} stored objects "
        f"({manifest.object_bytes} bytes)"
    )


@app.command("export")
def guild_export(
    guild_id: Annotated[str, typer.Argument(help="The server (guild) id.")],
    tenant: TenantOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="The ZIP file to write.")],
    config: ConfigOption = None,
) -> None:
    """Write one server's settings, categories, tags and tickets with transcripts to a ZIP."""
    from standalone.portability import GuildExport, export_to_file

    settings = _config(config)
    guild = _guild_id(guild_id)
    if output.is_dir():
        raise _fail(f"{output} is a folder; name the ZIP file to write")

    async def action(db: Database, store: ObjectStore, cipher: Cipher) -> Manifest:
        with progress_bar("exporting") as progress:
            job = GuildExport(db, store, cipher, tenant=tenant, guild_id=guild, progress=progress)
            return await export_to_file(job, output)

    manifest = _with_backends(settings, tenant, action)
    typer.echo(f"exported {_summary(manifest)} of guild {guild} to {output}")
    typer.echo(
        "note: ticket content is in the file decrypted; keep it as safe as the server itself",
        err=True,
    )


@app.command("import")
def guild_import(
    file: Annotated[Path, typer.Argument(help="A ZIP made by 'tickets guild export'.")],
    tenant: TenantOption,
    guild_id: Annotated[str, typer.Option("--guild", help="The server (guild) id to import into.")],
    clean: Annotated[
        bool,
        typer.Option(
            "--clean-up",
            help="First remove what an interrupted import into this server left behind.",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Load an export into a server without categories, tags or tickets (all or nothing)."""
    from standalone.portability import clean_up, import_guild

    settings = _config(config)
    guild = _guild_id(guild_id)
    if not file.is_file():
        raise _fail(f"{file} is not a file")

    async def action(db: Database, store: ObjectStore, cipher: Cipher) -> Manifest:
        if clean and await clean_up(db, store, cipher, tenant=tenant, guild_id=guild):
            typer.echo(f"removed what an interrupted import into guild {guild} left", err=True)
        with progress_bar("importing") as progress:
            return await import_guild(
                db, store, cipher, file, tenant=tenant, guild_id=guild, progress=progress
            )

    manifest = _with_backends(settings, tenant, action)
    typer.echo(
        f"imported {_summary(manifest)} from guild {manifest.source.guild_id} "
        f"into guild {guild} of tenant {tenant}"
    )
