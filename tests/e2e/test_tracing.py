"""OpenTelemetry spans of one slash command: gateway receive → worker handle → REST calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from standalone.observability import otel
from tests.e2e.conftest import Stack, eventually, make_world
from tests.e2e.flow import post_panel


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel.install(provider)
    yield exporter
    otel.uninstall()


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


async def test_a_slash_command_is_one_trace_from_gateway_to_its_rest_calls(
    discord, stack: Stack, exporter: InMemorySpanExporter
):
    world = make_world(discord, "acme")
    await stack.add(world)
    await stack.start()
    exporter.clear()  # start-up's calls (login, command sync) are no event's

    await post_panel(discord, world)

    # The answer reaches the member before the worker's span ends: wait for it.
    async def traced() -> tuple[list[ReadableSpan], ReadableSpan, ReadableSpan] | None:
        spans = list(exporter.get_finished_spans())
        received = [
            s
            for s in spans
            if s.name == "gateway.receive"
            and s.attributes is not None
            and s.attributes.get("tickets.event") == "INTERACTION_CREATE"
        ]
        assert len(received) <= 1
        handled = [h for r in received for h in children(spans, r)]
        return (spans, received[0], handled[0]) if handled else None

    spans, root, handle = await eventually(traced)
    assert root.parent is None and root.kind is SpanKind.PRODUCER
    assert [s.name for s in children(spans, root)] == ["worker.handle"]
    assert handle.kind is SpanKind.CONSUMER
    assert handle.context.trace_id == root.context.trace_id
    calls = children(spans, handle)
    names = [s.name for s in calls]
    # The panel command defers, posts the panel, then answers in a followup.
    assert "POST /interactions/{major}/{major}/callback" in names, names
    assert "POST /channels/{major}/messages" in names, names
    for call in calls:
        assert call.kind is SpanKind.CLIENT
        assert call.context.trace_id == root.context.trace_id
        assert call.attributes is not None
        assert 200 <= int(call.attributes["http.response.status_code"]) < 300  # type: ignore[arg-type]
        assert not any(ch.isdigit() for ch in call.name.split(" ", 1)[1].replace("v10", ""))
