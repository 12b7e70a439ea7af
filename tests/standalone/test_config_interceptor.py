"""The [interceptor] settings: checked at start-up, the secret hidden by ``tickets config``."""

from __future__ import annotations

import re

import pytest

from standalone.config import ConfigError, load_config


def test_defaults_leave_workers_calling_discord_with_discords_limits():
    settings = load_config(environ={}).interceptor
    assert settings.url == ""
    assert settings.global_limit == 50
    assert settings.global_window_ms == 1000


def test_a_url_without_a_secret_is_refused():
    with pytest.raises(ConfigError, match=r"interceptor\.secret"):
        load_config(environ={"TICKETS__INTERCEPTOR__URL": "http://127.0.0.1:8780"})


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("URL", "ftp://x", "interceptor.url"),
        ("GLOBAL_LIMIT", "0", "interceptor.global_limit"),
        ("MARGIN_MS", "-1", "interceptor.margin_ms"),
        ("MAX_BODY_BYTES", "0", "interceptor.max_body_bytes"),
    ],
)
def test_bad_values_are_refused_naming_the_key(key: str, value: str, named: str):
    environ = {f"TICKETS__INTERCEPTOR__{key}": value, "TICKETS__INTERCEPTOR__SECRET": "s"}
    with pytest.raises(ConfigError, match=re.escape(named)):
        load_config(environ=environ)


def test_environment_sets_the_interceptor():
    settings = load_config(
        environ={
            "TICKETS__INTERCEPTOR__URL": "http://10.0.0.5:8780",
            "TICKETS__INTERCEPTOR__SECRET": "s3cret",
            "TICKETS__INTERCEPTOR__GLOBAL_LIMIT": "40",
        }
    ).interceptor
    assert (settings.url, settings.secret, settings.global_limit) == (
        "http://10.0.0.5:8780",
        "s3cret",
        40,
    )
