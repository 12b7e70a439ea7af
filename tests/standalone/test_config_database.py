"""``database.serve`` and ``database.listen``: checked at start, naming the key."""

from __future__ import annotations

import pytest

from standalone.config import ConfigError, load_config

SERVE = {
    "TICKETS__DATABASE__SERVE": "true",
    "TICKETS__DATABASE__LISTEN": "127.0.0.1:8000",
    "TICKETS__DATABASE__USERNAME": "bot",
    "TICKETS__DATABASE__PASSWORD": "pw",
}


def test_serving_the_embedded_database_is_accepted() -> None:
    config = load_config(environ=SERVE)
    assert config.database.serve and config.database.listen == "127.0.0.1:8000"
    assert not load_config(environ={}).database.serve  # off by default


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TICKETS__DATABASE__LISTEN": ""}, "database.serve: set database.listen"),
        ({"TICKETS__DATABASE__LISTEN": "8000"}, "database.listen"),
        ({"TICKETS__DATABASE__LISTEN": "127.0.0.1:http"}, "database.listen"),
        ({"TICKETS__DATABASE__LISTEN": "127.0.0.1:70000"}, "database.listen"),
        ({"TICKETS__DATABASE__PASSWORD": ""}, "database.serve: set database.username"),
        ({"TICKETS__DATABASE__USERNAME": ""}, "database.serve: set database.username"),
        ({"TICKETS__DATABASE__URL": "ws://127.0.0.1:8000"}, "only an embedded database.url"),
    ],
)
def test_a_server_that_cannot_work_stops_start_up(change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(environ={**SERVE, **change})
