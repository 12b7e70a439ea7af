"""``tickets serve interceptor``: the REST proxy workers send their Discord calls to."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from standalone.config import ConfigError, load_config
from standalone.observability.logs import configure_logging

EXIT_USAGE = 2


def register(serve_app: typer.Typer) -> None:
    """Add ``interceptor`` to the ``serve`` sub-app."""
    serve_app.command("interceptor")(serve_interceptor)


def serve_interceptor(
    listen: Annotated[
        str, typer.Option("--listen", help="HOST:PORT to listen on, e.g. 127.0.0.1:8780.")
    ] = "127.0.0.1:8780",
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML config file (default: ./tickets.toml)."),
    ] = None,
) -> None:
    """Proxy Discord REST calls for every tenant under shared rate limits, until Ctrl-C."""
    from standalone.crypto import CryptoError
    from standalone.db import DatabaseError
    from standalone.interceptor.run import parse_listen, run_interceptor

    try:
        settings = load_config(config)
        parse_listen(listen)
    except (ConfigError, ValueError) as exc:
        raise _fail(str(exc)) from None
    if not settings.interceptor.secret:
        raise _fail(
            "interceptor.secret is not set (TICKETS__INTERCEPTOR__SECRET): "
            "workers prove who they are with it"
        )
    configure_logging(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def ready(url: str) -> None:
            typer.echo(f"interceptor listening on {url}", err=True)

        await run_interceptor(settings, listen=listen, on_ready=ready, stop=stop)

    try:
        asyncio.run(main())
    except (CryptoError, DatabaseError, OSError) as exc:
        raise _fail(str(exc), code=1) from None


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)
