"""``/metrics`` of a service process, and the sampler of the event streams behind it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.exposition import generate_latest

from emulation.ports import Streams
from standalone import keys
from standalone.db.listen import parse_listen
from standalone.observability import metrics

log = logging.getLogger(__name__)

# pending() lists entries one by one; past this many the gauge says "at least".
PENDING_CAP = 1000


async def _metrics(request: web.Request) -> web.Response:
    response = web.Response(body=generate_latest(metrics.registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


class MetricsServer:
    """Serves the process registry at ``http://{listen}/metrics``."""

    def __init__(self, listen: str) -> None:
        self.host, self.port = parse_listen(listen)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        """Listen; raises OSError when the address is taken."""
        app = web.Application()
        app.router.add_get("/metrics", _metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{port}/metrics"
        log.info("metrics on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def sample_streams(
    streams: Streams, tenants: Callable[[], Iterable[str]], interval_s: float
) -> None:
    """Set the length and pending gauges of each tenant's stream, every ``interval_s``."""
    while True:
        for tenant in list(tenants()):
            await sample_stream(streams, tenant)
        await asyncio.sleep(interval_s)


async def sample_stream(streams: Streams, tenant: str) -> None:
    """Sample one tenant's stream once; a backend fault skips this round."""
    stream = keys.events(tenant)
    try:
        length = await streams.length(stream)
        pending = await streams.pending(stream, keys.WORKER_GROUP, count=PENDING_CAP)
    except (OSError, ConnectionError) as exc:
        log.warning("cannot sample the stream of %s: %s", tenant, exc)
        return
    except Exception as exc:  # a group not created yet, in some backends
        log.debug("cannot sample the stream of %s: %r", tenant, exc)
        return
    metrics.stream_length.labels(tenant).set(length)
    metrics.stream_pending.labels(tenant).set(len(pending))
