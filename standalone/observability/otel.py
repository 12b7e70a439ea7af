"""OpenTelemetry spans, when the ``otel`` extra is installed and ``tracing.enabled`` is set.

Spans: ``gateway.receive`` (the event arrives) → ``worker.handle`` (a worker
runs it) → one client span per REST call. The gateway span's ``traceparent``
travels in ``Envelope.trace`` and the REST span's in the ``traceparent``
header. Without the extra, or while off, ``span`` costs nothing and yields an
inactive span: callers fall back to the plain ``traceparent`` of the event.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

    from standalone.config import TracingConfig

log = logging.getLogger(__name__)

Kind = Literal["internal", "producer", "consumer", "client"]

_tracer: Tracer | None = None
_provider: TracerProvider | None = None


class TracingUnavailable(RuntimeError):
    """Tracing was asked for but the ``otel`` extra (or an exporter) is not installed."""


class ActiveSpan:
    """The span in hand; ``traceparent`` is empty when tracing is off."""

    __slots__ = ("_span", "traceparent")

    def __init__(self, span: Span | None = None, traceparent: str = "") -> None:
        self._span = span
        self.traceparent = traceparent

    def fail(self, exc: BaseException) -> None:
        """Mark the span failed with ``exc``, which its caller caught and handled."""
        if self._span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        self._span.record_exception(exc)
        self._span.set_status(Status(StatusCode.ERROR))

    def set_status(self, status: int) -> None:
        """Record an HTTP status on the span; 5xx marks it failed."""
        if self._span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        self._span.set_attribute("http.response.status_code", status)
        if status >= 500:
            self._span.set_status(Status(StatusCode.ERROR))


def enabled() -> bool:
    """Whether spans are being recorded."""
    return _tracer is not None


def install(provider: TracerProvider) -> None:
    """Record spans through ``provider`` from now on (tests pass an in-memory one)."""
    global _tracer, _provider
    _provider = provider
    _tracer = provider.get_tracer("tickets-standalone")


def uninstall() -> None:
    """Stop recording; flush and shut down a provider this module made."""
    global _tracer, _provider
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


def configure(settings: TracingConfig) -> bool:
    """Start tracing as ``tracing`` configures it; False when it is off.

    Raises TracingUnavailable when it is on but the packages are missing, so
    the operator hears at start-up rather than finding no traces later.
    """
    if not settings.enabled:
        return False
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        raise TracingUnavailable(
            "tracing.enabled needs the otel extra: pip install 'tickets-standalone[otel]'"
        ) from None
    exporter: Any
    if settings.exporter == "console":
        exporter = ConsoleSpanExporter()
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter,
            )
        except ImportError:
            raise TracingUnavailable(
                "tracing.exporter = 'otlp' needs opentelemetry-exporter-otlp-proto-http"
            ) from None
        exporter = OTLPSpanExporter(endpoint=settings.endpoint or None)
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    install(provider)
    log.info("tracing on: %s exporter", settings.exporter)
    return True


_KINDS: dict[str, str] = {
    "internal": "INTERNAL",
    "producer": "PRODUCER",
    "consumer": "CONSUMER",
    "client": "CLIENT",
}


@contextlib.contextmanager
def span(
    name: str,
    *,
    parent: str = "",
    kind: Kind = "internal",
    attributes: Mapping[str, str | int] | None = None,
) -> Iterator[ActiveSpan]:
    """A span around the block, child of ``parent`` (a traceparent) or of the current span."""
    tracer = _tracer
    if tracer is None:
        yield ActiveSpan()
        return
    from opentelemetry.trace import SpanKind
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    propagator = TraceContextTextMapPropagator()
    ctx = propagator.extract({"traceparent": parent}) if parent else None
    with tracer.start_as_current_span(
        name, context=ctx, kind=SpanKind[_KINDS[kind]], attributes=dict(attributes or {})
    ) as current:
        carrier: dict[str, str] = {}
        propagator.inject(carrier)
        yield ActiveSpan(current, carrier.get("traceparent", ""))
