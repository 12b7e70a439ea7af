"""``tickets bench load``: the bot under open-loop load, against issue 9's targets.

The benchmark's code (the Discord stand-in, rich's tables) is imported when the
command runs: ``cli`` registers this module in every process, ``tickets run`` too,
whose idle memory it would otherwise hold.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated

import msgspec
import typer

app = typer.Typer(help="Measure the bot under load (stand-in Discord, real processes).")


@app.command("load")
def load(
    mode: Annotated[
        str, typer.Option(help="aio: one 'tickets run'; multi: 'tickets serve' processes.")
    ] = "aio",
    coordination: Annotated[
        str, typer.Option(help="multi only: unix (a 'tickets emulation serve') or redis.")
    ] = "unix",
    rate: Annotated[float, typer.Option(help="Commands and buttons per second.")] = 200.0,
    duration: Annotated[float, typer.Option(help="Seconds of each timed phase.")] = 60.0,
    opens_rate: Annotated[float, typer.Option(help="Ticket opens per second.")] = 50.0,
    bots: Annotated[
        int,
        typer.Option(
            help="Bots the load is spread over (Discord allows each 50 requests a second)."
        ),
    ] = 1,
    tenants: Annotated[int, typer.Option(help="Idle tenants for the memory figure.")] = 100,
    messages: Annotated[
        int, typer.Option(help="Messages written in tickets, to archive.")
    ] = 20_000,
    messages_rate: Annotated[float, typer.Option(help="Messages sent per second.")] = 5_000.0,
    idle: Annotated[bool, typer.Option(help="Also measure cold start and idle memory.")] = True,
    keep: Annotated[
        Path | None,
        typer.Option(help="Keep the bot's data and logs in this (new) folder."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Also write the table as JSON to this file.")
    ] = None,
) -> None:
    """Drive simulated members at fixed rates and print each figure against its target."""
    from rich.console import Console

    from standalone.bench.report import MISS, Report
    from standalone.bench.run import Options, run_bench

    if mode not in ("aio", "multi"):
        raise _fail(f"--mode must be aio or multi, got {mode!r}")
    if coordination not in ("unix", "redis"):
        raise _fail(f"--coordination must be unix or redis, got {coordination!r}")
    if mode == "aio" and coordination != "unix":
        raise _fail("--coordination is for --mode multi; aio runs on its embedded defaults")
    redis_url = os.environ.get("VALKEY_URL", "")
    if coordination == "redis" and not redis_url:
        raise _fail("--coordination redis needs VALKEY_URL, for example redis://127.0.0.1:6379/15")
    for name, value in (
        ("rate", rate),
        ("opens-rate", opens_rate),
        ("messages-rate", messages_rate),
    ):
        if value < 0:
            raise _fail(f"--{name} must not be negative, got {value:g}")
    if keep is not None and keep.exists():
        raise _fail(f"--keep {keep}: the folder exists already; name a new one")
    if duration <= 0 or tenants < 1 or messages < 0 or (messages and messages_rate <= 0):
        raise _fail("--duration and --tenants must be positive, --messages not negative")
    if bots < 1:
        raise _fail(f"--bots must be at least 1, got {bots}")
    options = Options(
        mode=mode,  # type: ignore[arg-type]  # checked above
        coordination=coordination,  # type: ignore[arg-type]
        redis_url=redis_url,
        rate=rate,
        duration=duration,
        opens_rate=opens_rate,
        bots=bots,
        tenants=tenants,
        messages=messages,
        messages_rate=messages_rate,
        idle=idle,
        folder=keep,
    )
    command = "tickets " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    table = Report(
        mode=mode, coordination="memory" if mode == "aio" else coordination, command=command
    )
    # The stand-in logs every refused request; the table says what matters.
    logging.basicConfig(level=logging.ERROR)
    console = Console(width=max(160, Console().width))
    try:
        asyncio.run(run_bench(options, table))
    except (RuntimeError, TimeoutError, OSError) as exc:
        table.print(console)  # what was measured before it failed
        raise _fail(f"benchmark failed: {exc}", code=1) from None
    table.print(console)
    console.print(f"command: {command}")
    if report is not None:
        report.write_bytes(json.dumps(msgspec.to_builtins(table), indent=1).encode())
    missed = [row.metric for row in table.rows if row.result == MISS]
    if missed:
        console.print(f"missed: {', '.join(missed)}")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)
