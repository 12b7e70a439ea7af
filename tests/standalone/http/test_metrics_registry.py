"""The http service's /metrics shows the process registry: the bot's metrics are there too."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from standalone.observability import metrics

from .conftest import Portal


async def test_metrics_of_the_process_are_served_by_the_http_service(portal: Portal):
    metrics.tickets_opened.labels("http-metrics-test").inc(2)
    async with aiohttp.ClientSession() as session, session.get(f"{portal.base}/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    families = {family.name for family in text_string_to_metric_families(text)}
    for name in (
        "tickets_gateway_events",
        "tickets_stream_lag_seconds",
        "tickets_interaction_callback_seconds",
        "tickets_rest_requests",
        "tickets_rest_rate_limited",
        "tickets_opened",
        "tickets_closed",
        "tickets_shard_lease_changes",
    ):
        assert name in families, name
    assert 'tickets_opened_total{tenant="http-metrics-test"} 2.0' in text
