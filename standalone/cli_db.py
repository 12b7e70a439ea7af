"""``tickets db serve``: share the embedded database with other local processes.

The server's code is imported when the command runs: ``cli`` registers this
module in every process, ``tickets run`` too.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from standalone.config import Config, ConfigError, load_config
from standalone.db import DatabaseError, open_database
from standalone.db.listen import DEFAULT_MAX_FRAME, is_loopback, parse_listen
from standalone.observability.logs import setup_logging

if TYPE_CHECKING:
    from standalone.db.server import DatabaseServer

EXIT_USAGE = 2

log = logging.getLogger(__name__)


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


async def serve_until_signal(
    config: Config,
    host: str,
    port: int,
    *,
    max_frame: int = DEFAULT_MAX_FRAME,
    on_ready: Callable[[DatabaseServer], None] | None = None,
) -> None:
    """Open the configured database (taking its lock) and serve it until SIGINT or SIGTERM."""
    from standalone.db.server import Credentials, DatabaseServer

    settings = config.database
    credentials = Credentials(username=settings.username, password=settings.password)
    db = await open_database(settings.url, namespace=settings.namespace, database=settings.database)
    try:
        assert db.engine is not None  # the caller checked the URL is embedded
        server = DatabaseServer(
            db.engine,
            namespace=settings.namespace,
            database=settings.database,
            credentials=credentials,
            max_frame=max_frame,
        )
        await server.start(host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            if on_ready is not None:
                on_ready(server)
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await server.close()
    finally:
        await db.close()


def serve(
    listen: Annotated[
        str | None,
        typer.Option(help="host:port to listen on (default: database.listen)."),
    ] = None,
    max_frame: Annotated[
        int, typer.Option(help="Largest request in bytes; a larger one closes its connection.")
    ] = DEFAULT_MAX_FRAME,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML config file (default: ./tickets.toml)."),
    ] = None,
) -> None:
    """Serve the embedded database to local processes as SurrealDB (ws://) until Ctrl-C."""
    try:
        settings = load_config(config)
    except ConfigError as exc:
        raise _fail(f"invalid configuration: {exc}") from None
    database = settings.database
    if database.url.startswith(("ws:", "wss:")):
        raise _fail(f"database.url is a server already ({database.url}); serve an embedded one")
    if not (database.username and database.password):
        raise _fail(
            "set database.username and database.password (or TICKETS__DATABASE__USERNAME "
            "and TICKETS__DATABASE__PASSWORD): the server lets no one in without them"
        )
    address = listen or database.listen
    if not address:
        raise _fail("say where to listen: --listen 127.0.0.1:8000, or database.listen")
    try:
        host, port = parse_listen(address)
    except ValueError as exc:
        raise _fail(f"--listen: {exc}") from None
    if max_frame <= 0:
        raise _fail(f"--max-frame must be positive, got {max_frame}")
    setup_logging("INFO")
    if not is_loopback(host):
        log.warning("listening on %s: queries and passwords cross the network unencrypted", host)

    def ready(server: DatabaseServer) -> None:
        typer.echo(f"serving {database.url} at {server.url}", err=True)

    try:
        asyncio.run(serve_until_signal(settings, host, port, max_frame=max_frame, on_ready=ready))
    except DatabaseError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot listen on {address}: {exc}", code=1) from None
