"""The process's Prometheus metrics, all on prometheus_client's process registry.

One registry per process: the http service's ``/metrics`` and the optional
``metrics.listen`` endpoint both expose it. Labels are bounded: tenant names,
event types, route templates, statuses, never a guild, user or channel id.
See docs/observability.md for what each one means.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

registry: CollectorRegistry = REGISTRY

gateway_events = Counter(
    "tickets_gateway_events",
    "Gateway dispatch events received, by tenant and event type.",
    ["tenant", "type"],
    registry=registry,
)
worker_events = Counter(
    "tickets_worker_events",
    "Events a worker finished with, by tenant, type and outcome (handled, retried, dead_lettered).",
    ["tenant", "type", "outcome"],
    registry=registry,
)
stream_length = Gauge(
    "tickets_stream_length",
    "Entries kept in a tenant's event stream (sampled).",
    ["tenant"],
    registry=registry,
)
stream_pending = Gauge(
    "tickets_stream_pending",
    "Entries delivered to workers and not yet acknowledged (sampled; capped).",
    ["tenant"],
    registry=registry,
)
stream_lag = Gauge(
    "tickets_stream_lag_seconds",
    "Age of the newest event a worker took from the stream, when it took it "
    "(0 when the stream was empty).",
    ["tenant"],
    registry=registry,
)
interaction_latency = Histogram(
    "tickets_interaction_callback_seconds",
    "From the moment an interaction entered the event stream to the bot's callback "
    "REST call (Discord allows 3 s).",
    ["tenant"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 10.0),
    registry=registry,
)
rest_requests = Counter(
    "tickets_rest_requests",
    "REST calls of the bot to Discord, by tenant, method, route template and status.",
    ["tenant", "method", "route", "status"],
    registry=registry,
)
rest_latency = Histogram(
    "tickets_rest_request_seconds",
    "Time a REST call to Discord took, by method and route template.",
    ["method", "route"],
    registry=registry,
)
rest_rate_limited = Counter(
    "tickets_rest_rate_limited",
    "429 answers to the bot's REST calls, by tenant, route template and scope.",
    ["tenant", "route", "scope"],
    registry=registry,
)
tickets_opened = Counter(
    "tickets_opened",
    "Tickets opened (their channel or thread created), by tenant.",
    ["tenant"],
    registry=registry,
)
tickets_closed = Counter(
    "tickets_closed",
    "Tickets closed (transcript stored, channel removed), by tenant.",
    ["tenant"],
    registry=registry,
)
lease_changes = Counter(
    "tickets_shard_lease_changes",
    "Gateway shard leases taken (acquired), given up (released) or lost, by tenant.",
    ["tenant", "change"],
    registry=registry,
)
