"""``tickets run``: the bot on the configured backends, until a signal.

Apart from the command-line framework: the ``tickets`` console script
(``standalone.entry``) starts a plain ``tickets run [--config PATH]`` here
without loading typer, which would stay in the bot's memory for nothing (with
the pydantic models it checks parameters with, about 6 MiB of an idle bot).
``cli.py``'s ``run`` command calls the same function.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import sys
from pathlib import Path
from typing import Any

from standalone.config import Config, ConfigError, load_config
from standalone.crypto import CryptoError
from standalone.db import DatabaseError
from standalone.db.tenants import TenantError, TenantRepository
from standalone.observability.logs import configure_logging
from standalone.services.errors import StartupError
from storage.ports import StorageError

EXIT_USAGE = 2
EXIT_FAILED = 1
DEFAULT_TENANT = "default"
MISSING_BOT = (
    "no bot token: set DISCORD_TOKEN (or discord.token in tickets.toml), "
    "or add a bot with 'tickets tenants add'"
)


class RunFailed(Exception):
    """The bot could not run; ``code`` is the exit status, the message what to tell."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def application_id_from_token(token: str) -> str | None:
    """A bot token starts with its user id in base64; for bots that is the application id."""
    head = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(head + "=" * (-len(head) % 4), validate=False).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded if decoded.isdigit() else None


async def adopt_token(tenants: TenantRepository, token: str) -> None:
    """The configured token is the tenant "default"; a changed token replaces the old."""
    existing = await tenants.get(DEFAULT_TENANT)
    if existing is None:
        app_id = application_id_from_token(token)
        if app_id is None:
            raise TenantError(
                "cannot read the application id from the token; "
                "add the bot with 'tickets tenants add NAME --application-id ID'"
            )
        await tenants.add(DEFAULT_TENANT, token, app_id)
    elif tenants.token(existing) != token.strip():
        await tenants.set_token(DEFAULT_TENANT, token)


async def serve(settings: Config, **runner: Any) -> None:
    """Open the backends, adopt the configured token, run until a signal.

    ``runner`` goes to ``AioRunner`` (``services`` and ``instance`` for ``tickets
    serve``); raises ``RunFailed`` when there is no bot or none could start.
    """
    # Imported here: a configuration error never needs the bot loaded.
    from standalone.services.aio import AioRunner, open_backends

    backends = await open_backends(settings)
    try:
        tenants = TenantRepository(backends.db, backends.cipher)
        if token := settings.discord.token:
            await adopt_token(tenants, token)
        if not await tenants.list():
            raise RunFailed(MISSING_BOT)
        bot = AioRunner(settings, backends, **runner)
        await bot.run_until_signal()
        if bot.failures:
            raise RunFailed("; ".join(bot.failures), code=EXIT_FAILED)
    finally:
        await backends.close()


def run_bot(config_path: Path | None) -> None:
    """Run every tenant's gateway, worker and scheduler until SIGINT or SIGTERM.

    Raises ``RunFailed`` with the exit status and what to say when it cannot.
    """
    try:
        settings = load_config(config_path)
    except ConfigError as exc:
        raise RunFailed(f"invalid configuration: {exc}") from None
    configure_logging(settings)
    try:
        asyncio.run(serve(settings))
    except (TenantError, CryptoError, DatabaseError, StorageError) as exc:
        raise RunFailed(str(exc)) from None
    except (StartupError, ConnectionError) as exc:
        raise RunFailed(str(exc), code=EXIT_FAILED) from None


def report(failure: RunFailed) -> None:
    """``error: …`` on stderr, in red on a terminal (as the typer commands say it)."""
    line = f"error: {failure}"
    if sys.stderr.isatty():
        line = f"\x1b[31m{line}\x1b[0m"
    print(line, file=sys.stderr)
