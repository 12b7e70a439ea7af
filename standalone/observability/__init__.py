"""Operators' view of a running deployment: structured logs, Prometheus metrics, traces.

``logs`` sets up logging for every entry point, ``context`` carries the ids each
line is tagged with, ``metrics`` holds the process's Prometheus metrics
(``sampler`` sets the stream gauges, ``exposition`` serves ``/metrics``), ``rest``
measures and traces the bot's REST calls, and ``otel`` is the optional
OpenTelemetry bridge (the ``otel`` extra).
"""
