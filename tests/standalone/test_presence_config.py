"""The [presence] section: defaults, per-tenant settings, and refusals that name the key."""

from __future__ import annotations

import pytest

from standalone.config import ConfigError, load_config

TOML = """
[presence]
activities = [{ name = "{openTickets} open", type = "watching" }]
interval_s = 30
status = "dnd"

[presence.tenants.sales]
activities = [{ name = "sales {guilds}" }]
status = "idle"
"""


def test_a_tenant_gets_its_own_settings_and_the_rest_the_defaults(tmp_path):
    path = tmp_path / "tickets.toml"
    path.write_text(TOML)
    config = load_config(path, environ={})
    sales, other = config.presence.for_tenant("sales"), config.presence.for_tenant("support")
    assert [(a.name, a.type) for a in sales.activities] == [("sales {guilds}", "playing")]
    assert (sales.status, sales.interval_s) == ("idle", 30)
    assert [(a.name, a.type) for a in other.activities] == [("{openTickets} open", "watching")]
    assert other.status == "dnd"
    assert load_config(environ={}).presence.activities  # v4-like activities by default


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[presence]\ninterval_s = 2", "presence.interval_s"),
        ("[presence.tenants.x]\ninterval_s = 1", "presence.tenants.x.interval_s"),
        ('[presence]\nstatus = "asleep"', "presence.status"),
        ('[presence]\nactivities = [{ name = "x", type = "streaming" }]', "presence.activities"),
        ('[presence]\nactivities = [{ name = "" }]', "1 to 128 characters"),
    ],
)
def test_bad_presence_settings_stop_start_up_naming_the_key(tmp_path, toml, named):
    path = tmp_path / "tickets.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as refused:
        load_config(path, environ={})
    assert named in str(refused.value)
