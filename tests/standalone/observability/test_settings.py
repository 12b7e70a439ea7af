"""The logging, metrics and tracing settings: defaults, and bad values named by key."""

from __future__ import annotations

import pytest

from standalone.config import ConfigError, load_config


def test_defaults_log_json_off_a_terminal_and_serve_no_metrics_and_no_traces():
    config = load_config(environ={})
    assert config.logging.format == "auto"
    assert config.metrics.listen == "" and config.metrics.sample_interval_ms == 5000
    assert config.tracing.enabled is False and config.tracing.exporter == "otlp"


def test_settings_come_from_the_environment():
    config = load_config(
        environ={
            "TICKETS__LOGGING__FORMAT": "pretty",
            "TICKETS__METRICS__LISTEN": "127.0.0.1:9169",
            "TICKETS__TRACING__ENABLED": "true",
            "TICKETS__TRACING__EXPORTER": "console",
        }
    )
    assert config.logging.format == "pretty"
    assert config.metrics.listen == "127.0.0.1:9169"
    assert config.tracing.enabled and config.tracing.exporter == "console"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("LOGGING__FORMAT", "xml", "logging.format"),
        ("METRICS__LISTEN", "9169", "metrics.listen"),
        ("METRICS__SAMPLE_INTERVAL_MS", "0", "metrics.sample_interval_ms"),
        ("TRACING__EXPORTER", "jaeger", "tracing.exporter"),
    ],
)
def test_a_bad_value_names_its_key(key: str, value: str, message: str):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(environ={f"TICKETS__{key}": value})
