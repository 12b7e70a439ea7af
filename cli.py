"""The ``tickets`` command: run the bot, play the demo, manage tenants."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from standalone import cli_bench, cli_db, cli_http, cli_serve
from standalone.cli_guild import app as guild_app
from standalone.cli_progress import progress_bar
from standalone.cli_run import RunFailed, application_id_from_token, run_bot
from standalone.config import Config, ConfigError, load_config
from standalone.crypto import CryptoError, load_cipher
from standalone.db import Database, DatabaseError, open_database
from standalone.db.backup_format import BackupError, Header
from standalone.db.tenants import TenantError, TenantRepository
from standalone.observability.logs import setup_logging
from standalone.services.errors import StartupError
from storage.ports import StorageError

app = typer.Typer(help="A standalone, multi-tenant ticket bot for Discord.", no_args_is_help=True)
tenants_app = typer.Typer(help="Bots (tenants) served by this deployment.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
db_app = typer.Typer(help="Back up, restore and serve the database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
db_app.command("serve")(cli_db.serve)
emulation_app = typer.Typer(
    help="The Valkey stand-in, shared by local processes over a Unix socket.",
    no_args_is_help=True,
)
app.add_typer(emulation_app, name="emulation")
cli_serve.register(app)
cli_http.register(cli_serve.serve_app)
cli_http.register_tenants(tenants_app)
app.add_typer(guild_app, name="guild")
app.add_typer(cli_bench.app, name="bench")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML config file (default: ./tickets.toml if present)."),
]
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


def _run(coro: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await coro()

    try:
        return asyncio.run(main())
    except (TenantError, CryptoError, DatabaseError, BackupError, StorageError) as exc:
        raise _fail(str(exc)) from None
    except (StartupError, ConnectionError) as exc:
        raise _fail(str(exc), code=1) from None


@app.command()
def run(config: ConfigOption = None) -> None:
    """Run the bot against Discord with the configured backends, until Ctrl-C."""
    # The console script starts a plain 'tickets run' without typer (standalone/entry.py);
    # both end here.
    try:
        run_bot(config)
    except RunFailed as failure:
        raise _fail(str(failure), code=failure.code) from None


@app.command()
def demo(
    data_dir: Annotated[
        Path, typer.Option(help="Where the demo keeps its database and transcripts.")
    ] = Path("data/demo"),
) -> None:
    """Play a whole ticket against a local Discord: panel, open, messages, close."""
    from standalone.demo import DemoFailed, run_demo

    setup_logging("WARNING")
    try:
        result = asyncio.run(run_demo(data_dir, say=typer.echo))
    except DemoFailed as exc:
        raise _fail(f"demo failed: {exc}", code=1) from None
    typer.secho(f"Demo finished. Transcript: {result}", fg=typer.colors.GREEN)


@tenants_app.command("add")
def tenants_add(
    name: Annotated[str, typer.Argument(help="Short name: lowercase letters, digits, - or _.")],
    token: Annotated[
        str | None,
        typer.Option(
            help="Bot token (default: $DISCORD_TOKEN, else asked for).", envvar="DISCORD_TOKEN"
        ),
    ] = None,
    application_id: Annotated[
        str | None, typer.Option(help="Application id (default: read from the token).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Add a bot; its token is stored encrypted."""
    settings = _config(config)
    if token is None:
        token = typer.prompt("Bot token", hide_input=True)
    app_id = application_id or application_id_from_token(token)
    if app_id is None:
        raise _fail("cannot read the application id from the token; pass --application-id")

    async def main() -> None:
        db = await _open_db(settings)
        try:
            cipher = load_cipher(settings.security.key_file)
            tenant = await TenantRepository(db, cipher).add(name, token, app_id)
        finally:
            await db.close()
        typer.echo(f"added tenant {tenant.name} (application {tenant.application_id})")

    _run(main)


@tenants_app.command("list")
def tenants_list(config: ConfigOption = None) -> None:
    """List the bots, without their tokens."""
    settings = _config(config)

    async def main() -> None:
        db = await _open_db(settings)
        try:
            cipher = load_cipher(settings.security.key_file)
            rows = await TenantRepository(db, cipher).list()
        finally:
            await db.close()
        if not rows:
            typer.echo("no tenants yet: add one with 'tickets tenants add NAME'")
        for tenant in rows:
            added = f"{tenant.created_at:%Y-%m-%d}"
            typer.echo(f"{tenant.name}\tapplication {tenant.application_id}\tadded {added}")

    _run(main)


@tenants_app.command("remove")
def tenants_remove(name: str, config: ConfigOption = None) -> None:
    """Remove a bot from this deployment."""
    settings = _config(config)

    async def main() -> bool:
        db = await _open_db(settings)
        try:
            cipher = load_cipher(settings.security.key_file)
            return await TenantRepository(db, cipher).remove(name)
        finally:
            await db.close()

    if not _run(main):
        raise _fail(f"no tenant named {name!r}", code=1)
    typer.echo(f"removed tenant {name}")


async def _open_db(settings: Config, *, migrate_schema: bool = True) -> Database:
    return await open_database(
        settings.database.url,
        namespace=settings.database.namespace,
        database=settings.database.database,
        username=settings.database.username,
        password=settings.database.password,
        migrate_schema=migrate_schema,
    )


BACKUP_PREFIX = "_backups/"  # tenant names cannot start with "_", so no tenant owns it


@db_app.command("backup")
def db_backup(
    key: Annotated[
        str | None,
        typer.Option(help=f"Object key to write (default: {BACKUP_PREFIX}db-<UTC time>.tkb)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Write a consistent copy of the whole database to the object store."""
    from standalone.db.backup import backup
    from standalone.services.aio import open_configured_store

    settings = _config(config)
    key = key or f"{BACKUP_PREFIX}db-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.tkb"

    async def main() -> Header:
        store = open_configured_store(settings)
        db = await _open_db(settings)
        try:
            with progress_bar("backing up") as progress:
                # An embedded file is locked to this process: nothing else writes.
                quiesced = db.locked_to_this_process
                return await backup(db, store, key, progress=progress, quiesced=quiesced)
        finally:
            await db.close()
            await store.close()

    header = _run(main)
    typer.echo(
        f"backed up {header.records} records (schema version {header.schema_version}, "
        f"{header.consistency}) to {key}"
    )
    if header.consistency != "point-in-time":
        typer.echo(
            "note: this database server keeps no versions, so a record written while the "
            "backup ran may be in it as it was before or after; for a copy of one moment, "
            "stop the bot first",
            err=True,
        )


@db_app.command("restore")
def db_restore(
    key: Annotated[str, typer.Argument(help="Object key of the backup ('tickets db list').")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the records of a non-empty database.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Load a backup into the database (empty, unless --force)."""
    from standalone.db.backup import restore
    from standalone.services.aio import open_configured_store

    settings = _config(config)

    def kept(saved: str) -> None:
        typer.echo(f"the records being replaced are backed up to {saved}", err=True)

    async def main() -> int:
        store = open_configured_store(settings)
        db = await _open_db(settings, migrate_schema=False)
        try:
            with progress_bar("restoring") as progress:
                header = await restore(
                    db, store, key, force=force, progress=progress, replaced=kept
                )
            return header.records
        finally:
            await db.close()
            await store.close()

    records = _run(main)
    typer.echo(f"restored {records} records from {key}")


@db_app.command("list")
def db_list(config: ConfigOption = None) -> None:
    """List the backups in the object store, oldest first."""
    from standalone.services.aio import open_configured_store

    settings = _config(config)

    async def main() -> list[str]:
        store = open_configured_store(settings)
        try:
            lines = []
            for key in await store.list(BACKUP_PREFIX):
                info = await store.head(key)
                # Counted when the backup started (exact for a point-in-time one).
                records = info.metadata.get("records", "?")
                lines.append(f"{key}\t{info.size} bytes\t{records} records\t{info.modified:%c}")
            return lines
        finally:
            await store.close()

    lines = _run(main)
    typer.echo("\n".join(lines) if lines else "no backups yet: make one with 'tickets db backup'")


@emulation_app.command("serve")
def emulation_serve(
    socket: Annotated[Path, typer.Option("--socket", help="Unix socket to listen on (mode 0600).")],
    aof: Annotated[
        Path | None,
        typer.Option(help="Append-only file that keeps streams and leases across restarts."),
    ] = None,
    fsync: Annotated[
        str, typer.Option(help="When the file is synced: always, everysec or no.")
    ] = "everysec",
    max_entries: Annotated[int, typer.Option(help="Cache bound (LRU beyond it).")] = 100_000,
) -> None:
    """Serve cache, streams, leases, pub/sub and counters at unix://SOCKET until Ctrl-C."""
    from emulation.memory.aof import FSYNC_POLICIES
    from emulation.unix.server import serve_until_signal

    if fsync not in FSYNC_POLICIES:
        raise _fail(f"--fsync must be one of {', '.join(FSYNC_POLICIES)}, got {fsync!r}")
    if max_entries <= 0:
        raise _fail(f"--max-entries must be positive, got {max_entries}")
    setup_logging("INFO")

    def ready() -> None:
        typer.echo(f"serving unix://{socket.resolve()}", err=True)

    try:
        asyncio.run(
            serve_until_signal(
                socket,
                aof_path=aof,
                fsync=fsync,  # type: ignore[arg-type]
                max_entries=max_entries,
                on_ready=ready,
            )
        )
    except (RuntimeError, OSError) as exc:
        raise _fail(str(exc), code=1) from None


@app.command("config")
def show_config(config: ConfigOption = None) -> None:
    """Check the configuration and print it, with secrets hidden."""
    import msgspec

    settings = _config(config)
    data = msgspec.to_builtins(settings)
    if data["discord"]["token"]:
        data["discord"]["token"] = "********"  # noqa: S105
    if data["database"]["password"]:
        data["database"]["password"] = "********"  # noqa: S105
    if data["storage"]["secret_access_key"]:
        data["storage"]["secret_access_key"] = "********"  # noqa: S105
    if data["interceptor"]["secret"]:
        data["interceptor"]["secret"] = "********"  # noqa: S105
    typer.echo(msgspec.json.format(msgspec.json.encode(data)).decode())


if __name__ == "__main__":
    app()
