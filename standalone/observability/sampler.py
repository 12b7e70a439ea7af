"""The stream gauges behind ``/metrics``: each tenant's event stream, sampled on a timer.

Apart from the ``/metrics`` server: every gateway and worker samples its streams,
served or not, and needs none of aiohttp's server for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from emulation.ports import Streams
from standalone import keys
from standalone.observability import metrics

log = logging.getLogger(__name__)

# pending() lists entries one by one; past this many the gauge says "at least".
PENDING_CAP = 1000


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
