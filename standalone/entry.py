"""The ``tickets`` console script (also ``python -m standalone``).

A plain ``tickets run [--config PATH]`` starts the bot here, without loading the
command-line framework: typer, and the pydantic models it checks parameters
with, would stay in the bot's memory for its whole life (about 6 MiB of an idle
bot, whose target is 80 MB). Everything else, ``tickets run --help`` and any
unusual spelling of the arguments included, goes to the typer app in ``cli.py``,
which parses and reports as it always did.
"""

from __future__ import annotations

import sys
from pathlib import Path

from standalone.cli_run import RunFailed, report, run_bot

CONFIG_OPTIONS = ("--config", "-c")


class PlainRun:
    """``tickets run`` with at most its config file."""

    def __init__(self, config: Path | None) -> None:
        self.config = config


def plain_run(args: list[str]) -> PlainRun | None:
    """``run``, ``run --config PATH``, ``run -c PATH`` or ``run --config=PATH``; else None."""
    if not args or args[0] != "run":
        return None
    rest = args[1:]
    if not rest:
        return PlainRun(None)
    if len(rest) == 2 and rest[0] in CONFIG_OPTIONS:
        value = rest[1]
    elif len(rest) == 1 and rest[0].startswith("--config="):
        value = rest[0].removeprefix("--config=")
    else:
        return None
    # An empty or option-like value is typer's to judge (and to explain).
    if not value or value.startswith("-"):
        return None
    return PlainRun(Path(value))


def main() -> None:
    """Run the ``tickets`` command with ``sys.argv``."""
    plain = plain_run(sys.argv[1:])
    if plain is None:
        from cli import app

        app()
        return
    try:
        run_bot(plain.config)
    except RunFailed as failure:
        report(failure)
        sys.exit(failure.code)
