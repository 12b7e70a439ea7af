"""CLI for the http service: ``tickets serve http`` and ``tickets tenants set-oauth``.

``register(serve_app)`` adds ``http`` to the ``serve`` sub-app; ``register_tenants``
adds ``set-oauth`` to ``tickets tenants``.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from standalone.config import Config, ConfigError, load_config
from standalone.crypto import CryptoError, load_cipher
from standalone.db import DatabaseError, open_database
from standalone.db.tenants import TenantError, TenantRepository
from standalone.observability.logs import configure_logging
from standalone.services.errors import StartupError

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML config file (default: ./tickets.toml if present)."),
]
EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise _fail(f"invalid configuration: {exc}") from None


def serve_http(config: ConfigOption = None) -> None:
    """Serve the dashboard, the JSON API, /metrics, /healthz and /readyz until Ctrl-C."""
    from standalone.http.service import run_http
    from standalone.services.aio import open_backends

    settings = _config(config)
    configure_logging(settings)

    async def main() -> None:
        backends = await open_backends(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        started = asyncio.Event()
        try:
            await run_http(settings, backends, stop, started)
        finally:
            await backends.close()

    try:
        asyncio.run(main())
    except (CryptoError, DatabaseError) as exc:
        raise _fail(str(exc)) from None
    except (StartupError, ConnectionError) as exc:
        raise _fail(str(exc), code=1) from None


def set_oauth(
    name: Annotated[str, typer.Argument(help="The tenant ('tickets tenants list').")],
    client_secret: Annotated[
        str | None,
        typer.Option(
            help="OAuth2 client secret from Discord's developer portal (default: asked for).",
            envvar="DISCORD_CLIENT_SECRET",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Store a bot's OAuth2 client secret (encrypted), so people can log in to the dashboard."""
    settings = _config(config)
    if client_secret is None:
        client_secret = typer.prompt("OAuth2 client secret", hide_input=True)

    async def main() -> str:
        db = await open_database(
            settings.database.url,
            namespace=settings.database.namespace,
            database=settings.database.database,
            username=settings.database.username,
            password=settings.database.password,
        )
        try:
            repo = TenantRepository(db, load_cipher(settings.security.key_file))
            await repo.set_oauth_secret(name, client_secret)
            tenant = await repo.get(name)
            assert tenant is not None
            return tenant.application_id
        finally:
            await db.close()

    try:
        app_id = asyncio.run(main())
    except (TenantError, CryptoError, DatabaseError) as exc:
        raise _fail(str(exc)) from None
    base = settings.http.base_url
    typer.echo(
        f"stored the OAuth2 secret of {name} (client id {app_id}); add "
        f"{base}/t/{name}/auth/callback as a redirect in Discord's developer portal"
    )


def register(serve_app: typer.Typer, name: str = "http") -> None:
    """Add ``serve http``."""
    serve_app.command(name)(serve_http)


def register_tenants(tenants_app: typer.Typer) -> None:
    """Add ``tenants set-oauth``."""
    tenants_app.command("set-oauth")(set_oauth)
