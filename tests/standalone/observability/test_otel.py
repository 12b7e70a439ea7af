"""OpenTelemetry is optional: without the extra nothing imports it, and asking for it says so."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from standalone.config import TracingConfig
from standalone.observability import otel
from tests.test_cli import ROOT

WITHOUT_OTEL = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoOtel(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "opentelemetry" or name.startswith("opentelemetry."):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, NoOtel())

    import standalone.services.aio  # the whole service stack imports without it
    from standalone.config import TracingConfig
    from standalone.observability import otel

    with otel.span("worker.handle", parent="00-" + "1" * 32 + "-" + "2" * 16 + "-01") as span:
        assert span.traceparent == ""
        span.set_status(500)
        span.fail(RuntimeError("handled elsewhere"))
    assert otel.configure(TracingConfig()) is False
    try:
        otel.configure(TracingConfig(enabled=True))
    except otel.TracingUnavailable as exc:
        print("unavailable:", exc)
    assert not any(name.startswith("opentelemetry") for name in sys.modules)
    print("ok")
    """
)


def test_without_the_extra_everything_runs_and_enabling_it_says_what_is_missing():
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_OTEL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "unavailable: tracing.enabled needs the otel extra" in done.stdout
    assert done.stdout.rstrip().endswith("ok")


def test_configured_tracing_yields_spans_whose_traceparent_continues_the_parent():
    pytest.importorskip("opentelemetry.sdk")
    assert otel.configure(TracingConfig(enabled=True, exporter="console"))
    try:
        parent = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
        with otel.span("worker.handle", parent=parent, kind="consumer") as span:
            _, trace_id, span_id, _ = span.traceparent.split("-")
            with otel.span("GET /users/@me", kind="client") as inner:
                assert inner.traceparent.split("-")[1] == trace_id
                assert inner.traceparent.split("-")[2] != span_id
        assert trace_id == "a" * 32 and span_id != "b" * 16
    finally:
        otel.uninstall()
    assert not otel.enabled()


def test_an_unknown_exporter_is_a_configuration_error():
    with pytest.raises(ValueError, match=r"tracing\.exporter"):
        TracingConfig(enabled=True, exporter="zipkin")


def test_a_failure_the_worker_caught_marks_its_span_failed():
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel.install(provider)
    try:
        with otel.span("worker.handle", kind="consumer") as span:
            span.fail(RuntimeError("database away; retried"))
        with otel.span("GET /users/@me", kind="client") as call:
            call.set_status(503)
    finally:
        otel.uninstall()
    handle, rest = exporter.get_finished_spans()
    assert handle.status.status_code is StatusCode.ERROR
    assert [e.name for e in handle.events] == ["exception"]
    assert rest.status.status_code is StatusCode.ERROR
    assert rest.attributes is not None and rest.attributes["http.response.status_code"] == 503
