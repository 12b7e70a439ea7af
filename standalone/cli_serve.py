"""``tickets serve …`` (one service per process) and ``tickets gateway drain``.

Every service process reads the same configuration as ``tickets run`` and builds
its service through ``AioRunner``, the composition root, so the all-in-one mode
and separate processes cannot drift apart. Run as many copies of each as wanted,
each with its own ``--instance`` name (default: host and process id).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from standalone.observability.logs import configure_logging

serve_app = typer.Typer(
    help="Run one service in this process; start several processes to scale out.",
    no_args_is_help=True,
)
gateway_app = typer.Typer(help="Operate gateway instances.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML config file (default: ./tickets.toml if present)."),
]
InstanceOption = Annotated[
    str | None,
    typer.Option(help="This instance's name among its peers (default: host-pid)."),
]


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``gateway`` to the ``tickets`` command."""
    # Services of other areas register themselves on ``serve_app`` here, each with
    # a ``register(serve_app)`` of its own module: ``serve interceptor``
    # (standalone.cli_interceptor) and ``serve http`` (the dashboard API).
    from standalone import cli_interceptor

    cli_interceptor.register(serve_app)
    app.add_typer(serve_app, name="serve")
    app.add_typer(gateway_app, name="gateway")


def _serve(service: str, config: Path | None, instance: str | None) -> None:
    # cli imports this module to register it; by the time a command runs it is loaded.
    from cli import _config, _fail, _run
    from standalone.cli_run import RunFailed, serve
    from standalone.services.aio import default_instance

    settings = _config(config)
    configure_logging(settings)
    name = instance or default_instance()

    async def main() -> None:
        logging.getLogger(__name__).info("%s %s starting", service, name)
        try:
            await serve(settings, services=(service,), instance=name)
        except RunFailed as failure:
            raise _fail(str(failure), code=failure.code) from None

    _run(main)


@serve_app.command("gateway")
def serve_gateway(config: ConfigOption = None, instance: InstanceOption = None) -> None:
    """Run the shards this instance can lease, for every bot, until SIGTERM or a drain."""
    _serve("gateway", config, instance)


@serve_app.command("worker")
def serve_worker(config: ConfigOption = None, instance: InstanceOption = None) -> None:
    """Handle events from the stream; SIGTERM finishes the events in hand."""
    _serve("worker", config, instance)


@serve_app.command("scheduler")
def serve_scheduler(config: ConfigOption = None, instance: InstanceOption = None) -> None:
    """Fire due timers (one instance per bot at a time, by lease)."""
    _serve("scheduler", config, instance)


@gateway_app.command("drain")
def gateway_drain(
    instance: Annotated[str, typer.Option(help="The gateway instance to drain.")],
    config: ConfigOption = None,
) -> None:
    """Ask one gateway instance to hand its shards to the others and exit."""
    from cli import _config, _fail, _run
    from emulation.connect import connect_coordination
    from standalone import keys
    from standalone.wire import DrainRequest, encode_drain

    settings = _config(config)
    if settings.coordination.url.startswith("memory://"):
        raise _fail("coordination.url is memory://: gateways of other processes cannot hear it")

    async def main() -> int:
        coordination = await connect_coordination(settings.coordination.url)
        try:
            return await coordination.pubsub.publish(
                keys.gateway_drain(instance), encode_drain(DrainRequest(instance=instance))
            )
        finally:
            await coordination.close()

    if not _run(main):
        raise _fail(f"no gateway instance named {instance!r} is listening", code=1)
    typer.echo(f"asked gateway {instance} to hand its shards over")
